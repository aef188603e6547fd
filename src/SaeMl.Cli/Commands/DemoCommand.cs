using System.CommandLine;
using System.Diagnostics;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Retrieval;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml demo</c>: the end-to-end run on built-in data, with no arguments. It generates the seeded
/// demo world (texts with planted concepts, its ONNX model and vocabulary), embeds corpus and queries
/// with EmbedText's engine, runs exact search, writes a TREC run, and prints what a few queries found.
/// Everything already computed in the output folder is reused.
/// </summary>
internal static class DemoCommand
{
    private const int ShownQueries = 3;
    private const int ShownResults = 5;

    public static Command Create(IAnsiConsole console)
    {
        var output = new Option<string>("--output") { Description = "Folder for the demo's files", DefaultValueFactory = _ => "saeml-demo" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated world", DefaultValueFactory = _ => 42 };
        var documents = CliOptions.PositiveInt("--documents", "Documents in the generated corpus", new DemoWorldOptions().Documents);
        var queries = CliOptions.PositiveInt("--queries", "Generated queries", new DemoWorldOptions().Queries);
        var dimension = CliOptions.PositiveInt("--dimension", "Embedding dimension of the world's model", new DemoWorldOptions().Dimension);
        var k = CliOptions.PositiveInt("--k", "Documents retrieved per query", 10);
        var device = CliOptions.Device();

        var command = new Command("demo", "Runs SaeMl end to end on the built-in demo world and prints what it found")
        {
            output, seed, documents, queries, dimension, k, device,
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
