using System.CommandLine;
using System.CommandLine.Help;
using SaeMl.Cli.Commands;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>The <c>saeml</c> command tree; tests invoke it in-process with their own console.</summary>
internal static class SaeMlCommandLine
{
    /// <summary>
    /// The root is a plain command named <c>saeml</c>: a <see cref="RootCommand"/> takes its name from
    /// the executable (<c>SaeMl.Cli</c>), which is not what users type.
    /// </summary>
    public static Command Build(IAnsiConsole console) => new("saeml", "Sparse autoencoders that make dense retrieval interpretable and controllable")
    {
        new HelpOption(),
        new VersionOption(),
        DemoCommand.Create(console),
        EmbedCommand.Create(console),
        NeighborsCommand.Create(console),
        TrainCommand.Create(console),
        EncodeCommand.Create(console),
        EvaluateCommand.Create(console),
        SteerCommand.Create(console),
        InterpretCommand.Create(console),
        ExplainCommand.Create(console),
        FeaturesCommand.Create(console),
        ExportCommand.Create(console),
        ImportCommand.Create(console),
    };

    /// <summary>Exit code of a command line that does not parse (an unknown option, a bad value, a broken rule between options).</summary>
    public const int Usage = 2;

    /// <summary>Runs the command line: 0 done, 1 failed (a bad input, a file problem), 2 usage error, 130 cancelled.</summary>
    public static async Task<int> InvokeAsync(string[] args, IAnsiConsole console, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var parse = Build(console).Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per error, as every other failure prints, instead of System.CommandLine's errors followed by the whole help.
            var command = parse.CommandResult.Command;
            var help = command.Parents.Any() ? $"saeml {command.Name} --help" : "saeml --help";
            for (var i = 0; i < parse.Errors.Count; i++)
                error.WriteLine($"error: {parse.Errors[i].Message}" + (i == parse.Errors.Count - 1 ? $" ('{help}' lists the options.)" : ""));
            return Usage;
        }

        // No forced exit on Ctrl+C: the command sees the cancellation and removes its temporary files and locks before it returns.
        var exitCode = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellationToken);
        return exitCode;
    }
}
