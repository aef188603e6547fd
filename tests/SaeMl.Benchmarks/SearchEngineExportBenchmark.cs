using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Evaluation;
using SaeMl.Interop;
using SaeMl.Search;

namespace SaeMl.Benchmarks;

/// <summary>
/// Search-engine export: what Lucene's feature fields (Elasticsearch <c>sparse_vector</c>, OpenSearch
/// <c>rank_features</c>) do to latent retrieval by keeping 9 significant bits of each document value
/// (<c>engine-rounding</c>), and the export's throughput and peak memory against corpus size, each size in
/// a fresh process (<c>engine-export</c>).
/// </summary>
internal static class SearchEngineExportBenchmark
{
    public static IEnumerable<Command> Create()
    {
        var model = new Option<string>("--model") { Required = true };
        var queries = new Option<string>("--queries") { Required = true };
        var corpus = new Option<string>("--corpus") { Required = true };
        var qrels = new Option<string>("--qrels") { Required = true };
        var rounding = new Command("engine-rounding", "Latent retrieval with exact document values vs the values a Lucene feature field keeps") { model, queries, corpus, qrels };
        rounding.SetAction(parse => Rounding(parse.GetValue(model)!, parse.GetValue(queries)!, parse.GetValue(corpus)!, parse.GetValue(qrels)!));

        var rows = new Option<string>("--rows") { Description = "Comma-separated corpus sizes", DefaultValueFactory = _ => "50000,200000" };
        var dimension = new Option<int>("--dimension") { DefaultValueFactory = _ => 768 };
        var latents = new Option<int>("--latents") { DefaultValueFactory = _ => 4_096 };
        var active = new Option<int>("--active") { DefaultValueFactory = _ => 32 };
        var export = new Command("engine-export", "Elasticsearch bulk export: documents/s and peak memory against corpus size") { rows, dimension, latents, active };
        export.SetAction(parse => Export([.. parse.GetValue(rows)!.Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture))],
            parse.GetValue(dimension), parse.GetValue(latents), parse.GetValue(active)));

        var store = new Option<string>("--corpus") { Required = true };
        var measure = new Command("engine-export-measure", "One measurement of engine-export, in its own process") { store, latents, active };
        measure.Hidden = true;
        measure.SetAction(parse => Measure(parse.GetValue(store)!, parse.GetValue(latents), parse.GetValue(active)));
        return [rounding, export, measure];
    }

    private static int Rounding(string modelPath, string queryPath, string corpusPath, string qrelsPath)
    {
        using var transformer = SparseAutoencoderTransformer.Load(modelPath, ComputeDevice.Cpu);
        var autoencoder = transformer.Autoencoder;
        using var queryStore = EmbeddingStore.Open(queryPath);
        using var corpusStore = EmbeddingStore.Open(corpusPath);
        var (queryIds, documentIds) = (queryStore.LoadIds(), corpusStore.LoadIds());
        var qrels = Qrels.Read(qrelsPath);
        var corpusCodes = autoencoder.EncodeStore(corpusStore).Select(b => b.Codes).ToList();
        var queryCodes = SparseCodes.Concatenate(autoencoder.EncodeStore(queryStore).Select(b => b.Codes).ToList());
        var exact = SparseLatentIndex.Build(corpusCodes, autoencoder.LatentSize).Search(queryCodes, 1000);
        var stored = SparseLatentIndex.Build(
            corpusCodes.Select(c => new SparseCodes(c.Rows, c.ActiveLatents, Array.ConvertAll(c.Values, SearchEngineExport.StoredFeatureValue), c.Indices)),
            autoencoder.LatentSize).Search(queryCodes, 1000);
        var options = new RetrievalMetricsOptions { Queries = EvaluatedQueries.AllJudged };
        var (exactMetrics, storedMetrics) = (RetrievalMetrics.Compute(exact, queryIds, documentIds, qrels, options), RetrievalMetrics.Compute(stored, queryIds, documentIds, qrels, options));
        var changedTop10 = Enumerable.Range(0, exact.QueryCount).Count(q => !exact.RowsOf(q)[..10].SequenceEqual(stored.RowsOf(q)[..10]));

        MachineDescription.PrintHeading($"Latent retrieval with the values a Lucene feature field keeps: {Path.GetFileName(modelPath)}");
        Console.WriteLine($"{qrels.QueryCount:N0} judged queries, {corpusStore.RowCount:N0} documents, n = {autoencoder.LatentSize:N0}, K = {autoencoder.ActiveLatents}.");
        Console.WriteLine();
        Console.WriteLine("| document values | MRR@10 | MRR | R@10 | nDCG@10 | queries whose top 10 changed |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (label, metrics, changed) in new[] { ("exact (float32, Qdrant)", exactMetrics, "–"), ("9 significant bits (Elasticsearch, OpenSearch)", storedMetrics, $"{changedTop10:N0} of {exact.QueryCount:N0}") })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {metrics.MeanReciprocalRankAtCutoff:F4} | {metrics.MeanReciprocalRank:F4} | {metrics.RecallAt(10):F4} | {metrics.NdcgAt(10):F4} | {changed} |"));
        }

        return 0;
    }

    private static int Export(int[] sizes, int dimension, int latentSize, int active)
    {
        MachineDescription.PrintHeading($"Elasticsearch bulk export: d = {dimension}, n = {latentSize:N0}, K = {active}");
        Console.WriteLine("| documents | Encode docs/s | export docs/s | export / Encode | bytes per document | export peak anonymous memory | vs the smallest corpus |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        double? firstPeak = null;
        foreach (var size in sizes)
        {
            using var data = new GaussianCorpus(size, 1, dimension);
            var line = FreshProcess.Measure($"{size:N0} documents", "engine-export-measure", "--corpus", data.CorpusPath,
                "--latents", latentSize.ToString(CultureInfo.InvariantCulture), "--active", active.ToString(CultureInfo.InvariantCulture));
            var (encodeRate, exportRate, bytes, peak) = (line[0], line[1], line[2], line[3]);
            firstPeak ??= peak;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {size:N0} | {encodeRate:N0} | {exportRate:N0} | {exportRate / encodeRate:F2} | {bytes / size:N0} | {peak / 1048576.0:N0} MiB | {peak / firstPeak:F3} |"));
        }

        return 0;
    }

    /// <summary>Encodes the store once, then exports it under the memory monitor; prints "encode-rate export-rate bytes peak-bytes".</summary>
    private static int Measure(string corpusPath, int latentSize, int active)
    {
        using var store = EmbeddingStore.Open(corpusPath);
        using var autoencoder = SparseAutoencoder.Initialize(store.Dimension, latentSize, active, new float[store.Dimension], seed: 1, ComputeDevice.Cpu);
        var ids = IdIndex.Build(Enumerable.Range(0, checked((int)store.RowCount)).Select(i => $"doc{i}"), "ids");
        var clock = Stopwatch.StartNew();
        var encoded = autoencoder.EncodeStore(store).Sum(batch => (long)batch.Codes.Rows);
        var encodeRate = encoded / clock.Elapsed.TotalSeconds;
        var target = Path.Combine(Path.GetTempPath(), $"saeml-export-{Guid.NewGuid():N}.ndjson");
        try
        {
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            var monitor = MemoryMonitor.Start();
            clock.Restart();
            using (var stream = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                SearchEngineExport.WriteDocuments(SparseSearchEngine.Elasticsearch, autoencoder, store, ids, stream);
            var exportRate = store.RowCount / clock.Elapsed.TotalSeconds;
            monitor.Dispose();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{encodeRate:F1} {exportRate:F1} {new FileInfo(target).Length} {monitor.PeakAnonymousBytes}"));
        }
        finally
        {
            File.Delete(target);
        }

        return 0;
    }
}
