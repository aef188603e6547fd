using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;

namespace SaeMl.Benchmarks;

/// <summary>
/// The interpretation scan (statistics, top documents, samples, co-occurrence) against a plain
/// <see cref="SparseAutoencoder.EncodeStore"/> pass over the same store, at several corpus sizes in one
/// run: documents per second of each, and the scan's peak anonymous memory, which should not grow with
/// the corpus.
/// </summary>
internal static class FeatureScanBenchmark
{
    public static Command Create()
    {
        var rows = new Option<string>("--rows") { Description = "Comma-separated corpus sizes", DefaultValueFactory = _ => "50000,200000" };
        var dimension = new Option<int>("--dimension") { Description = "Embedding dimension", DefaultValueFactory = _ => 768 };
        var latents = new Option<int>("--latents") { Description = "n, the SAE's latents", DefaultValueFactory = _ => 4_096 };
        var active = new Option<int>("--active") { Description = "K", DefaultValueFactory = _ => 32 };
        var command = new Command("feature-scan", "The interpretation scan vs plain encoding: throughput, and peak memory against corpus size") { rows, dimension, latents, active };
        command.SetAction(parse => Run(
            [.. parse.GetValue(rows)!.Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture))],
            parse.GetValue(dimension), parse.GetValue(latents), parse.GetValue(active)));
        return command;
    }

    private static int Run(int[] sizes, int dimension, int latentSize, int active)
    {
        Console.WriteLine($"### Interpretation scan vs Encode: d = {dimension}, n = {latentSize:N0}, K = {active}");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}");
        Console.WriteLine();
        Console.WriteLine($"Command: `dotnet run -c Release --project tests/SaeMl.Benchmarks -- {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}`");
        Console.WriteLine();
        Console.WriteLine("| documents | co-occurrence | Encode docs/s | scan docs/s | scan / Encode | scan peak anonymous memory | vs the smallest corpus |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        using var autoencoder = SparseAutoencoder.Initialize(dimension, latentSize, active, new float[dimension], seed: 1, ComputeDevice.Cpu);
        var firstPeak = new Dictionary<bool, long>();
        foreach (var size in sizes)
        {
            using var data = new GaussianCorpus(size, 1, dimension);
            using var store = EmbeddingStore.Open(data.CorpusPath);
            Collect();
            var clock = Stopwatch.StartNew();
            var encoded = autoencoder.EncodeStore(store).Sum(batch => (long)batch.Codes.Rows);
            var encodeRate = encoded / clock.Elapsed.TotalSeconds;
            foreach (var cooccurrence in new[] { false, true })
            {
                Collect();
                var options = cooccurrence ? new FeatureScanOptions() : new FeatureScanOptions { CooccurrenceDocuments = 0 };
                var monitor = MemoryMonitor.Start();
                clock.Restart();
                var scan = FeatureScan.Run(autoencoder, store, options);
                var scanRate = size / clock.Elapsed.TotalSeconds;
                monitor.Dispose();
                GC.KeepAlive(scan);
                var peak = monitor.PeakAnonymousBytes;
                firstPeak.TryAdd(cooccurrence, peak);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {size:N0} | {(cooccurrence ? $"up to {options.CooccurrenceDocuments:N0} documents, {options.CooccurrencePairs:N0} pairs" : "off")} | {encodeRate:N0} | {scanRate:N0} | {scanRate / encodeRate:F2} | {peak / 1048576.0:N0} MiB | {peak / (double)firstPeak[cooccurrence]:F3} |"));
            }
        }

        return 0;
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
