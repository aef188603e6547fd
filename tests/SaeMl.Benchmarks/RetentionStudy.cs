using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Evaluation;

namespace SaeMl.Benchmarks;

/// <summary>
/// How much retrieval an SAE keeps on any retrieval set in stores (the real-text set, the hard world, the demo world):
/// trains one autoencoder per setting on the training queries and their neighbors, evaluates its latents and
/// reconstructions against the qrels of the test queries, and prints one Markdown row per setting with the
/// validation figures and two diagnostics of latent retrieval: how many latents a test query shares with its
/// relevant document, and how many latents fire almost only on queries or only on documents.
/// </summary>
internal static class RetentionStudy
{
    public static Command Create()
    {
        var trainQueries = new Option<string>("--train-queries") { Required = true, Description = "Training query store" };
        var corpus = new Option<string>("--corpus") { Required = true };
        var neighbors = new Option<string>("--neighbors") { Required = true, Description = "The training queries' neighbor rows (<prefix>.ids.npy)" };
        var queries = new Option<string>("--queries") { Required = true, Description = "Test query store (its ids.txt names the rows)" };
        var qrels = new Option<string>("--qrels") { Required = true };
        var runs = new Option<string[]>("--run") { Description = "A setting: key=value pairs separated by commas (n, k, epochs, lambda, ratio, tau, rtau, lr, batch, m, queries, seed, auxk, device, act, kmax, group)", AllowMultipleArgumentsPerToken = true };
        var models = new Option<string[]>("--model") { Description = "Evaluate saved models instead of training", AllowMultipleArgumentsPerToken = true };
        var save = new Option<string?>("--save") { Description = "Folder to save each trained model in" };
        var plot = new Option<string?>("--plot") { Description = "PNG of retention against validation FVU, one series per group= of the runs" };
        var breakdown = new Option<bool>("--breakdown") { Description = "Also print where the retrieval is lost: re-ranking only the original top 16 / 100, and one side reconstructed" };
        var command = new Command("retention", "Retrieval kept by SAE latents and reconstructions on a retrieval set in stores, one row per setting")
        { trainQueries, corpus, neighbors, queries, qrels, runs, models, save, plot, breakdown };
        command.SetAction(parse => Run(parse.GetValue(trainQueries)!, parse.GetValue(corpus)!, parse.GetValue(neighbors)!, parse.GetValue(queries)!, parse.GetValue(qrels)!,
            parse.GetValue(runs) ?? [], parse.GetValue(models) ?? [], parse.GetValue(save), parse.GetValue(plot), parse.GetValue(breakdown)));
        return command;
    }

