using System.Runtime.InteropServices;

namespace SaeMl.Benchmarks;

/// <summary>One line naming the machine a benchmark ran on, and the heading that every Markdown section starts with.</summary>
internal static class MachineDescription
{
    /// <summary>Prints "### title", the machine and the exact command that reproduces the section, each followed by a blank line.</summary>
    public static void PrintHeading(string title)
    {
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        Console.WriteLine($"Machine: {Describe()}");
        Console.WriteLine();
        Console.WriteLine($"Command: `dotnet run -c Release --project tests/SaeMl.Benchmarks -- {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}`");
        Console.WriteLine();
    }

    public static string Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, {Environment.ProcessorCount} cores, {memory:F0} GiB, "
            + $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}, TorchSharp threads {TorchSharp.torch.get_num_threads()}";
    }
}
