using SaeMl.Cli;

return await SaeMlCommandLine.InvokeAsync(args, ToolConsole.Create(), Console.Out, Console.Error);
