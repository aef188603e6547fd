using System.Diagnostics;

namespace SaeMl.Tests.Cli;

/// <summary>Runs the saeml tool in a separate process, as a user would: a fresh runtime, nothing shared with the test.</summary>
internal static class CliProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        using var child = Process.Start(new ProcessStartInfo(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            ["exec", Path.Combine(AppContext.BaseDirectory, "SaeMl.Cli.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await child.StandardOutput.ReadToEndAsync() + await child.StandardError.ReadToEndAsync();
        await child.WaitForExitAsync();
        return (child.ExitCode, output);
    }
}
