using System.Diagnostics;
using System.Globalization;

namespace SaeMl.Benchmarks;

/// <summary>Runs one measurement of this benchmark program in a fresh process, so that no measurement inherits another's heap.</summary>
internal static class FreshProcess
{
    /// <summary>Runs the program with <paramref name="arguments"/> and returns the numbers of the last line it printed.</summary>
    /// <exception cref="InvalidOperationException">The measurement exits with an error.</exception>
    public static double[] Measure(string what, params string[] arguments)
    {
        var host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host, [.. Path.GetFileNameWithoutExtension(host) == "dotnet" ? [typeof(FreshProcess).Assembly.Location] : Array.Empty<string>(), .. arguments])
        {
            RedirectStandardOutput = true,
        };
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"The measurement of {what} failed ({child.ExitCode}): {output}");
        return output.Trim().Split('\n')[^1].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }
}
