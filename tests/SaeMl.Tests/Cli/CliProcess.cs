using System.Diagnostics;

namespace SaeMl.Tests.Cli;

/// <summary>What a saeml process printed and how it ended.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the saeml tool in a separate process, as a user would: a fresh runtime, nothing shared with the test.</summary>
internal static class CliProcess
{
    private static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private static string Tool => Path.Combine(AppContext.BaseDirectory, "SaeMl.Cli.dll");

    private static string Examples => Path.Combine(AppContext.BaseDirectory, "SaeMl.Examples.dll");

    /// <summary>Runs the examples program (examples/SaeMl.Examples), an app built on the library as a user's would be, to the end.</summary>
    public static async Task<CliResult> RunExampleAsync(params string[] args)
    {
        using var child = Start(Examples, args, fileSizeLimitKiB: null, environment: null);
        return await Finish(child);
    }

    /// <summary>
    /// Runs the dotnet tool itself (<c>pack</c>, <c>new</c>, <c>build</c>, an app's dll) in <paramref name="workingDirectory"/>,
    /// without the MSBuild and test-host variables this test process inherited, as from a fresh shell.
    /// </summary>
    /// <exception cref="TimeoutException">The command ran longer than <paramref name="timeout"/>; it is killed with its children.</exception>
    public static async Task<CliResult> RunDotNetAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(DotNet, args) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        string[] inherited = ["MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly"];
        foreach (var name in start.Environment.Keys.Where(k => inherited.Contains(k, StringComparer.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1"; // no build nodes or compiler servers left running after the test
        start.Environment["UseSharedCompilation"] = "false";
        using var child = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var output = child.StandardOutput.ReadToEndAsync(deadline.Token);
            var error = child.StandardError.ReadToEndAsync(deadline.Token);
            await child.WaitForExitAsync(deadline.Token);
            return new CliResult(child.ExitCode, await output, await error);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} ran longer than {timeout}.");
        }
    }

    /// <summary>Runs to the end; standard output and error together.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var result = await RunSeparatelyAsync(args);
        return (result.ExitCode, result.Output + result.Error);
    }

    /// <summary>Runs to the end; standard output and error apart.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="fileSizeLimitKiB">
    /// When given, no file the process writes may grow past this: writes beyond it fail as they would on a
    /// full disk (the limit's signal is ignored, so the write returns an error instead of killing the process).
    /// </param>
    /// <param name="environment">Variables set for the process, on top of the test's own.</param>
    public static async Task<CliResult> RunSeparatelyAsync(string[] args, int? fileSizeLimitKiB = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var child = Start(args, fileSizeLimitKiB, environment);
        return await Finish(child);
    }

    private static async Task<CliResult> Finish(Process child)
    {
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        await child.WaitForExitAsync();
        return new CliResult(child.ExitCode, await output, await error);
    }

    /// <summary>Starts the tool with its output redirected; the caller reads, waits for or kills it.</summary>
    public static Process Start(string[] args, int? fileSizeLimitKiB = null, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(Tool, args, fileSizeLimitKiB, environment);

    private static Process Start(string program, string[] args, int? fileSizeLimitKiB, IReadOnlyDictionary<string, string>? environment)
    {
        var start = fileSizeLimitKiB is { } limit
            ? new ProcessStartInfo("bash", ["-c", $"trap '' XFSZ; ulimit -f {limit}; exec \"$0\" \"$@\"", DotNet, "exec", program, .. args])
            : new ProcessStartInfo(DotNet, ["exec", program, .. args]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        if (fileSizeLimitKiB is not null)
            start.Environment["DOTNET_EnableWriteXorExecute"] = "0"; // the runtime's double-mapped code pages need a file beyond the limit
        start.Environment.Remove("COLUMNS"); // the tool's redirected width is what the tests see, whatever the runner's shell exports
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return Process.Start(start)!;
    }
}
