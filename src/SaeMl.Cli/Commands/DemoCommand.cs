using System.CommandLine;
using System.Diagnostics;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Evaluation;
using SaeMl.Search;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml demo</c>: the end-to-end run on built-in data, with no arguments. It generates the seeded
/// demo world (texts with planted concepts, its ONNX model and vocabulary), embeds corpus, queries and
/// training queries with EmbedText's engine, runs exact search and prints what a few queries found, then
/// reproduces the paper's Table 1 on the world: it trains sparse autoencoders at K = 32, 64 and 128 (and
/// the MSE-only ablation at K = 128) on the training queries and their nearest documents, and evaluates
/// the original embeddings, each model's sparse latents and its reconstructions against the qrels.
/// Everything already computed in the output folder (world, embeddings, neighbors, models) is reused.
/// </summary>
internal static class DemoCommand
{
    private const int ShownQueries = 3;
    private const int ShownResults = 5;
    private const int TrainingNeighbors = 16;
    private const int AblationActiveLatents = 128;
    private static readonly int[] TableActiveLatents = [32, 64, 128];

    public static Command Create(IAnsiConsole console)
    {
        var output = new Option<string>("--output") { Description = "Folder for the demo's files", DefaultValueFactory = _ => "saeml-demo" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated world", DefaultValueFactory = _ => 42 };
        var documents = CliOptions.PositiveInt("--documents", "Documents in the generated corpus", new DemoWorldOptions().Documents);
        var queries = CliOptions.PositiveInt("--queries", "Generated queries", new DemoWorldOptions().Queries);
        var dimension = CliOptions.PositiveInt("--dimension", "Embedding dimension of the world's model", new DemoWorldOptions().Dimension);
        var k = CliOptions.PositiveInt("--k", "Documents shown per query", 10);
        var trainingQueries = CliOptions.PositiveInt("--training-queries", "Generated training queries for the autoencoders", 6_000);
        var latents = CliOptions.PositiveInt("--latents", "n, the latents of each autoencoder", 4_096);
        var epochs = CliOptions.PositiveInt("--epochs", "Training epochs of each autoencoder", 4);
        var device = CliOptions.Device();

        var command = new Command("demo", "Runs SaeMl end to end on the built-in demo world: search, train sparse autoencoders, print Table 1")
        {
            output, seed, documents, queries, dimension, k, trainingQueries, latents, epochs, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var options = new DemoWorldOptions
            {
                Seed = parse.GetValue(seed),
                Documents = parse.GetValue(documents),
                Queries = parse.GetValue(queries),
                Dimension = parse.GetValue(dimension),
                MaxRelevantPerQuery = Math.Max(1, Math.Min(100, parse.GetValue(documents) / 20)),
            };
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            var folder = Path.Combine(parse.GetValue(output)!, $"world-s{options.Seed}-{options.Documents}x{options.Dimension}-q{options.Queries}");
            var world = DemoWorld.Generate(options);
            console.MarkupLine($"[bold]SaeMl demo[/]: {world.Documents.Count:N0} documents, {world.Queries.Count:N0} queries and {world.Concepts.Count} planted concepts, "
                + $"embedded to dimension {options.Dimension}; seed {options.Seed}.");
            if (Directory.Exists(folder))
            {
                console.MarkupLine($"Reusing the world in [link]{Markup.Escape(folder)}[/].");
            }
            else
            {
                world.Write(folder);
                console.MarkupLine($"Wrote the world (BEIR files, model.onnx, vocab.txt, concepts.json) to [link]{Markup.Escape(folder)}[/].");
            }

            using var embedder = TextEmbedder.Create(new TextEmbedderOptions
            {
                ModelPath = Path.Combine(folder, DemoWorld.ModelFile),
                VocabularyPath = Path.Combine(folder, DemoWorld.VocabularyFile),
                Device = computeDevice,
                AllowCpuFallback = computeDevice.Kind == DeviceKind.Auto,
            });
            var corpusFolder = Path.Combine(folder, "corpus-embeddings");
            var queryFolder = Path.Combine(folder, "query-embeddings");
            EmbedUnlessDone(console, embedder, BeirReader.ReadCorpus(folder), corpusFolder, "demo corpus", cancellationToken);
            EmbedUnlessDone(console, embedder, BeirReader.ReadQueries(folder), queryFolder, "demo queries", cancellationToken);

            using var corpus = EmbeddingStore.Open(corpusFolder);
            using var queryStore = EmbeddingStore.Open(queryFolder);
            var searchOptions = new ExactSearchOptions { K = parse.GetValue(k), Device = computeDevice };
            var stopwatch = Stopwatch.StartNew();
            var results = ProgressBars.Run(console, "Exact search", report => ExactSearch.Search(
                queryStore, corpus, searchOptions, new CallbackProgress<SearchProgress>(p => report(p.ScannedRows, p.TotalRows)), cancellationToken));
            console.MarkupLine($"Exact search of the top {results.K}: {stopwatch.Elapsed.TotalSeconds:F2} s.");

            var runPath = Path.Combine(folder, "exact.trec");
            results.WriteTrecRun(runPath, IdIndex.Load(Path.Combine(queryFolder, EmbeddingStore.IdsFileName)), IdIndex.Load(Path.Combine(corpusFolder, EmbeddingStore.IdsFileName)), "exact");

            // Queries about a hand-picked concept read best ("weather", not a generated word).
            var grades = world.Judgements.ToLookup(j => j.QueryId);
            var shown = Enumerable.Range(0, results.QueryCount)
                .OrderBy(q => world.Queries[q].Concepts.Any(c => world.Concepts[c].HandPicked) ? 0 : 1)
                .Take(ShownQueries);
            foreach (var query in shown)
                console.Write(ResultTable(world, results, query, grades[world.Queries[query].Id].ToDictionary(j => j.DocumentId, j => j.Grade)));

            var relevantShare = Enumerable.Range(0, results.QueryCount).Average(q =>
            {
                var relevant = grades[world.Queries[q].Id].Select(j => j.DocumentId).ToHashSet();
                return results.RowsOf(q).ToArray().Count(row => relevant.Contains(world.Documents[(int)row].Id)) / (double)results.K;
            });
            console.MarkupLine($"Relevant documents among the top {results.K}, averaged over {results.QueryCount:N0} queries: [bold]{relevantShare:P1}[/]");
            console.MarkupLine($"Wrote the run to [link]{Markup.Escape(runPath)}[/].");

            var trainingFolder = Path.Combine(folder, "training-query-embeddings");
            var trainingRecords = world.TrainingQueries(parse.GetValue(trainingQueries)).Select((q, i) => new TextRecord(q.Id, "", q.Text, i + 1)).ToList();
            EmbedUnlessDone(console, embedder, trainingRecords, trainingFolder, "demo training queries", cancellationToken);
            var neighbors = NeighborsUnlessDone(console, trainingFolder, corpus, computeDevice, Path.Combine(folder, "training-neighbors"), cancellationToken);
            var inputs = new EvaluationJob.Inputs(
                queryStore, IdIndex.Load(Path.Combine(queryFolder, EmbeddingStore.IdsFileName)),
                corpus, IdIndex.Load(Path.Combine(corpusFolder, EmbeddingStore.IdsFileName)),
                Qrels.ReadTsv(Path.Combine(folder, DemoWorld.QrelsFile)));
            var evaluationOptions = new RetrievalEvaluationOptions { Device = computeDevice };
            var evaluations = new List<(string Model, RetrievalEvaluation Evaluation)>();
            var models = TableActiveLatents.Select(active => (Label: $"K = {active}", Active: active, Weight: new SparseAutoencoderOptions().KLWeight))
                .Append((Label: $"K = {AblationActiveLatents}, MSE only", Active: AblationActiveLatents, Weight: 0f));
            foreach (var (label, active, weight) in models)
            {
                var zip = Path.Combine(folder, $"sae-n{parse.GetValue(latents)}-k{active}{(weight == 0 ? "-mse" : "")}-e{parse.GetValue(epochs)}.zip");
                if (File.Exists(zip))
                {
                    console.MarkupLine($"Reusing the autoencoder [link]{Markup.Escape(zip)}[/].");
                }
                else
                {
                    using var data = SaeTrainingData.OpenStores(trainingFolder, corpusFolder, neighbors);
                    var trainingOptions = new SparseAutoencoderOptions
                    {
                        LatentSize = parse.GetValue(latents), ActiveLatents = active, KLWeight = weight, Epochs = parse.GetValue(epochs),
                        NeighborsPerQuery = TrainingNeighbors, Device = computeDevice,
                    };
                    console.MarkupLine($"Training the autoencoder {Markup.Escape(label)} (n = {trainingOptions.LatentSize:N0}, λ = {weight}, τ = {trainingOptions.Temperature}) "
                        + $"on {data.QueryCount:N0} training queries with their {TrainingNeighbors} nearest documents.");
                    TrainingJob.Run(console, data, trainingOptions, zip, cancellationToken);
                }

                using var transformer = SparseAutoencoderTransformer.Load(zip, computeDevice);
                evaluations.Add((label, EvaluationJob.Run(console, label, transformer.Autoencoder, inputs, evaluationOptions, cancellationToken)));
            }

            var title = $"Table 1 on the demo world (seed {options.Seed}): {inputs.Qrels.QueryCount:N0} queries, {corpus.RowCount:N0} documents, d = {corpus.Dimension}, "
                + $"n = {parse.GetValue(latents):N0}, {parse.GetValue(epochs)} epochs on {trainingRecords.Count:N0} training queries";
            EvaluationJob.Report(console, new RetrievalReport(evaluations), title, Path.Combine(folder, "table1"));
            return 0;
        }));
        return command;
    }

    private static void EmbedUnlessDone(IAnsiConsole console, TextEmbedder embedder, IEnumerable<TextRecord> records, string folder, string job, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(folder, EmbeddingStore.ManifestFileName)))
        {
            console.MarkupLine($"Reusing the embeddings in [link]{Markup.Escape(folder)}[/].");
            return;
        }

        EmbeddingJob.Run(console, embedder, records, IdIndex.Build(records, folder), folder, job, NpyDataType.Float32, rowsPerShard: null, cancellationToken);
    }

    /// <summary>The training queries' nearest documents over the original embeddings: the KL term's neighbors.</summary>
    private static string NeighborsUnlessDone(IAnsiConsole console, string trainingFolder, EmbeddingStore corpus, ComputeDevice device, string prefix, CancellationToken cancellationToken)
    {
        var (rows, scores) = (prefix + ".ids.npy", prefix + ".scores.npy");
        if (File.Exists(rows) && File.Exists(scores))
        {
            console.MarkupLine($"Reusing the training neighbors in [link]{Markup.Escape(rows)}[/].");
            return rows;
        }

        using var training = EmbeddingStore.Open(trainingFolder);
        var results = ProgressBars.Run(console, "Training neighbors", report => ExactSearch.Search(
            training, corpus, new ExactSearchOptions { K = TrainingNeighbors, Device = device },
            new CallbackProgress<SearchProgress>(p => report(p.ScannedRows, p.TotalRows)), cancellationToken));
        results.SaveNpy(rows, scores);
        return rows;
    }

    private static Table ResultTable(DemoWorld world, SearchResults results, int query, Dictionary<string, int> grades)
    {
        var asked = world.Queries[query];
        var concepts = string.Join(", ", asked.Concepts.Select(c => world.Concepts[c].Name));
        var table = new Table()
            .Title($"{asked.Id} \"{Markup.Escape(asked.Text)}\" (concepts: {Markup.Escape(concepts)})")
            .AddColumns("rank", "document", "score", "grade", "title");
        var rows = results.RowsOf(query);
        var scores = results.ScoresOf(query);
        for (var rank = 0; rank < Math.Min(ShownResults, results.K); rank++)
        {
            var document = world.Documents[(int)rows[rank]];
            var grade = grades.GetValueOrDefault(document.Id);
            table.AddRow(
                (rank + 1).ToString(),
                document.Id,
                scores[rank].ToString("F4"),
                grade > 0 ? $"[green]{grade}[/]" : "0",
                Markup.Escape(document.Title));
        }

        return table;
    }
}
