using System.CommandLine;
using System.Diagnostics;
using SaeMl.Cli.Demo;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Retrieval;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml demo</c>: the end-to-end run on built-in data, with no arguments. It generates a seeded
/// planted-topic vector world (reused when already on disk), runs exact search with a progress bar,
/// writes a TREC run, and prints the top results of a few queries with how many share the query's topic.
/// </summary>
internal static class DemoCommand
{
    private const int ShownQueries = 3;
    private const int ShownResults = 5;

    public static Command Create(IAnsiConsole console)
    {
        var output = new Option<string>("--output") { Description = "Folder for the demo's files", DefaultValueFactory = _ => "saeml-demo" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated world", DefaultValueFactory = _ => 42 };
        var documents = CliOptions.PositiveInt("--documents", "Documents in the generated corpus", 20_000);
        var queries = CliOptions.PositiveInt("--queries", "Generated queries", 200);
        var dimension = CliOptions.PositiveInt("--dimension", "Embedding dimension", 128);
        var topics = CliOptions.PositiveInt("--topics", "Planted topics", 50);
        var k = CliOptions.PositiveInt("--k", "Neighbours retrieved per query", 10);
        var device = CliOptions.Device();

        var command = new Command("demo", "Runs SaeMl end to end on built-in generated data and prints what it found")
        {
            output, seed, documents, queries, dimension, topics, k, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var world = PlantedTopicWorld.Create(parse.GetValue(seed), parse.GetValue(documents), parse.GetValue(queries), parse.GetValue(dimension), parse.GetValue(topics));
            var folder = Path.Combine(parse.GetValue(output)!, $"planted-s{world.Seed}-{world.DocumentTopics.Count}x{world.Dimension}-t{world.Topics}-q{world.QueryTopics.Count}");
            console.MarkupLine($"[bold]SaeMl demo[/]: {world.DocumentTopics.Count:N0} documents and {world.QueryTopics.Count:N0} queries, "
                + $"dimension {world.Dimension}, {world.Topics} planted topics, seed {world.Seed}.");
            if (Directory.Exists(folder))
            {
                console.MarkupLine($"Reusing the vectors in [link]{Markup.Escape(folder)}[/].");
            }
            else
            {
                console.Status().Start("Generating vectors…", _ => world.Write(folder));
                console.MarkupLine($"Generated the vectors in [link]{Markup.Escape(folder)}[/].");
            }

            using var corpus = EmbeddingStore.Open(PlantedTopicWorld.CorpusFolder(folder));
            using var queryStore = EmbeddingStore.Open(PlantedTopicWorld.QueriesPath(folder));
            var options = new ExactSearchOptions { K = parse.GetValue(k), Device = ComputeDevice.Parse(parse.GetValue(device)!) };
            var stopwatch = Stopwatch.StartNew();
            var results = ProgressBars.Run(console, "Exact search", report => ExactSearch.Search(
                queryStore, corpus, options, new CallbackProgress<SearchProgress>(p => report(p.ScannedRows, p.TotalRows)), cancellationToken));
            console.MarkupLine($"Exact search of the top {results.K} on {options.Device.Resolve()}: {stopwatch.Elapsed.TotalSeconds:F2} s.");

            var runPath = Path.Combine(folder, "exact.trec");
            results.WriteTrecRun(runPath, IdIndex.Load(PlantedTopicWorld.QueryIdsPath(folder)), IdIndex.Load(PlantedTopicWorld.CorpusIdsPath(folder)), "exact");

            for (var query = 0; query < Math.Min(ShownQueries, results.QueryCount); query++)
                console.Write(ResultTable(world, results, query));

            var sameTopic = Enumerable.Range(0, results.QueryCount)
                .Average(q => results.RowsOf(q).ToArray().Count(row => world.DocumentTopics[(int)row] == world.QueryTopics[q]) / (double)results.K);
            console.MarkupLine($"Share of retrieved documents from the query's planted topic (top {results.K}, {results.QueryCount} queries): [bold]{sameTopic:P1}[/]");
            console.MarkupLine($"Wrote the run to [link]{Markup.Escape(runPath)}[/].");
            return 0;
        }));
        return command;
    }

    private static Table ResultTable(PlantedTopicWorld world, SearchResults results, int query)
    {
        var topic = world.QueryTopics[query];
        var table = new Table()
            .Title($"Query {PlantedTopicWorld.QueryId(query)} (topic {topic})")
            .AddColumns("rank", "document", "score", "topic");
        var rows = results.RowsOf(query);
        var scores = results.ScoresOf(query);
        for (var rank = 0; rank < Math.Min(ShownResults, results.K); rank++)
        {
            var documentTopic = world.DocumentTopics[(int)rows[rank]];
            table.AddRow(
                (rank + 1).ToString(),
                PlantedTopicWorld.DocumentId((int)rows[rank]),
                scores[rank].ToString("F4"),
                documentTopic == topic ? $"[green]{documentTopic}[/]" : documentTopic.ToString());
        }

        return table;
    }
}
