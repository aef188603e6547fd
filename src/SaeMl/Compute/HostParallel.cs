namespace SaeMl.Compute;

/// <summary>How the CPU kernels share work between threads: a range split into even contiguous parts, one per thread.</summary>
internal static class HostParallel
{
    /// <summary>
    /// Runs <paramref name="body"/>(start, end) on each part of 0 … <paramref name="count"/> − 1 split evenly into
    /// <paramref name="threads"/> parts, at least one and at most one per item, in parallel.
    /// </summary>
    public static void InParts(long count, int threads, Action<long, long> body)
    {
        var parts = (int)Math.Clamp(threads, 1, Math.Max(1, count));
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part => body(count * part / parts, count * (part + 1) / parts));
    }
}
