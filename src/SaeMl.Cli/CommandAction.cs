using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Runs a command's body and turns the errors a user can cause (bad files, bad arguments, missing
/// devices, too little memory) into one line on standard error and exit code 1, instead of a stack trace.
/// </summary>
internal static partial class CommandAction
{
    public const int Failed = 1;
    public const int Cancelled = 130;

    public static Func<ParseResult, CancellationToken, Task<int>> Guarded(IAnsiConsole console, Func<ParseResult, CancellationToken, int> body) =>
        (parseResult, cancellationToken) => Task.Run(() =>
        {
            try
            {
                try
                {
                    return body(parseResult, cancellationToken);
                }
                catch (Exception ex) when (Unwrap(ex) != ex)
                {
                    // ML.NET calls loaders through reflection and wraps what they throw.
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(Unwrap(ex));
                    throw;
                }
            }
            catch (OperationCanceledException)
            {
                parseResult.InvocationConfiguration.Error.WriteLine("Cancelled.");
                return Cancelled;
            }
            catch (UsageException ex)
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"error: {ex.Message}");
                return SaeMlCommandLine.Usage;
            }
            catch (OutOfMemoryException)
            {
                parseResult.InvocationConfiguration.Error.WriteLine("error: out of memory; lower --memory-budget-mb or --query-block, or search fewer queries at a time.");
                return Failed;
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or IOException or InvalidOperationException
                                           or KeyNotFoundException or UnauthorizedAccessException or OverflowException
                                           or ExternalException)
            {
                // One line on standard error, never wrapped, so scripts can read it.
                parseResult.InvocationConfiguration.Error.WriteLine($"error: {OneLine(ex)}");
                return Failed;
            }
        }, CancellationToken.None);

    /// <summary>The exception inside reflection's and tasks' wrappers.</summary>
    private static Exception Unwrap(Exception ex)
    {
        while (ex is System.Reflection.TargetInvocationException or AggregateException && ex.InnerException is not null)
            ex = ex.InnerException;
        return ex;
    }

    /// <summary>
    /// The message without what .NET appends to argument errors (" (Parameter 'x')", also where a message
    /// quotes an inner argument error's, and a line with the actual value) and without native stack traces
    /// that follow the first line.
    /// </summary>
    internal static string OneLine(Exception ex)
    {
        var message = ex.Message;
        var lineBreak = message.AsSpan().IndexOfAny('\r', '\n');
        return ParameterSuffix().Replace(lineBreak >= 0 ? message[..lineBreak] : message, string.Empty);
    }

    [GeneratedRegex(@" \(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();
}
