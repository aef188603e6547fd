using System.CommandLine;
using System.Text.Json;
using SaeMl.Data;
using SaeMl.Evaluation;

namespace SaeMl.Cli;

/// <summary>
/// <c>saeml evaluate --run</c>: scores TREC run files against qrels as trec_eval does and prints its
/// three-column lines (<c>measure query value</c>), one block per run, each opened by its <c>runid</c>.
/// </summary>
internal static class RunEvaluation
{
    /// <summary>What to compute and where to write it.</summary>
    public sealed record Settings(TrecMeasures Measures, EvaluatedQueries Queries, TrecRunOrder Order, bool PerQuery, string? JsonPath, bool Overwrite);

    /// <summary>Scores every run before printing any (so a bad file fails before output), prints the blocks, and writes the JSON file when asked.</summary>
    public static int Score(InvocationConfiguration io, IReadOnlyList<string> runPaths, string qrelsPath, Settings settings)
    {
        using var files = new CommandFiles().Reads(qrelsPath, "--qrels");
        foreach (var path in runPaths)
            files.Reads(path, "--run");
        files.Writes(settings.JsonPath, "--json").Check(settings.Overwrite);

        var qrels = Qrels.Read(qrelsPath);
        var options = settings.Measures.Options(settings.Queries);
        var scored = new List<ScoredRun>();
        foreach (var path in runPaths)
        {
            var run = TrecRun.Read(path); // let each run go once scored: only its metrics are kept
            scored.Add(new ScoredRun(run.Source, RunId(run), run.QueryCount, run.QueriesRankedOtherwise, RetrievalMetrics.Compute(run, qrels, options, settings.Order)));
        }

        foreach (var run in scored)
        {
            if (run.RankedOtherwise.Count > 0)
            {
                io.Error.WriteLine($"warning: in '{run.Source}', {run.RankedOtherwise.Count:N0} of {run.QueryCount:N0} queries order their documents otherwise by the rank column than by score (such as query '{run.RankedOtherwise[0]}'); "
                    + (settings.Order == TrecRunOrder.Score ? "scored by score, as trec_eval does (--order rank follows the rank column)." : "scored by the rank column, as --order rank asks (trec_eval would sort by score)."));
            }

            var metrics = run.Metrics;
            if (metrics.UnjudgedRankedQueries > 0)
                io.Error.WriteLine($"warning: '{run.Source}' ranks {metrics.UnjudgedRankedQueries:N0} queries that '{qrels.Source}' does not judge; they are not scored.");
            var unranked = qrels.QueryCount - (run.QueryCount - metrics.UnjudgedRankedQueries);
            if (unranked > 0 && settings.Queries == EvaluatedQueries.AllJudged)
                io.Error.WriteLine($"warning: '{run.Source}' ranks no document for {unranked:N0} of the {qrels.QueryCount:N0} judged queries; they score 0 (--query-set ranked leaves them out, as trec_eval without -c does).");

            if (settings.PerQuery)
            {
                foreach (var query in metrics.PerQuery.OrderBy(q => q.QueryId, StringComparer.Ordinal))
                {
                    foreach (var (name, value) in settings.Measures.OfQuery(metrics, query))
                        io.Output.WriteLine(TrecMeasures.Line(name, query.QueryId, value));
                }
            }

            io.Output.WriteLine(TrecMeasures.Line("runid", "all", run.RunId));
            foreach (var (name, value) in settings.Measures.Summary(metrics))
                io.Output.WriteLine(TrecMeasures.Line(name, "all", value));
        }

        if (settings.JsonPath is { } jsonPath)
        {
            AtomicFile.Write(jsonPath, stream => WriteJson(stream, scored, qrels, settings));
            io.Error.WriteLine($"Wrote {jsonPath}");
        }

        return 0;
    }

    /// <summary>What is kept of a run once it is scored.</summary>
    private sealed record ScoredRun(string Source, string RunId, int QueryCount, IReadOnlyList<string> RankedOtherwise, RetrievalMetrics Metrics);

    /// <summary>The run's tag, as trec_eval names it.</summary>
    private static string RunId(TrecRun run) => run.Tag ?? Path.GetFileName(run.Source);

    private static void WriteJson(Stream stream, List<ScoredRun> scored, Qrels qrels, Settings settings)
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("qrels", qrels.Source);
        writer.WriteString("querySet", settings.Queries == EvaluatedQueries.AllJudged ? "judged" : "ranked");
        writer.WriteString("order", settings.Order == TrecRunOrder.Score ? "score" : "rank");
        writer.WriteStartArray("runs");
        foreach (var run in scored)
        {
            var metrics = run.Metrics;
            writer.WriteStartObject();
            writer.WriteString("run", run.Source);
            writer.WriteString("runid", run.RunId);
            writer.WriteStartObject("all");
            foreach (var (name, value) in settings.Measures.Summary(metrics))
                writer.WriteNumber(name, value);
            writer.WriteEndObject();
            if (settings.PerQuery)
            {
                writer.WriteStartObject("queries");
                foreach (var query in metrics.PerQuery)
                {
                    writer.WriteStartObject(query.QueryId);
                    foreach (var (name, value) in settings.Measures.OfQuery(metrics, query))
                        writer.WriteNumber(name, value);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
