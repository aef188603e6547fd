using System.CommandLine;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Runs a command's body and turns the errors a user can cause (bad files, bad arguments, missing
/// devices) into one red line and exit code 1, instead of a stack trace.
/// </summary>
internal static class CommandAction
{
    public const int Failed = 1;
    public const int Cancelled = 130;

    public static Func<ParseResult, CancellationToken, Task<int>> Guarded(IAnsiConsole console, Func<ParseResult, CancellationToken, int> body) =>
        (parseResult, cancellationToken) => Task.Run(() =>
        {
            try
            {
                return body(parseResult, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                console.MarkupLine("[yellow]Cancelled.[/]");
                return Cancelled;
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or IOException or InvalidOperationException
                                           or KeyNotFoundException or UnauthorizedAccessException or OverflowException)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
                return Failed;
            }
        }, CancellationToken.None);
}
