using System.CommandLine;
using System.Diagnostics;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary><c>saeml neighbors</c>: exact top-k inner-product search of query embeddings against corpus embeddings.</summary>
internal static class NeighborsCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a .npy file or a folder of .npy shards", Required = true };
        var queries = new Option<string>("--queries") { Description = "Query embeddings: a .npy file or a folder of .npy shards", Required = true };
        var output = new Option<string>("--output")
        {
            Description = "With --format npy, a path prefix: writes <prefix>.ids.npy (int64 corpus rows) and <prefix>.scores.npy (float32). With --format trec, the run file",
            Required = true,
        };
        var k = CliOptions.PositiveInt("--k", "Neighbors per query", ExactSearchOptions.Defaults.K);
        var format = new Option<string>("--format") { Description = "Output format", DefaultValueFactory = _ => "npy" }.AcceptOnlyFromAmong("npy", "trec");
        var corpusIds = new Option<string?>("--corpus-ids") { Description = "Document ids, one per line in corpus row order, for --format trec; without it, the store folder's ids.txt or row numbers" };
        var queryIds = new Option<string?>("--query-ids") { Description = "Query ids, one per line in query row order, for --format trec; without it, the store folder's ids.txt or row numbers" };
        var tag = new Option<string>("--tag") { Description = "Run tag for --format trec", DefaultValueFactory = _ => "saeml" };
        var layout = new Option<string?>("--layout") { Description = "Row layout of shard folders without a store.json manifest; without it, contiguous" }
            .AcceptOnlyFromAmong("contiguous", "round-robin");
        var device = CliOptions.Device();
        var budget = CliOptions.PositiveInt("--memory-budget-mb", "Working memory for scoring, in MiB", (int)(ExactSearchOptions.Defaults.MemoryBudgetBytes >> 20));
        var block = CliOptions.PositiveInt("--query-block", "Queries scored together against each corpus chunk", ExactSearchOptions.Defaults.QueryBlockRows);
        var overwrite = CliOptions.Overwrite();

        var command = new Command("neighbors", "Exact top-k inner-product search: corpus + queries (.npy) → neighbor ids and scores (.npy pair or TREC run)")
        {
            corpus, queries, output, k, format, corpusIds, queryIds, tag, layout, device, budget, block, overwrite,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var shardLayout = parse.GetValue(layout) switch
            {
                "round-robin" => ShardLayout.RoundRobin,
                "contiguous" => ShardLayout.Contiguous,
                _ => (ShardLayout?)null,
            };
            var isTrec = parse.GetValue(format) == "trec";
            var corpusIdsPath = parse.GetValue(corpusIds);
            var queryIdsPath = parse.GetValue(queryIds);
            if (!isTrec && (corpusIdsPath is not null || queryIdsPath is not null))
                throw new UsageException("--corpus-ids and --query-ids name the ids written in a TREC run; use them with --format trec.");

            var options = new ExactSearchOptions
            {
                K = parse.GetValue(k),
                Device = ComputeDevice.Parse(parse.GetValue(device)!),
                MemoryBudgetBytes = (long)parse.GetValue(budget) << 20,
                QueryBlockRows = parse.GetValue(block),
            };

            var target = parse.GetValue(output)!;
            string[] written = isTrec ? [target] : [target + ".ids.npy", target + ".scores.npy"];
            using var files = new CommandFiles()
                .Reads(parse.GetValue(corpus), "--corpus").Reads(parse.GetValue(queries), "--queries")
                .Reads(corpusIdsPath, "--corpus-ids").Reads(queryIdsPath, "--query-ids");
            foreach (var file in written)
                files.Writes(file, "--output");
            files.Check(parse.GetValue(overwrite));

            using var corpusStore = EmbeddingStore.Open(parse.GetValue(corpus)!, shardLayout);
            using var queryStore = EmbeddingStore.Open(parse.GetValue(queries)!, shardLayout);
            var documentIndex = isTrec && (corpusIdsPath ?? corpusStore.IdsPath) is { } corpusIdFile ? corpusStore.LoadIds(corpusIdFile) : null;
            var queryIndex = isTrec && (queryIdsPath ?? queryStore.IdsPath) is { } queryIdFile ? queryStore.LoadIds(queryIdFile) : null;

            if (queryStore.Dimension != corpusStore.Dimension)
                throw new ArgumentException($"--queries '{parse.GetValue(queries)}' holds vectors of {queryStore.Dimension} values, but --corpus '{parse.GetValue(corpus)}' holds vectors of {corpusStore.Dimension}.");
            var depth = options.K <= corpusStore.RowCount ? $"the top {options.K}" : $"all {corpusStore.RowCount:N0} (--k {options.K} is more than the corpus holds)";
            console.MarkupLine(
                $"Searching [bold]{queryStore.RowCount:N0}[/] queries against [bold]{corpusStore.RowCount:N0}[/] documents "
                + $"(dimension {corpusStore.Dimension}) for {Markup.Escape(depth)} on [bold]{options.Device.Resolve()}[/].");
            var stopwatch = Stopwatch.StartNew();
            var results = ProgressBars.Run(console, "Exact search", report => ExactSearch.Search(
                queryStore, corpusStore, options, new CallbackProgress<SearchProgress>(p => report(p.ScannedRows, p.TotalRows)), cancellationToken));
            var seconds = stopwatch.Elapsed.TotalSeconds;

            if (isTrec)
                results.WriteTrecRun(target, queryIndex, documentIndex, parse.GetValue(tag)!);
            else
                results.SaveNpy(written[0], written[1]);

            var gigaFlops = 2.0 * queryStore.RowCount * corpusStore.RowCount * corpusStore.Dimension / seconds / 1e9;
            console.MarkupLine($"Done in {seconds:F2} s ({queryStore.RowCount / seconds:N0} queries/s, {gigaFlops:F1} GFLOP/s).");
            foreach (var file in written)
                console.MarkupLine($"Wrote [link]{Markup.Escape(file)}[/]");
            return 0;
        }));
        return command;
    }
}
