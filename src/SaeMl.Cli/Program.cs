using SaeMl.Cli;
using Spectre.Console;

return await SaeMlCommandLine.InvokeAsync(args, AnsiConsole.Console, Console.Out, Console.Error);
