using System.CommandLine;
using System.Diagnostics;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;
using static TorchSharp.torch;

namespace SaeMl.Benchmarks;

/// <summary>
/// Exact search over a memory-mapped corpus store against the plain matrix product of the same
/// shapes (queries × corpusᵀ in one call, the corpus already in memory), in the same run.
/// </summary>
internal static class ExactSearchBenchmark
{
    public static Command Create()
    {
        var corpusRows = new Option<int>("--corpus") { Description = "Corpus rows", DefaultValueFactory = _ => 200_000 };
        var queryRows = new Option<int>("--queries") { Description = "Queries", DefaultValueFactory = _ => 2_000 };
        var dimension = new Option<int>("--dimension") { Description = "Embedding dimension", DefaultValueFactory = _ => 768 };
        var k = new Option<int>("--k") { Description = "Neighbors per query", DefaultValueFactory = _ => 100 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs of each side (the median is reported)", DefaultValueFactory = _ => 3 };
        var budget = new Option<int>("--memory-budget-mb") { Description = "Exact search working memory", DefaultValueFactory = _ => (int)(ExactSearchOptions.Defaults.MemoryBudgetBytes >> 20) };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var command = new Command("exact-search", "Exact top-k search vs one plain matrix product of the same shapes") { corpusRows, queryRows, dimension, k, repeats, budget, device };
        command.SetAction(parse => Run(
            parse.GetValue(corpusRows), parse.GetValue(queryRows), parse.GetValue(dimension), parse.GetValue(k), parse.GetValue(repeats), parse.GetValue(budget),
            ComputeDevice.Parse(parse.GetValue(device)!)));
        return command;
    }

    private static int Run(int corpusRows, int queryRows, int dimension, int k, int repeats, int budgetMiB, ComputeDevice device)
    {
        using var data = new GaussianCorpus(corpusRows, queryRows, dimension);
        var (corpusPath, queries) = (data.CorpusPath, data.Queries);
        using var corpus = EmbeddingStore.Open(corpusPath);
        var options = new ExactSearchOptions { K = k, Device = device, MemoryBudgetBytes = (long)budgetMiB << 20 };
        var torchDevice = device.ToTorchDevice();
        var onCuda = torchDevice.type == TorchSharp.DeviceType.CUDA;
        var chunkRows = ExactSearch.ChunkRowsWithin(options.MemoryBudgetBytes, Math.Min(options.QueryBlockRows, queryRows), dimension, k, onCuda);
        ExactSearch.Search(queries.AsMemory(0, Math.Min(queryRows, 64) * dimension), corpus, options); // warm-up: page cache, kernels

        var searchSeconds = new List<double>();
        long peakResident = 0, peakAnonymous = 0;
        for (var r = 0; r < repeats; r++)
        {
            using var monitor = MemoryMonitor.Start();
            var stopwatch = Stopwatch.StartNew();
            ExactSearch.Search(queries, corpus, options);
            searchSeconds.Add(stopwatch.Elapsed.TotalSeconds);
            monitor.Dispose();
            peakResident = Math.Max(peakResident, monitor.PeakResidentBytes);
            peakAnonymous = Math.Max(peakAnonymous, monitor.PeakAnonymousBytes);
        }

        var productSeconds = new List<double>();
        using (var corpusTensor = tensor(LoadAll(corpus), [corpusRows, dimension], device: torchDevice))
        using (var queryTensor = tensor(queries, [queryRows, dimension], device: torchDevice))
        {
            using (queryTensor.narrow(0, 0, Math.Min(queryRows, 64)).mm(corpusTensor.t())) { } // warm-up
            for (var r = 0; r < repeats; r++)
            {
                var stopwatch = Stopwatch.StartNew();
                using var scores = queryTensor.mm(corpusTensor.t());
                if (onCuda)
                    TorchSharp.torch.cuda.synchronize();
                productSeconds.Add(stopwatch.Elapsed.TotalSeconds);
            }
        }

        var flops = 2.0 * queryRows * corpusRows * dimension;
        var search = GaussianCorpus.Median(searchSeconds);
        var product = GaussianCorpus.Median(productSeconds);
        Console.WriteLine($"### Exact search, {corpusRows:N0} × {dimension} corpus, {queryRows:N0} queries, k = {k}");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}");
        Console.WriteLine($"Device {device.Resolve()}. Memory budget {budgetMiB} MiB → corpus chunks of {chunkRows:N0} rows; median of {repeats} runs after a warm-up.");
        Console.WriteLine();
        Console.WriteLine("| measurement | seconds | GFLOP/s | ratio to plain product |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| plain product [{queryRows}×{dimension}]·[{dimension}×{corpusRows}] (corpus in device memory) | {product:F2} | {flops / product / 1e9:F1} | 1.00 |");
        Console.WriteLine($"| exact search, top-{k} (corpus memory-mapped from .npy) | {search:F2} | {flops / search / 1e9:F1} | {product / search:F2} |");
        Console.WriteLine();
        Console.WriteLine($"Exact search peak memory: resident {peakResident / 1048576.0:N0} MiB (includes the {new FileInfo(corpusPath).Length / 1048576.0:N0} MiB memory-mapped corpus file), anonymous {peakAnonymous / 1048576.0:N0} MiB.");
        Console.WriteLine($"Search runs (s): {string.Join(", ", searchSeconds.Select(s => s.ToString("F2")))}; plain product runs (s): {string.Join(", ", productSeconds.Select(s => s.ToString("F2")))}.");
        return 0;
    }

    private static float[] LoadAll(EmbeddingStore store)
    {
        var values = new float[store.RowCount * store.Dimension];
        store.ReadRows(0, values);
        return values;
    }
}
