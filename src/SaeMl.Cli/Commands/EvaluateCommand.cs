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
/// nDCG@10, MSE), printed and written as Markdown and JSON; TREC runs on request.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var queries = new Option<string>("--queries") { Description = "Query embeddings: a .npy file or a store folder", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a .npy file or a store folder", Required = true };
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
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
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
                + (transformer is null ? "" : $", {label} (n = {transformer.Autoencoder.LatentSize:N0}, K = {transformer.Autoencoder.ActiveLatents})");
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
