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
    };

    public static Task<int> InvokeAsync(string[] args, IAnsiConsole console, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        Build(console).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
}
