using System.CommandLine;
using System.Diagnostics;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Benchmarks;

/// <summary>
/// Exact top-k search over sparse latents with <see cref="SparseLatentIndex"/> against exact dense
/// search (<see cref="ExactSearch"/> on the CPU) over a memory-mapped corpus of the same number of
/// documents, with the same number of queries and k, in the same run.
/// </summary>
/// <remarks>
/// Real SAE latents are far from equally popular, and a query's cost is the total length of its latents'
/// posting lists, so the codes are drawn with Zipf-distributed latent popularity: the latent of rank r
/// is drawn with probability ∝ r^−s, K distinct latents per row. Exponent 0 is uniform popularity.
/// </remarks>
internal static class SparseIndexBenchmark
{
    private const int BatchRows = 4096;

    public static Command Create()
    {
        var documents = new Option<int>("--documents") { Description = "Corpus documents", DefaultValueFactory = _ => 200_000 };
        var queries = new Option<int>("--queries") { Description = "Queries", DefaultValueFactory = _ => 1_000 };
        var latents = new Option<int>("--latents") { Description = "n, the SAE's latents", DefaultValueFactory = _ => 16_384 };
        var active = new Option<int>("--active") { Description = "K, latents per document and per query", DefaultValueFactory = _ => 64 };
        var dimension = new Option<int>("--dimension") { Description = "Dense embedding dimension", DefaultValueFactory = _ => 768 };
        var k = new Option<int>("--k") { Description = "Neighbors per query", DefaultValueFactory = _ => 100 };
        var zipf = new Option<string>("--zipf") { Description = "Comma-separated Zipf exponents of latent popularity; the first is the reference, 0 is uniform", DefaultValueFactory = _ => "1,0.5,0" };
        var repeats = new Option<int>("--repeats") { Description = "Timed searches of each kind (the median is reported)", DefaultValueFactory = _ => 3 };
        var command = new Command("sparse-index", "Exact top-k search over SAE latents with the sparse index vs exact dense search") { documents, queries, latents, active, dimension, k, zipf, repeats };
        command.SetAction(parse => Run(
            parse.GetValue(documents), parse.GetValue(queries), parse.GetValue(latents), parse.GetValue(active), parse.GetValue(dimension), parse.GetValue(k),
            parse.GetValue(zipf)!.Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            parse.GetValue(repeats)));
        return command;
    }

