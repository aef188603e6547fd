using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
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
        var configuration = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        if (args.Length == 0)
        {
            // A bare saeml: the commands there are, as a usage error.
            await Build(console).Parse(["--help"]).InvokeAsync(configuration, cancellationToken);
            return Usage;
        }

        var parse = Build(console).Parse(args);
        if (parse.Errors.Count > 0)
        {
            WriteParseErrors(parse, error);
            return Usage;
        }

        // No forced exit on Ctrl+C: the command sees the cancellation and removes its temporary files and locks before it returns.
        return await parse.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>
    /// One line per error, as every other failure prints (System.CommandLine prints its errors, some over several lines,
    /// and then the whole help); the last line names the help to read and the nearest names to a mistyped one.
    /// </summary>
    private static void WriteParseErrors(ParseResult parse, TextWriter error)
    {
        var command = parse.CommandResult.Command;
        var atRoot = !command.Parents.Any();
        // "Required command was not provided" says nothing more when the command given was not recognised.
        var errors = parse.Errors.Where(e => !(atRoot && parse.UnmatchedTokens.Count > 0 && !parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))))
            .Select(e => JoinLines(e.Message)).ToList();
        var known = command.Subcommands.Select(c => c.Name).Concat(command.Options.Select(o => o.Name)).ToList();
        var nearest = parse.UnmatchedTokens.SelectMany(token => known.Where(name => EditDistance(token, name) <= 2)).Distinct().ToList();
        var hint = (nearest.Count > 0 ? $"did you mean {string.Join(" or ", nearest.Select(n => $"'{n}'"))}? " : "")
            + (atRoot ? "'saeml --help' lists the commands." : $"'saeml {command.Name} --help' lists the options.");
        for (var i = 0; i < errors.Count; i++)
            error.WriteLine($"error: {errors[i]}" + (i == errors.Count - 1 ? $" ({hint})" : ""));
    }

    /// <summary>A message over several lines (an option's allowed values, one a line) as one.</summary>
    private static string JoinLines(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length <= 1 ? message.Trim() : $"{lines[0]} {string.Join(", ", lines[1..])}";
    }

    /// <summary>Levenshtein distance: the fewest insertions, deletions and substitutions that turn one text into the other.</summary>
    internal static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }

        return previous[b.Length];
    }
}
