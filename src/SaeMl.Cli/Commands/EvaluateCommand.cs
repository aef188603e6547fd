using System.CommandLine;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Evaluation;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml evaluate</c>: query and corpus stores with their ids, qrels, and optionally a sparse
/// autoencoder zip → the paper's Table 1 (original / latent / reconstructed × MRR@10, MRR, P@10, R@10,
/// nDCG@10, MSE), printed and written as Markdown and JSON; TREC runs on request. Or, with
/// <c>--run</c>, TREC run files from any system scored as trec_eval scores them.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var queries = new Option<string?>("--queries") { Description = "Query embeddings: a .npy file or a store folder (required unless --run is given)" };
        var corpus = new Option<string?>("--corpus") { Description = "Corpus embeddings: a .npy file or a store folder (required unless --run is given)" };
        var runs = new Option<string[]>("--run") { Description = "A TREC run file to score instead of embeddings, as trec_eval does; repeat for several runs", Arity = ArgumentArity.ZeroOrMore };
        var measures = new Option<string[]>("--measure", "-m") { Description = "With --run: trec_eval measure names (num_q, map, recip_rank, recip_rank_cut.K, P.K, recall.K, ndcg_cut.K); repeatable", Arity = ArgumentArity.ZeroOrMore };
        var perQuery = new Option<bool>("--per-query", "-q") { Description = "With --run: print every query's values too, as trec_eval -q does" };
        var order = new Option<string>("--order") { Description = "With --run: order each query's documents by score with trec_eval's tie rule (descending document id), or by the file's rank column", DefaultValueFactory = _ => "score" }
            .AcceptOnlyFromAmong("score", "rank");
        var json = new Option<string?>("--json") { Description = "With --run: also write every value at full precision to this JSON file" };
        var qrels = new Option<string>("--qrels") { Description = "Relevance judgements: TREC qrels or a BEIR qrels .tsv", Required = true };
        var model = new Option<string?>("--model") { Description = "A model zip holding a SparseAutoencode transform; without it only the original embeddings are evaluated" };
        var output = new Option<string>("--output") { Description = "Folder for table.md, metrics.json and the runs", DefaultValueFactory = _ => "saeml-evaluation" };
        var queryIds = new Option<string?>("--query-ids") { Description = "Query ids, one per line in row order; without it, the store folder's ids.txt" };
        var corpusIds = new Option<string?>("--corpus-ids") { Description = "Document ids, one per line in row order; without it, the store folder's ids.txt" };
        var depth = CliOptions.PositiveInt("--depth", "Documents retrieved per query", RetrievalEvaluationOptions.Defaults.Depth);
        var querySet = new Option<string>("--query-set") { Description = "Queries averaged: every judged query (missing from a run = 0), or only those ranked", DefaultValueFactory = _ => "judged" }
            .AcceptOnlyFromAmong("judged", "ranked");
        var trec = new Option<bool>("--trec") { Description = "Also write each setting's run as <output>/<setting>.trec" };
        var unknownQueries = new Option<string>("--unknown-queries") { Description = "Judgements of queries that are not in --queries: an error, or skipped", DefaultValueFactory = _ => "error" }
            .AcceptOnlyFromAmong("error", "skip");
        var overwrite = CliOptions.Overwrite();
        var device = CliOptions.Device();

        var command = new Command("evaluate", "Evaluates retrieval with the original embeddings and, given a model, its sparse latents and reconstructions (Table 1)")
        {
            queries, corpus, qrels, model, output, queryIds, corpusIds, depth, querySet, trec, unknownQueries, overwrite, device,
            runs, measures, perQuery, order, json,
        };
        Option[] embeddingOnly = [queries, corpus, model, output, queryIds, corpusIds, depth, trec, unknownQueries, device];
        Option[] runOnly = [measures, perQuery, order, json];
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var runPaths = parse.GetValue(runs) ?? [];
            if (runPaths.Length > 0)
            {
                if (embeddingOnly.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } embeddingOption)
                    throw new UsageException($"{embeddingOption.Name} evaluates embeddings; with --run the run files are scored as they are.");
                return RunEvaluation.Score(parse.InvocationConfiguration, runPaths, parse.GetValue(qrels)!, new RunEvaluation.Settings(
                    TrecMeasures.Parse(parse.GetValue(measures) is { Length: > 0 } named ? named : TrecMeasures.Defaults),
                    parse.GetValue(querySet) == "ranked" ? EvaluatedQueries.RankedAndJudged : EvaluatedQueries.AllJudged,
                    parse.GetValue(order) == "rank" ? TrecRunOrder.RankColumn : TrecRunOrder.Score,
                    parse.GetValue(perQuery),
                    parse.GetValue(json),
                    parse.GetValue(overwrite)));
            }

            if (runOnly.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } runOption)
                throw new UsageException($"{runOption.Name} applies to run files; name them with --run.");
            if (parse.GetValue(queries) is null || parse.GetValue(corpus) is null)
                throw new UsageException("Name the embeddings to evaluate with --queries and --corpus, or TREC run files with --run.");

            using var files = new CommandFiles()
                .Reads(parse.GetValue(queries), "--queries").Reads(parse.GetValue(corpus), "--corpus").Reads(parse.GetValue(qrels), "--qrels")
                .Reads(parse.GetValue(model), "--model").Reads(parse.GetValue(queryIds), "--query-ids").Reads(parse.GetValue(corpusIds), "--corpus-ids")
                .Writes(parse.GetValue(output), "--output")
                .Check(parse.GetValue(overwrite));
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            using var queryStore = EmbeddingStore.Open(parse.GetValue(queries)!);
            using var corpusStore = EmbeddingStore.Open(parse.GetValue(corpus)!);
            var queryIndex = LoadIds(parse.GetValue(queryIds), queryStore, "--query-ids");
            var corpusIndex = LoadIds(parse.GetValue(corpusIds), corpusStore, "--corpus-ids");
            var judgements = Qrels.Read(parse.GetValue(qrels)!);
            var options = new RetrievalEvaluationOptions
            {
                Depth = parse.GetValue(depth),
                Device = computeDevice,
                Metrics = new RetrievalMetricsOptions { Queries = parse.GetValue(querySet) == "ranked" ? EvaluatedQueries.RankedAndJudged : EvaluatedQueries.AllJudged },
                UnknownQueries = parse.GetValue(unknownQueries) == "skip" ? UnknownIdHandling.Skip : UnknownIdHandling.Error,
            };

            var modelPath = parse.GetValue(model);
            using var transformer = modelPath is null ? null : SparseAutoencoderTransformer.Load(modelPath, computeDevice);
            var label = modelPath is null ? "embeddings" : Path.GetFileNameWithoutExtension(modelPath);
            var evaluation = EvaluationJob.Run(console, label, progress => transformer is null
                ? DenseRetrievalEvaluator.Evaluate(queryStore, queryIndex, corpusStore, corpusIndex, judgements, options, progress, cancellationToken)
                : DenseRetrievalEvaluator.EvaluateAutoencoder(transformer.Autoencoder, queryStore, queryIndex, corpusStore, corpusIndex, judgements, options, progress, cancellationToken));
            if (evaluation.SkippedJudgements > 0)
                console.MarkupLine($"[yellow]{evaluation.SkippedJudgements:N0} judgements name documents that are not in the corpus; they were skipped.[/]");

            var folder = parse.GetValue(output)!;
            var title = $"{judgements.Source}: {evaluation.Settings[0].Metrics.QueryCount:N0} queries, {corpusStore.RowCount:N0} documents, depth {options.Depth}"
                + (transformer is null ? "" : $", {label} (n = {transformer.Autoencoder.LatentSize:N0}, {ModelText.Sparsity(transformer.Autoencoder)})");
            EvaluationJob.Report(console, new RetrievalReport([(label, evaluation)]), title, folder);
            if (parse.GetValue(trec))
            {
                foreach (var setting in evaluation.Settings)
                {
                    var runPath = Path.Combine(folder, $"{setting.Setting}.trec");
                    setting.Run.WriteTrecRun(runPath, queryIndex, corpusIndex, setting.Setting);
                    console.MarkupLine($"Wrote [link]{Markup.Escape(runPath)}[/]");
                }
            }

            return 0;
        }));
        return command;
    }

    private static IdIndex LoadIds(string? explicitPath, EmbeddingStore store, string optionName) =>
        explicitPath is null && store.IdsPath is null
            ? throw new ArgumentException($"Embedding store '{store.Name}' has no {EmbeddingStore.IdsFileName} beside it; name its ids with {optionName}.")
            : store.LoadIds(explicitPath);
}