    /// <summary>The same comparison on the latents of a trained autoencoder over a real store: <c>sparse-index-trained</c>.</summary>
    public static Command CreateTrained()
    {
        var model = new Option<string>("--model") { Required = true };
        var corpus = new Option<string>("--corpus") { Required = true };
        var queries = new Option<string>("--queries") { Required = true };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 100 };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 3 };
        var command = new Command("sparse-index-trained", "The sparse index on a trained autoencoder's latents vs exact dense search of the same corpus's embeddings") { model, corpus, queries, k, repeats };
        command.SetAction(parse => RunTrained(parse.GetValue(model)!, parse.GetValue(corpus)!, parse.GetValue(queries)!, parse.GetValue(k), parse.GetValue(repeats)));
        return command;
    }

    private static int RunTrained(string modelPath, string corpusPath, string queryPath, int k, int repeats)
    {
        using var transformer = SparseAutoencoderTransformer.Load(modelPath, ComputeDevice.Cpu);
        var autoencoder = transformer.Autoencoder;
        using var corpus = EmbeddingStore.Open(corpusPath);
        using var queries = EmbeddingStore.Open(queryPath);
        var index = SparseLatentIndex.Build(autoencoder.EncodeStore(corpus).Select(b => b.Codes), autoencoder.LatentSize);
        var queryCodes = SparseCodes.Concatenate(autoencoder.EncodeStore(queries).Select(b => b.Codes).ToList());
        var frequencies = Enumerable.Range(0, autoencoder.LatentSize).Select(index.DocumentFrequency).ToArray();
        var zipf = SaeMl.Interpretation.ZipfFit.Of(frequencies);

        index.Search(SparseCodes.Concatenate([queryCodes]), Math.Min(k, (int)index.DocumentCount)); // warm-up
        var sparseRuns = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            var stopwatch = Stopwatch.StartNew();
            index.Search(queryCodes, k);
            sparseRuns.Add(stopwatch.Elapsed.TotalSeconds);
        }

        var options = new ExactSearchOptions { K = k, Device = ComputeDevice.Cpu };
        ExactSearch.Search(queries, corpus, options); // warm-up: page cache
        var denseRuns = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            var stopwatch = Stopwatch.StartNew();
            ExactSearch.Search(queries, corpus, options);
            denseRuns.Add(stopwatch.Elapsed.TotalSeconds);
        }

        var (sparse, dense) = (GaussianCorpus.Median(sparseRuns), GaussianCorpus.Median(denseRuns));
        var lanes = System.Numerics.Vector<float>.Count;
        var inBlocks = Enumerable.Range(0, (queryCodes.Rows + lanes - 1) / lanes).Sum(b => PostingsOf(index, queryCodes, b * lanes, Math.Min(lanes, queryCodes.Rows - b * lanes))) / (double)queryCodes.Rows;
        var popularity = System.FormattableString.Invariant($"{zipf.Exponent:F2} (R² {zipf.RSquared:F2}) | {frequencies.Max() / (double)index.DocumentCount:P1}");
        Console.WriteLine(System.FormattableString.Invariant(
            $"| {Path.GetFileNameWithoutExtension(modelPath)} | {corpus.RowCount:N0} × {corpus.Dimension} | {autoencoder.LatentSize:N0} / {autoencoder.ActiveLatents} | {popularity} | {inBlocks:N0} | {queryCodes.Rows / sparse:N0} | {queryCodes.Rows / dense:N0} | **{dense / sparse:F1}×** |"));
        Console.WriteLine();
        Console.WriteLine(System.FormattableString.Invariant($"Runs (s): sparse {string.Join(", ", sparseRuns.Select(s => s.ToString("F3")))}; dense {string.Join(", ", denseRuns.Select(s => s.ToString("F3")))}; {queryCodes.Rows:N0} queries, top {k}."));
        return 0;
    }

    private static int Run(int documentCount, int queryCount, int latentSize, int active, int dimension, int k, double[] exponents, int repeats)
    {
        MachineDescription.PrintHeading($"Sparse latent index vs exact dense search, {documentCount:N0} documents, {queryCount:N0} queries, k = {k}");
        Console.WriteLine(
            $"Sparse codes: n = {latentSize:N0} latents, K = {active} distinct latents per document and per query, drawn with Zipf latent popularity " +
            "(the latent of rank r with probability ∝ r^−s, ranks given to latents by a seeded permutation, rows drawn by weight without replacement; s = 0 is uniform); " +
            $"values Exp(1). Queries are drawn from the same distribution. Search is `SparseLatentIndex.Search` on {Environment.ProcessorCount} threads; " +
            $"the median of {repeats} timed searches after a warm-up search of 64 queries.");
        Console.WriteLine();

        // The sparse side first, so that its memory peaks do not include what the dense side leaves behind.
        var lanes = System.Numerics.Vector<float>.Count;
        var rows = new List<(string Popularity, string Cells, double QueriesPerSecond, List<double> Runs)>();
        foreach (var exponent in exponents)
        {
            var corpus = ZipfCodes(documentCount, latentSize, active, exponent, seed: 1);
            var queryCodes = SparseCodes.Concatenate(ZipfCodes(queryCount, latentSize, active, exponent, seed: 2));

            GC.Collect();
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            using var monitor = MemoryMonitor.Start();
            var buildWatch = Stopwatch.StartNew();
            var index = SparseLatentIndex.Build(corpus, latentSize);
            buildWatch.Stop();
            monitor.Dispose();
            var buildAllocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

            index.Search(SparseCodes.Concatenate(ZipfCodes(64, latentSize, active, exponent, seed: 3)), k); // warm-up
            var searchSeconds = new List<double>();
            for (var r = 0; r < repeats; r++)
            {
                var stopwatch = Stopwatch.StartNew();
                index.Search(queryCodes, k);
                searchSeconds.Add(stopwatch.Elapsed.TotalSeconds);
            }

            var alone = Enumerable.Range(0, queryCount).Average(q => PostingsOf(index, queryCodes, q, 1));
            var inBlocks = Enumerable.Range(0, (queryCount + lanes - 1) / lanes).Sum(b => PostingsOf(index, queryCodes, b * lanes, Math.Min(lanes, queryCount - b * lanes))) / (double)queryCount;
            var topShare = Enumerable.Range(0, latentSize).Max(index.DocumentFrequency) / (double)index.DocumentCount;
            var search = GaussianCorpus.Median(searchSeconds);
            var popularity = exponent == 0 ? "uniform (s = 0)" : $"Zipf, s = {exponent}";
            rows.Add((
                popularity,
                $"{index.PostingCount:N0} | {index.SizeInBytes / 1048576.0:N0} MiB | {buildWatch.Elapsed.TotalSeconds:F2} | {buildAllocated / 1048576.0:N0} MiB | {monitor.PeakAnonymousBytes / 1048576.0:N0} MiB | {topShare:P1} | {alone:N0} | {inBlocks:N0} | {search:F2}",
                queryCount / search,
                searchSeconds));
        }

        var dense = DenseQueriesPerSecond(documentCount, queryCount, dimension, k, repeats);

        Console.WriteLine($"| latent popularity | postings | index size | build (s) | allocated by build | process peak anonymous memory during build | most frequent latent, share of documents | postings of a query's latents | postings read per query (blocks of {lanes}) | search (s) | queries/s | speed-up over dense |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
            Console.WriteLine($"| {row.Popularity} | {row.Cells} | {row.QueriesPerSecond:N0} | **{row.QueriesPerSecond / dense.QueriesPerSecond:F1}×** |");
        Console.WriteLine();
        Console.WriteLine($"Sparse search runs (s): {string.Join("; ", rows.Select(r => $"{r.Popularity}: {string.Join(", ", r.Runs.Select(s => s.ToString("F2")))}"))}.");
        Console.WriteLine();
        Console.WriteLine(
            $"Exact dense search (`ExactSearch.Search`, CPU, default 1 GiB budget): {documentCount:N0} × {dimension} float32 Gaussian corpus memory-mapped from a temporary `.npy`, " +
            $"{queryCount:N0} Gaussian queries, top {k}: median {dense.Seconds:F2} s, **{dense.QueriesPerSecond:N0} queries/s** (runs: {string.Join(", ", dense.Runs.Select(s => s.ToString("F2")))} s).");
        Console.WriteLine();
        Console.WriteLine(
            "Allocated by build: the bytes `SparseLatentIndex.Build` allocated, all alive at its peak (the postings in document order, then sorted by latent). " +
            $"The process peak also holds the generated codes ({(long)documentCount * active * 8 / 1048576.0:N0} MiB), the runtime, and heap the runtime kept from the rows before.");
        return 0;
    }

    /// <summary>The postings of the latents that any of <paramref name="count"/> queries from <paramref name="first"/> has: what their block reads.</summary>
    private static long PostingsOf(SparseLatentIndex index, SparseCodes queries, int first, int count)
    {
        var latents = new HashSet<int>();
        for (var q = first; q < first + count; q++)
        {
            for (var i = 0; i < queries.ActiveLatents; i++)
            {
                if (queries.ValuesOf(q)[i] != 0)
                    latents.Add(queries.IndicesOf(q)[i]);
            }
        }

        return latents.Sum(index.DocumentFrequency);
    }

    private static (double Seconds, double QueriesPerSecond, List<double> Runs) DenseQueriesPerSecond(int documentCount, int queryCount, int dimension, int k, int repeats)
    {
        using var data = new GaussianCorpus(documentCount, queryCount, dimension);
        using var corpus = EmbeddingStore.Open(data.CorpusPath);
        var options = new ExactSearchOptions { K = k, Device = ComputeDevice.Cpu };
        ExactSearch.Search(data.Queries.AsMemory(0, Math.Min(queryCount, 64) * dimension), corpus, options); // warm-up: page cache
        var runs = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            var stopwatch = Stopwatch.StartNew();
            ExactSearch.Search(data.Queries, corpus, options);
            runs.Add(stopwatch.Elapsed.TotalSeconds);
        }

        var seconds = GaussianCorpus.Median(runs);
        return (seconds, queryCount / seconds, runs);
    }

    /// <summary>
    /// Rows of K distinct latents drawn by Zipf popularity with exponent s, ascending, values Exp(1), in
    /// batches of <see cref="BatchRows"/>; each batch from its own seeded generator, so the draw is
    /// reproducible whatever the thread count.
    /// </summary>
    private static List<SparseCodes> ZipfCodes(int rows, int latentSize, int active, double exponent, int seed)
    {
        var latentOfRank = Enumerable.Range(0, latentSize).ToArray();
        new Random(12345).Shuffle(latentOfRank);
        var cumulative = new double[latentSize];
        var total = 0.0;
        for (var rank = 0; rank < latentSize; rank++)
            cumulative[rank] = total += Math.Pow(rank + 1, -exponent);

        var batches = new SparseCodes[(rows + BatchRows - 1) / BatchRows];
        Parallel.For(0, batches.Length, b =>
        {
            var random = new Random(seed * 1_000_003 + b);
            var count = Math.Min(BatchRows, rows - b * BatchRows);
            var values = new float[count * active];
            var indices = new int[count * active];
            var lastRow = new int[latentSize];
            Array.Fill(lastRow, -1);
            for (var row = 0; row < count; row++)
            {
                var chosen = indices.AsSpan(row * active, active);
                for (var i = 0; i < active;)
                {
                    var rank = Array.BinarySearch(cumulative, random.NextDouble() * total);
                    var latent = latentOfRank[rank < 0 ? Math.Min(~rank, latentSize - 1) : rank];
                    if (lastRow[latent] == row)
                        continue;
                    lastRow[latent] = row;
                    chosen[i++] = latent;
                }

                chosen.Sort();
                for (var i = 0; i < active; i++)
                    values[row * active + i] = (float)-Math.Log(1 - random.NextDouble());
            }

            batches[b] = new SparseCodes(count, active, values, indices);
        });
        return [.. batches];
    }
}
