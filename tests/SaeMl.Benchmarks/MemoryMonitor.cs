using System.Globalization;

namespace SaeMl.Benchmarks;

/// <summary>
/// Peak memory of this process over a measured phase, from Linux's /proc/self/status: the peak
/// resident set (VmHWM, reset at the start through /proc/self/clear_refs) and the peak of anonymous
/// memory (RssAnon, sampled every few milliseconds), which leaves out pages of memory-mapped files
/// that the kernel can drop at any time.
/// </summary>
internal sealed class MemoryMonitor : IDisposable
{
    private readonly Thread _sampler;
    private volatile bool _stopping;
    private long _peakAnonymousKiB;

    private MemoryMonitor()
    {
        TryResetPeak();
        _sampler = new Thread(Sample) { IsBackground = true };
        _sampler.Start();
    }

    public static MemoryMonitor Start() => new();

    public long PeakAnonymousBytes => _peakAnonymousKiB * 1024;

    public long PeakResidentBytes { get; private set; }

    public void Dispose()
    {
        _stopping = true;
        _sampler.Join();
        PeakResidentBytes = ReadKiB("VmHWM:") * 1024;
    }

    private void Sample()
    {
        while (!_stopping)
        {
            _peakAnonymousKiB = Math.Max(_peakAnonymousKiB, ReadKiB("RssAnon:"));
            Thread.Sleep(5);
        }
    }

    private static void TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: VmHWM then covers the whole process lifetime.
        }
    }

    private static long ReadKiB(string field)
    {
        if (!File.Exists("/proc/self/status"))
            return 0;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
