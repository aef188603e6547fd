using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;

namespace SaeMl.Benchmarks;

/// <summary>
/// The interpretation scan (statistics, top documents, samples, with and without co-occurrence) against a
/// plain <see cref="SparseAutoencoder.EncodeStore"/> pass over the same store, at several corpus sizes:
/// documents per second of each, and the scan's peak anonymous memory. Each size is measured in a fresh
/// process, so that no size inherits another's heap.
/// </summary>
internal static class FeatureScanBenchmark
{
    public static IEnumerable<Command> Create()
    {
        var rows = new Option<string>("--rows") { Description = "Comma-separated corpus sizes", DefaultValueFactory = _ => "50000,200000" };
        var dimension = new Option<int>("--dimension") { Description = "Embedding dimension", DefaultValueFactory = _ => 768 };
        var latents = new Option<int>("--latents") { Description = "n, the SAE's latents", DefaultValueFactory = _ => 4_096 };
        var active = new Option<int>("--active") { Description = "K", DefaultValueFactory = _ => 32 };
        var command = new Command("feature-scan", "The interpretation scan vs plain encoding: throughput, and peak memory against corpus size") { rows, dimension, latents, active };
        command.SetAction(parse => Run(
            [.. parse.GetValue(rows)!.Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture))],
            parse.GetValue(dimension), parse.GetValue(latents), parse.GetValue(active)));

        var corpus = new Option<string>("--corpus") { Required = true };
        var cooccurrence = new Option<bool>("--cooccurrence");
        var measure = new Command("feature-scan-measure", "One measurement of feature-scan, in its own process (run by feature-scan)") { corpus, latents, active, cooccurrence };
        measure.Hidden = true;
        measure.SetAction(parse => Measure(parse.GetValue(corpus)!, parse.GetValue(latents), parse.GetValue(active), parse.GetValue(cooccurrence)));
        return [command, measure];
    }

    private static int Run(int[] sizes, int dimension, int latentSize, int active)
    {
        MachineDescription.PrintHeading($"Interpretation scan vs Encode: d = {dimension}, n = {latentSize:N0}, K = {active}");
        Console.WriteLine("| documents | co-occurrence | Encode docs/s | scan docs/s | scan / Encode | scan peak anonymous memory | vs the smallest corpus |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var firstPeak = new Dictionary<bool, double>();
        foreach (var size in sizes)
        {
            using var data = new GaussianCorpus(size, 1, dimension);
            foreach (var cooccurrence in new[] { false, true })
            {
                var line = FreshProcess.Measure($"{size:N0} documents", ["feature-scan-measure", "--corpus", data.CorpusPath, "--latents", latentSize.ToString(CultureInfo.InvariantCulture),
                    "--active", active.ToString(CultureInfo.InvariantCulture), .. cooccurrence ? ["--cooccurrence"] : Array.Empty<string>()]);
                var (encodeRate, scanRate, peak) = (line[0], line[1], line[2]);
                firstPeak.TryAdd(cooccurrence, peak);
                var options = new FeatureScanOptions();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {size:N0} | {(cooccurrence ? $"up to {options.CooccurrenceDocuments:N0} documents" : "off")} | {encodeRate:N0} | {scanRate:N0} | {scanRate / encodeRate:F2} | {peak / 1048576.0:N0} MiB | {peak / firstPeak[cooccurrence]:F3} |"));
            }
        }

        return 0;
    }

    /// <summary>Encodes the store once, then scans it under the memory monitor; prints "encode-rate scan-rate peak-bytes".</summary>
    private static int Measure(string corpusPath, int latentSize, int active, bool cooccurrence)
    {
        using var store = EmbeddingStore.Open(corpusPath);
        using var autoencoder = SparseAutoencoder.Initialize(store.Dimension, latentSize, active, new float[store.Dimension], seed: 1, ComputeDevice.Cpu);
        var clock = Stopwatch.StartNew();
        var encoded = autoencoder.EncodeStore(store).Sum(batch => (long)batch.Codes.Rows);
        var encodeRate = encoded / clock.Elapsed.TotalSeconds;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var monitor = MemoryMonitor.Start();
        clock.Restart();
        var scan = FeatureScan.Run(autoencoder, store, cooccurrence ? new FeatureScanOptions() : new FeatureScanOptions { CooccurrenceDocuments = 0 });
        var scanRate = store.RowCount / clock.Elapsed.TotalSeconds;
        monitor.Dispose();
        GC.KeepAlive(scan);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{encodeRate:F1} {scanRate:F1} {monitor.PeakAnonymousBytes}"));
        return 0;
    }
}