    private static int Run(string trainQueryPath, string corpusPath, string neighborsPath, string queryPath, string qrelsPath, string[] runs, string[] models, string? saveFolder, string? plotPath, bool breakdown)
    {
        using var corpus = EmbeddingStore.Open(corpusPath);
        using var queries = EmbeddingStore.Open(queryPath);
        var (corpusIds, queryIds) = (corpus.LoadIds(), queries.LoadIds());
        var qrels = Qrels.Read(qrelsPath);
        var evaluationOptions = new RetrievalEvaluationOptions { Device = ComputeDevice.Cpu };
        var original = DenseRetrievalEvaluator.Evaluate(queries, queryIds, corpus, corpusIds, qrels, evaluationOptions)[RetrievalEvaluation.Original].Metrics;
        MachineDescription.PrintHeading($"Retrieval kept: {corpus.RowCount:N0} documents × {corpus.Dimension}, {queries.RowCount:N0} test queries");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Original embeddings: MRR {original.MeanReciprocalRank:F4}, MRR@10 {original.MeanReciprocalRankAtCutoff:F4}."));
        Console.WriteLine();
        Console.WriteLine("| setting | train s | val FVU | val L0 | val overlap rec. / latent | MRR rec. | kept | MRR latent | kept | latents shared q–rel | q–rel sharing none | query-only / doc-only latents | L0 test queries / documents | dead |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");

        var trained = new List<(string Group, SaeValidationMetrics Validation, double ReconstructedKept, double LatentKept)>();
        var breakdowns = new List<(string Setting, RetrievalLossBreakdown.Breakdown Kept)>();
        void Report(string setting, SparseAutoencoder autoencoder, double seconds, SaeValidationMetrics? validation, string group = "")
        {
            var evaluation = DenseRetrievalEvaluator.EvaluateAutoencoder(autoencoder, queries, queryIds, corpus, corpusIds, qrels, evaluationOptions);
            var (reconstructed, latent) = (evaluation[RetrievalEvaluation.Reconstructed].Metrics, evaluation[RetrievalEvaluation.Latent].Metrics);
            if (validation is not null)
                trained.Add((group, validation, reconstructed.MeanReciprocalRank / original.MeanReciprocalRank, latent.MeanReciprocalRank / original.MeanReciprocalRank));
            var diagnosis = Diagnose(autoencoder, queries, queryIds, corpus, corpusIds, qrels);
            var validationCells = validation is { } v
                ? string.Create(CultureInfo.InvariantCulture, $"{v.Fvu:F3} | {v.L0:F1} | {v.Top10Overlap:F3} / {v.LatentTop10Overlap:F3}")
                : string.Create(CultureInfo.InvariantCulture, $"({evaluation.FractionOfVarianceUnexplained:F3}) | – | –");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {setting} | {seconds:F0} | {validationCells} | {reconstructed.MeanReciprocalRank:F4} | {reconstructed.MeanReciprocalRank / original.MeanReciprocalRank:P1} | "
                + $"{latent.MeanReciprocalRank:F4} | {latent.MeanReciprocalRank / original.MeanReciprocalRank:P1} | {diagnosis.SharedLatents:F2} | {diagnosis.SharingNone:P1} | {diagnosis.QueryOnly} / {diagnosis.DocumentOnly} | {diagnosis.QueryL0:F1} / {diagnosis.DocumentL0:F1} | {validation?.DeadFraction:P1} |"));
            if (breakdown)
                breakdowns.Add((setting, RetrievalLossBreakdown.Measure(autoencoder, queries, queryIds, corpus, corpusIds, qrels, original.MeanReciprocalRank)));
        }

        foreach (var model in models)
        {
            using var transformer = SparseAutoencoderTransformer.Load(model, ComputeDevice.Cpu);
            Report(Path.GetFileNameWithoutExtension(model), transformer.Autoencoder, double.NaN, null);
        }

        foreach (var run in runs)
        {
            var (options, queryCount, group) = Parse(run);
            using var all = SaeTrainingData.OpenStores(trainQueryPath, corpusPath, neighborsPath);
            using var data = queryCount is { } count ? all.FirstQueries(count) : all;
            var trainer = new SparseAutoencoderTrainer(options);
            var stopwatch = Stopwatch.StartNew();
            using var transformer = SparseAutoencoderTransformer.FromAutoencoder(trainer.Train(data, new EpochLog(run, stopwatch)), SaeColumnNames.Latent, SaeColumnNames.Embedding, null);
            var seconds = stopwatch.Elapsed.TotalSeconds;
            if (saveFolder is not null)
            {
                Directory.CreateDirectory(saveFolder);
                transformer.Save(Path.Combine(saveFolder, run.Replace(',', '-').Replace("=", "", StringComparison.Ordinal) + ".zip"));
            }

            Report(run, transformer.Autoencoder, seconds, trainer.History[^1], group);
        }

        if (breakdowns.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("Where the retrieval is lost (shares of the original MRR): re-ranking only the original top 16 or top 100 documents, and the whole corpus with one side reconstructed.");
            Console.WriteLine();
            Console.WriteLine("| setting | original top 16 re-ranked: cut / rec. / latent | original top 100 re-ranked: cut / rec. / latent | q̂ · d (queries reconstructed) | q · d̂ (documents reconstructed) |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var (setting, kept) in breakdowns)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {setting} | {kept.Top16Original:P1} / {kept.Top16Reconstructed:P1} / {kept.Top16Latent:P1} | {kept.Top100Original:P1} / {kept.Top100Reconstructed:P1} / {kept.Top100Latent:P1} | {kept.QuerySideOnly:P1} | {kept.DocumentSideOnly:P1} |"));
        }

        if (trained.Count >= 3)
        {
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Spearman's ρ over the {trained.Count} trained settings, validation top-10 overlap (no judgements) against MRR kept (judged): reconstructions "
                + $"{SaeRetrievalExperiment.Spearman([.. trained.Select(t => t.Validation.Top10Overlap)], [.. trained.Select(t => t.ReconstructedKept)]):F2}, latents "
                + $"{SaeRetrievalExperiment.Spearman([.. trained.Select(t => t.Validation.LatentTop10Overlap)], [.. trained.Select(t => t.LatentKept)]):F2}; "
                + $"validation FVU against reconstructions kept {SaeRetrievalExperiment.Spearman([.. trained.Select(t => t.Validation.Fvu)], [.. trained.Select(t => t.ReconstructedKept)]):F2} (a faithful proxy would be near −1)."));
        }

        if (plotPath is not null)
        {
            var series = trained.GroupBy(t => t.Group)
                .Select(g => (g.Key, (IReadOnlyList<(double, double, double)>)g.Select(t => (t.Validation.Fvu, t.ReconstructedKept, t.LatentKept)).ToList()))
                .ToList();
            DemoPlots.WriteFrontierFigure(series, plotPath, $"Retrieval kept against reconstruction error, {corpus.RowCount:N0} documents × {corpus.Dimension}");
        }

        return 0;
    }

    /// <summary>The trainer's options from <c>key=value</c> pairs, and the number of training queries to use (null: all).</summary>
    private static (SparseAutoencoderOptions Options, int? Queries, string Group) Parse(string run)
    {
        var options = new SparseAutoencoderOptions { Device = ComputeDevice.Cpu, LatentSize = 4096 };
        int? queries = null;
        var group = "";
        foreach (var pair in run.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=');
            var value = parts[1];
            float Float() => float.Parse(value, CultureInfo.InvariantCulture);
            int Int() => int.Parse(value, CultureInfo.InvariantCulture);
            switch (parts[0])
            {
                case "n": options.LatentSize = Int(); break;
                case "k": options.ActiveLatents = Int(); break;
                case "epochs": options.Epochs = Int(); break;
                case "lambda": options.KLWeight = Float(); break;
                case "tau": options.Temperature = Float(); break;
                case "lr": options.LearningRate = Float(); break;
                case "batch": options.BatchSize = Int(); break;
                case "m": options.NeighborsPerQuery = Int(); break;
                case "seed": options.Seed = Int(); break;
                case "auxk": options.AuxKWeight = Float(); break;
                case "queries": queries = Int(); break;
                case "group": group = value; break;
                case "ratio": options.LatentKLRatio = Float(); break;
                case "rtau": options.RelativeTemperature = Float(); break;
                case "device": options.Device = ComputeDevice.Parse(value); break;
                case "act": options.Activation = Enum.Parse<SparseActivation>(value, ignoreCase: true); break;
                case "kmax": options.MaxActiveLatents = Int(); break;
                default: throw new ArgumentException($"Unknown setting '{parts[0]}' in '{run}'.");
            }
        }

        return (options, queries, group);
    }

    /// <summary>Each epoch's validation on stderr, so that a long run shows its curve without disturbing the table on stdout.</summary>
    private sealed class EpochLog(string run, Stopwatch stopwatch) : IProgress<SaeTrainingProgress>
    {
        public void Report(SaeTrainingProgress value)
        {
            if (value.Validation is { } v)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{run}: epoch {value.Epoch}/{value.Epochs}, {stopwatch.Elapsed.TotalSeconds:F0} s, val FVU {v.Fvu:F3}, top-10 overlap rec. {v.Top10Overlap:F3} / latent {v.LatentTop10Overlap:F3}, dead {v.DeadFraction:P1}, L0 {v.L0:F1}"));
        }
    }

    private readonly record struct Diagnosis(double SharedLatents, double SharingNone, int QueryOnly, int DocumentOnly, double QueryL0, double DocumentL0);

    /// <summary>
    /// Latents shared by each judged test query and its relevant documents (mean count, and the share of pairs that share
    /// none: latent retrieval cannot rank such a document above any other), and how many latents fire at least 20 times
    /// as often (per vector) on one side as on the other: latents that split a concept into a query and a document copy;
    /// and the mean count of latents a test query and a document keep (K for TopK; BatchTopK may give the sides different counts).
    /// </summary>
    private static Diagnosis Diagnose(SparseAutoencoder autoencoder, EmbeddingStore queries, IdIndex queryIds, EmbeddingStore corpus, IdIndex corpusIds, Qrels qrels)
    {
        var queryCodes = SparseCodes.Concatenate(autoencoder.EncodeStore(queries).Select(b => b.Codes).ToList());
        var (queryFires, documentFires) = (new long[autoencoder.LatentSize], new long[autoencoder.LatentSize]);
        Count(queryCodes, queryFires);
        var wanted = new Dictionary<long, List<int>>();
        foreach (var queryId in qrels.QueryIds)
        {
            if (!queryIds.TryGetRow(queryId, out var queryRow))
                continue;
            foreach (var documentId in qrels.RelevantDocuments(queryId))
            {
                if (corpusIds.TryGetRow(documentId, out var documentRow))
                {
                    if (!wanted.TryGetValue(documentRow, out var list))
                        wanted[documentRow] = list = [];
                    list.Add((int)queryRow);
                }
            }
        }

        double shared = 0;
        long pairs = 0, none = 0;
        long row = 0;
        foreach (var batch in autoencoder.EncodeStore(corpus))
        {
            Count(batch.Codes, documentFires);
            for (var r = 0; r < batch.Codes.Rows; r++, row++)
            {
                if (!wanted.TryGetValue(row, out var queryRows))
                    continue;
                var documentLatents = Active(batch.Codes, r);
                foreach (var queryRow in queryRows)
                {
                    var count = Active(queryCodes, queryRow).Intersect(documentLatents).Count();
                    shared += count;
                    none += count == 0 ? 1 : 0;
                    pairs++;
                }
            }
        }

        var (queryVectors, documentVectors) = ((double)queries.RowCount, (double)corpus.RowCount);
        int queryOnly = 0, documentOnly = 0;
        for (var latent = 0; latent < autoencoder.LatentSize; latent++)
        {
            var (q, d) = (queryFires[latent] / queryVectors, documentFires[latent] / documentVectors);
            if (queryFires[latent] >= 10 && q > 20 * d)
                queryOnly++;
            if (documentFires[latent] >= 10 && d > 20 * q)
                documentOnly++;
        }

        return new Diagnosis(shared / Math.Max(1, pairs), none / (double)Math.Max(1, pairs), queryOnly, documentOnly,
            queryFires.Sum() / Math.Max(1, queryVectors), documentFires.Sum() / Math.Max(1, documentVectors));
    }

    private static HashSet<int> Active(SparseCodes codes, int row)
    {
        var set = new HashSet<int>();
        var values = codes.ValuesOf(row);
        var indices = codes.IndicesOf(row);
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] > 0)
                set.Add(indices[i]);
        }

        return set;
    }

    private static void Count(SparseCodes codes, long[] fires)
    {
        for (var i = 0; i < codes.Values.Length; i++)
        {
            if (codes.Values[i] > 0)
                fires[codes.Indices[i]]++;
        }
    }
}
