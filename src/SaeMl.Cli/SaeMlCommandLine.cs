using System.CommandLine;
using SaeMl.Cli.Commands;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>The <c>saeml</c> command tree; tests invoke it in-process with their own console.</summary>
internal static class SaeMlCommandLine
{
    public static RootCommand Build(IAnsiConsole console) => new("saeml: sparse autoencoders that make dense retrieval interpretable and controllable")
    {
        DemoCommand.Create(console),
        NeighborsCommand.Create(console),
    };

    public static Task<int> InvokeAsync(string[] args, IAnsiConsole console, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        Build(console).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
}
