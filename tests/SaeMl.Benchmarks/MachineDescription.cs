using System.Runtime.InteropServices;

namespace SaeMl.Benchmarks;

/// <summary>One line naming the machine a benchmark ran on.</summary>
internal static class MachineDescription
{
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
