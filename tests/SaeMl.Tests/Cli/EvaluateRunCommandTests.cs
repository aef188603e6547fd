using System.Globalization;
using System.Text;
using System.Text.Json;
using SaeMl.Cli;

namespace SaeMl.Tests.Cli;

/// <summary><c>saeml evaluate --run</c> against a plain implementation of trec_eval's rules written here.</summary>
public sealed class EvaluateRunCommandTests : IDisposable
{
    private static readonly string[] Measures = ["recip_rank", "recip_rank_cut_10", "P_10", "recall_10", "ndcg_cut_10", "map"];
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static async Task<(int ExitCode, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private string Write(string name, string content)
    {
        var path = _folder.File(name);
        File.WriteAllText(path, content);
        return path;
    }

    [Theory]
    [InlineData("judged")]
    [InlineData("ranked")]
    public async Task Random_runs_with_heavy_ties_score_as_trec_eval_rules_say(string querySet)
    {
        var (lines, judgements) = RandomRunAndQrels(new Random(querySet == "judged" ? 3 : 4));
        var runPath = Write("run.trec", string.Join('\n', lines.Select(l => $"{l.Query} Q0 {l.Document} {l.Rank} {l.Score.ToString("R", CultureInfo.InvariantCulture)} sys")));
        var qrelsPath = Write("qrels.txt", string.Join('\n', judgements.Select(j => $"{j.Query} 0 {j.Document} {j.Grade}")));
        var expected = Reference(lines, judgements, querySet == "judged");

        var (exitCode, output, error) = await Run(["evaluate", "--run", runPath, "--qrels", qrelsPath, "--query-set", querySet, "-q",
            "--json", _folder.File("scores.json"), .. Measures.SelectMany(m => new[] { "-m", m })]);

        exitCode.Should().Be(0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(_folder.File("scores.json")));
        var scored = json.RootElement.GetProperty("runs")[0];
        var queries = scored.GetProperty("queries");
        queries.EnumerateObject().Select(q => q.Name).Should().BeEquivalentTo(expected.Keys);
        foreach (var (query, values) in expected)
        {
            foreach (var measure in Measures)
                queries.GetProperty(query).GetProperty(measure).GetDouble().Should().BeApproximately(values[measure], 1e-12, $"{measure} of {query}");
        }

        foreach (var measure in Measures)
        {
            scored.GetProperty("all").GetProperty(measure).GetDouble()
                .Should().BeApproximately(expected.Values.Average(v => v[measure]), 1e-12, measure);
        }

        output.Should().Contain($"recip_rank            \tall\t{expected.Values.Average(v => v["recip_rank"]).ToString("0.0000", CultureInfo.InvariantCulture)}");
        error.Should().Contain("order their documents otherwise by the rank column than by score", "the rank columns were shuffled");

        // The control: the same file taken in its rank-column order scores otherwise.
        var (rankExit, _, _) = await Run(["evaluate", "--run", runPath, "--qrels", qrelsPath, "--query-set", querySet, "-q", "--order", "rank",
            "--json", _folder.File("by-rank.json"), .. Measures.SelectMany(m => new[] { "-m", m })]);
        rankExit.Should().Be(0);
        using var byRank = JsonDocument.Parse(File.ReadAllText(_folder.File("by-rank.json")));
        var differing = expected.Keys.Count(q => Math.Abs(byRank.RootElement.GetProperty("runs")[0].GetProperty("queries").GetProperty(q).GetProperty("recip_rank").GetDouble() - expected[q]["recip_rank"]) > 1e-12);
        differing.Should().BeGreaterThan(expected.Count / 10);
    }

    [Fact]
    public async Task A_small_run_prints_trec_evals_lines_and_two_runs_print_two_blocks()
    {
        var qrels = Write("qrels.txt", "q1 0 a 1\nq1 0 b 0\nq2 0 c 2\n");
        var first = Write("first.trec", "q1 Q0 b 1 2.0 bm25\nq1 Q0 a 2 1.0 bm25\nq2 Q0 c 1 5 bm25\n");
        var second = Write("second.trec", "q1 Q0 a 0 1.0 dense\nq1 Q0 z 0 1.0 dense\n");

        var (exitCode, output, error) = await Run("evaluate", "--run", first, "--run", second, "--qrels", qrels, "-m", "num_q", "-m", "recip_rank", "-m", "P.1,2");

        exitCode.Should().Be(0, error);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(
            "runid                 \tall\tbm25",
            "num_q                 \tall\t2",
            "recip_rank            \tall\t0.7500",
            "P_1                   \tall\t0.5000",
            "P_2                   \tall\t0.5000",
            "runid                 \tall\tdense",
            "num_q                 \tall\t2",
            "recip_rank            \tall\t0.2500",
            "P_1                   \tall\t0.0000",
            "P_2                   \tall\t0.2500");
        error.Should().Contain("ranks no document for 1 of the 2 judged queries; they score 0");
    }

    [Theory]
    [InlineData(0.03125, "0.0312")] // a true half rounds to even, as printf does
    [InlineData(0.03135, "0.0314")] // the nearest double lies above the half
    [InlineData(0.09375, "0.0938")]
    [InlineData(1.0 / 3, "0.3333")]
    public void Values_print_as_printf_rounds_them(double value, string printed) =>
        TrecMeasures.Line("map", "all", value).Should().Be($"map                   \tall\t{printed}");

    [Theory]
    [InlineData("", "Run '*' holds no ranking lines*")]
    [InlineData("Q1 Q0 a 1 1.0 t\n", "The run ranks none of the 1 queries judged in '*' (it ranks 1, such as 'Q1'; the qrels judge such as 'q1').")]
    [InlineData("q1 Q0 a 1 1.0 t\nq1 Q0 b 2\n", "Line 2 of '*' has 4 fields*")]
    [InlineData("q1 Q0 a 1 high t\n", "Line 1 of '*' has score 'high', which is not a finite number.")]
    public async Task A_run_that_cannot_be_scored_gives_one_line_and_exit_code_1(string content, string message)
    {
        var qrels = Write("qrels.txt", "q1 0 a 1\n");
        var run = Write("run.trec", content);

        foreach (var querySet in new[] { "judged", "ranked" })
        {
            var (exitCode, output, error) = await Run("evaluate", "--run", run, "--qrels", qrels, "--query-set", querySet);

            exitCode.Should().Be(1, output);
            error.TrimEnd('\n').Split('\n').Should().ContainSingle().Which.Should().Match("error: " + message);
            output.Should().BeEmpty();
        }
    }

    [Fact]
    public async Task Embedding_options_and_run_options_do_not_mix()
    {
        var qrels = Write("qrels.txt", "q1 0 a 1\n");
        var run = Write("run.trec", "q1 Q0 a 1 1.0 t\n");

        (await Run("evaluate", "--run", run, "--qrels", qrels, "--corpus", "corpus.npy")).Error.Should().Contain("--corpus evaluates embeddings");
        (await Run("evaluate", "--qrels", qrels, "--per-query")).Error.Should().Contain("--per-query applies to run files");
        (await Run("evaluate", "--qrels", qrels)).Error.Should().Contain("--queries and --corpus, or TREC run files with --run");
        var badMeasure = await Run("evaluate", "--run", run, "--qrels", qrels, "-m", "P.ten");
        badMeasure.ExitCode.Should().Be(2);
        badMeasure.Error.Should().Contain("--measure 'P.ten' needs cutoffs that are positive integers");
        (await Run("evaluate", "--run", run, "--qrels", qrels, "--json", run)).Error.Should().Contain("--json").And.Contain("input");
    }

    private sealed record Line(string Query, string Document, int Rank, double Score);

    private sealed record Judged(string Query, string Document, int Grade);

    /// <summary>
    /// Runs with depths 1–1000, scores drawn from a few values (heavy ties) or a few values 1e-13 apart
    /// (ties only in float), rank columns true, shuffled or all 0; graded qrels with grade-0 lines and
    /// unretrieved judged documents; queries only judged, only ranked, or both; lines in random order.
    /// </summary>
    private static (List<Line> Lines, List<Judged> Judgements) RandomRunAndQrels(Random random)
    {
        var lines = new List<Line>();
        var judgements = new List<Judged>();
        for (var q = 0; q < 240; q++)
        {
            var query = $"q{q}";
            var depth = random.Next(4) == 0 ? random.Next(1, 1001) : random.Next(1, 40);
            var documents = Enumerable.Range(0, 3000).OrderBy(_ => random.Next()).Take(depth).Select(d => $"d{d}").ToArray();
            var scoreMode = random.Next(3);
            var scores = documents.Select(_ => scoreMode switch
            {
                0 => Math.Round(random.NextDouble(), 1),
                1 => 0.5 + random.Next(4) * 1e-13,
                _ => random.NextDouble() * 20 - 10,
            }).ToArray();
            var byScore = Enumerable.Range(0, depth).OrderByDescending(i => scores[i]).ToArray();
            var rankMode = random.Next(3);
            var shuffled = Enumerable.Range(1, depth).OrderBy(_ => random.Next()).ToArray();
            if (q % 9 != 0)
            {
                for (var i = 0; i < depth; i++)
                    lines.Add(new Line(query, documents[byScore[i]], rankMode switch { 0 => i + 1, 1 => shuffled[i], _ => 0 }, scores[byScore[i]]));
            }

            if (q % 11 == 5)
                continue; // ranked, never judged
            foreach (var document in documents.Take(12).Concat(Enumerable.Range(0, 3).Select(i => $"unretrieved{q}-{i}")))
            {
                if (random.Next(3) != 0)
                    judgements.Add(new Judged(query, document, random.Next(4) - (random.Next(20) == 0 ? 1 : 0)));
            }
        }

        var judgedQueries = judgements.Select(j => j.Query).Distinct().Count();
        judgedQueries.Should().BeGreaterThan(150, "the world needs judged queries");
        return (lines.OrderBy(_ => random.Next()).ToList(), judgements);
    }

    /// <summary>trec_eval's rules, spelled out plainly: per query, sort by score descending, ties by document id descending.</summary>
    private static Dictionary<string, Dictionary<string, double>> Reference(List<Line> lines, List<Judged> judgements, bool everyJudgedQuery)
    {
        var runs = lines.GroupBy(l => l.Query).ToDictionary(g => g.Key, g => g.ToList());
        var result = new Dictionary<string, Dictionary<string, double>>();
        foreach (var group in judgements.GroupBy(j => j.Query))
        {
            if (!runs.TryGetValue(group.Key, out var ranked))
            {
                if (everyJudgedQuery)
                    result[group.Key] = Measures.ToDictionary(m => m, _ => 0.0);
                continue;
            }

            var grades = group.ToDictionary(j => j.Document, j => j.Grade);
            var order = ranked.OrderByDescending(l => l.Score).ThenByDescending(l => l.Document, StringComparer.Ordinal)
                .Select(l => grades.GetValueOrDefault(l.Document)).ToList();
            var relevant = grades.Values.Count(g => g >= 1);
            var firstRelevant = order.FindIndex(g => g >= 1);
            var inTop10 = order.Take(10).Count(g => g >= 1);
            double Dcg(IEnumerable<int> gains) => gains.Take(10).Select((g, i) => Math.Max(g, 0) / Math.Log2(i + 2)).Sum();
            var ideal = Dcg(grades.Values.Where(g => g > 0).OrderDescending());
            var precisionSum = 0.0;
            var seen = 0;
            for (var i = 0; i < order.Count; i++)
            {
                if (order[i] >= 1)
                    precisionSum += (double)++seen / (i + 1);
            }

            result[group.Key] = new Dictionary<string, double>
            {
                ["recip_rank"] = firstRelevant < 0 ? 0 : 1.0 / (firstRelevant + 1),
                ["recip_rank_cut_10"] = firstRelevant is < 0 or >= 10 ? 0 : 1.0 / (firstRelevant + 1),
                ["P_10"] = inTop10 / 10.0,
                ["recall_10"] = relevant == 0 ? 0 : (double)inTop10 / relevant,
                ["ndcg_cut_10"] = ideal == 0 ? 0 : Dcg(order) / ideal,
                ["map"] = relevant == 0 ? 0 : precisionSum / relevant,
            };
        }

        return result;
    }
}
