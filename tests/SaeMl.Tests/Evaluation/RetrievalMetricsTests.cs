using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Evaluation;
using SaeMl.Search;

namespace SaeMl.Tests.Evaluation;

public sealed class RetrievalMetricsTests : IDisposable
{
    private static readonly RetrievalMetricsOptions SmallCutoffs = new() { Cutoffs = [1, 3, 5] };
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static KeyValuePair<string, IReadOnlyList<string>> Ranking(string query, params string[] documents) => new(query, documents);

    /// <summary>
    /// q1 judges d1 = 1, d2 = 2, d3 = 0 (judged, not relevant) and d4 = 3 (never retrieved); q2 judges only
    /// d1 = 0, so nothing is relevant; q3 is judged but absent from the run; qX is ranked but not judged.
    /// </summary>
    private static readonly Qrels HandQrels = Qrels.FromJudgements(
    [
        new("q1", "d1", 1), new("q1", "d2", 2), new("q1", "d3", 0), new("q1", "d4", 3),
        new("q2", "d1", 0),
        new("q3", "d5", 1),
    ]);

    private static readonly KeyValuePair<string, IReadOnlyList<string>>[] HandRun =
    [
        Ranking("q1", "d3", "d1", "dX", "d2"), // relevant at ranks 2 and 4; dX is unjudged; shorter than k = 5
        Ranking("q2", "d1"),
        Ranking("qX", "d1"),
    ];

    [Fact]
    public void Hand_computed_query_gets_trec_eval_values_for_every_metric()
    {
        var metrics = RetrievalMetrics.Compute(HandRun, HandQrels, SmallCutoffs);

        var q1 = metrics.PerQuery.Single(q => q.QueryId == "q1");
        q1.RelevantCount.Should().Be(3);
        q1.RankedCount.Should().Be(4);
        q1.ReciprocalRank.Should().Be(0.5);
        q1.ReciprocalRankAtCutoff.Should().Be(0.5);
        q1.AveragePrecision.Should().BeApproximately((1.0 / 2 + 2.0 / 4) / 3, 1e-12);
        q1.Precision.Should().Equal(0, 1.0 / 3, 2.0 / 5); // P@5 divides by 5 although only 4 are ranked
        q1.Recall.Should().Equal(0, 1.0 / 3, 2.0 / 3);
        var ideal = 3 + 2 / Math.Log2(3) + 1 / Math.Log2(4); // grades 3, 2, 1 in the best order
        q1.Ndcg[0].Should().Be(0);
        q1.Ndcg[1].Should().BeApproximately(1 / Math.Log2(3) / ideal, 1e-12);
        q1.Ndcg[2].Should().BeApproximately((1 / Math.Log2(3) + 2 / Math.Log2(5)) / ideal, 1e-12);
    }

    [Fact]
    public void Queries_without_relevant_documents_and_unranked_judged_queries_score_zero_and_count_in_the_default_mean()
    {
        var metrics = RetrievalMetrics.Compute(HandRun, HandQrels, SmallCutoffs);

        metrics.EvaluatedQueries.Should().Be(EvaluatedQueries.AllJudged);
        metrics.PerQuery.Select(q => q.QueryId).Should().Equal("q1", "q2", "q3");
        foreach (var query in metrics.PerQuery.Where(q => q.QueryId != "q1"))
        {
            query.ReciprocalRank.Should().Be(0);
            query.AveragePrecision.Should().Be(0);
            query.Precision.Concat(query.Recall).Concat(query.Ndcg).Should().OnlyContain(v => v == 0);
        }

        metrics.PerQuery.Single(q => q.QueryId == "q3").RankedCount.Should().Be(0);
        metrics.QueryCount.Should().Be(3);
        metrics.UnjudgedRankedQueries.Should().Be(1);
        metrics.MeanReciprocalRank.Should().BeApproximately(0.5 / 3, 1e-12);
        metrics.MeanAveragePrecision.Should().BeApproximately(1.0 / 9, 1e-12);
        metrics.PrecisionAt(5).Should().BeApproximately(0.4 / 3, 1e-12);
        metrics.RecallAt(5).Should().BeApproximately(2.0 / 9, 1e-12);
    }

    [Fact]
    public void Ranked_and_judged_mean_leaves_out_judged_queries_the_run_does_not_rank()
    {
        var metrics = RetrievalMetrics.Compute(HandRun, HandQrels, new RetrievalMetricsOptions { Cutoffs = [1, 3, 5], Queries = EvaluatedQueries.RankedAndJudged });

        metrics.PerQuery.Select(q => q.QueryId).Should().Equal("q1", "q2");
        metrics.MeanReciprocalRank.Should().Be(0.25);
    }

    [Fact]
    public void Reciprocal_rank_at_10_ignores_a_first_relevant_document_at_rank_11()
    {
        var ranking = Enumerable.Range(1, 11).Select(i => $"d{i}").ToArray();
        var qrels = Qrels.FromJudgements([new("q", "d11", 1)]);

        var metrics = RetrievalMetrics.Compute([Ranking("q", ranking)], qrels);

        metrics.MeanReciprocalRank.Should().BeApproximately(1.0 / 11, 1e-12);
        metrics.MeanReciprocalRankAtCutoff.Should().Be(0);
        metrics.RecallAt(10).Should().Be(0);
        metrics.RecallAt(100).Should().Be(1);
        metrics.PrecisionAt(1000).Should().Be(0.001);
    }

    [Fact]
    public void Tied_scores_rank_by_corpus_row_and_the_written_run_reads_back_to_the_same_metrics()
    {
        // Documents 0 and 1 are the same vector, so the query ties them; only row 1 is relevant.
        var corpusPath = _folder.File("corpus.npy");
        NpyWriter.Write(corpusPath, [1f, 0f, 1f, 0f, 0f, 1f], 2);
        using var corpus = EmbeddingStore.Open(corpusPath);
        var results = ExactSearch.Search(new float[] { 1f, 0f }, corpus, new ExactSearchOptions { K = 3 });
        var queryIds = IdIndex.Build(["q"], "queries");
        var documentIds = IdIndex.Build(["a", "b", "c"], "corpus");
        var qrels = Qrels.FromJudgements([new("q", "b", 1)]);

        var fromResults = RetrievalMetrics.Compute(results, queryIds, documentIds, qrels);
        var runPath = _folder.File("run.trec");
        results.WriteTrecRun(runPath, queryIds, documentIds);
        var fromFile = RetrievalMetrics.Compute(TrecRun.Read(runPath), qrels, order: TrecRunOrder.RankColumn);
        var asTrecEval = RetrievalMetrics.Compute(TrecRun.Read(runPath), qrels);

        results.ScoresOf(0)[0].Should().Be(results.ScoresOf(0)[1]);
        fromResults.MeanReciprocalRank.Should().Be(0.5);
        fromFile.MeanReciprocalRank.Should().Be(0.5);
        fromFile.PerQuery.Should().BeEquivalentTo(fromResults.PerQuery);
        asTrecEval.MeanReciprocalRank.Should().Be(1, "trec_eval puts b before a among equal scores");
    }

    [Fact]
    public void A_document_ranked_twice_for_a_query_is_rejected()
    {
        var act = () => RetrievalMetrics.Compute([Ranking("q1", "d1", "d2", "d1")], HandQrels);

        act.Should().Throw<ArgumentException>().WithMessage("*document 'd1' twice for query 'q1' (ranks 1 and 3)*");
    }

    [Fact]
    public void Bad_options_and_empty_evaluations_are_rejected()
    {
        FluentActions.Invoking(() => RetrievalMetrics.Compute(HandRun, HandQrels, new RetrievalMetricsOptions { Cutoffs = [0, 10] }))
            .Should().Throw<ArgumentException>().WithMessage("*ranks ≥ 1*[0, 10]*");
        FluentActions.Invoking(() => RetrievalMetrics.Compute(HandRun, Qrels.FromJudgements([])))
            .Should().Throw<ArgumentException>().WithMessage("*judge no query*");
        FluentActions.Invoking(() => RetrievalMetrics.Compute([Ranking("other", "d1")], HandQrels, new RetrievalMetricsOptions { Queries = EvaluatedQueries.RankedAndJudged }))
            .Should().Throw<ArgumentException>().WithMessage("*ranks none of the 3 queries*");
        FluentActions.Invoking(() => RetrievalMetrics.Compute(HandRun, HandQrels).PrecisionAt(7))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[1, 3, 5, 10, 100, 1000]*");
    }

    [Fact]
    public void Every_metric_agrees_with_a_naive_implementation_on_random_runs_and_graded_qrels()
    {
        var random = new Random(7);
        var judgements = new List<Judgement>();
        var run = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        for (var q = 0; q < 400; q++)
        {
            var documents = Enumerable.Range(0, 300).Select(d => $"d{d}").OrderBy(_ => random.Next()).ToArray();
            foreach (var document in documents.Take(random.Next(0, 40)))
                judgements.Add(new($"q{q}", document, random.Next(0, 4)));
            if (q % 10 != 0) // every tenth judged query is missing from the run
                run.Add(Ranking($"q{q}", documents.OrderBy(_ => random.Next()).Take(random.Next(0, 150)).ToArray()));
        }

        var qrels = Qrels.FromJudgements(judgements);
        var cutoffs = new[] { 1, 3, 5, 10, 100, 1000 };
        foreach (var queries in new[] { EvaluatedQueries.AllJudged, EvaluatedQueries.RankedAndJudged })
        {
            var metrics = RetrievalMetrics.Compute(run, qrels, new RetrievalMetricsOptions { Queries = queries });
            var evaluated = qrels.QueryIds
                .Where(q => queries == EvaluatedQueries.AllJudged || run.Any(r => r.Key == q))
                .Select(q => (Grades: qrels.JudgementsOf(q), Ranking: run.FirstOrDefault(r => r.Key == q).Value ?? []))
                .ToList();

            metrics.QueryCount.Should().Be(evaluated.Count);
            metrics.MeanReciprocalRank.Should().BeApproximately(evaluated.Average(e => NaiveReciprocalRank(e.Grades, e.Ranking, int.MaxValue)), 1e-9);
            metrics.MeanReciprocalRankAtCutoff.Should().BeApproximately(evaluated.Average(e => NaiveReciprocalRank(e.Grades, e.Ranking, 10)), 1e-9);
            metrics.MeanAveragePrecision.Should().BeApproximately(evaluated.Average(e => NaiveAveragePrecision(e.Grades, e.Ranking)), 1e-9);
            foreach (var k in cutoffs)
            {
                metrics.PrecisionAt(k).Should().BeApproximately(evaluated.Average(e => NaiveRelevantInTop(e.Grades, e.Ranking, k) / (double)k), 1e-9);
                metrics.RecallAt(k).Should().BeApproximately(evaluated.Average(e => NaiveRecall(e.Grades, e.Ranking, k)), 1e-9);
                metrics.NdcgAt(k).Should().BeApproximately(evaluated.Average(e => NaiveNdcg(e.Grades, e.Ranking, k)), 1e-9);
            }
        }
    }

    private static bool IsRelevant(IReadOnlyDictionary<string, int> grades, string document) => grades.GetValueOrDefault(document) >= 1;

    private static double NaiveReciprocalRank(IReadOnlyDictionary<string, int> grades, IReadOnlyList<string> ranking, int depth)
    {
        for (var rank = 1; rank <= Math.Min(depth, ranking.Count); rank++)
        {
            if (IsRelevant(grades, ranking[rank - 1]))
                return 1.0 / rank;
        }

        return 0;
    }

    private static int NaiveRelevantInTop(IReadOnlyDictionary<string, int> grades, IReadOnlyList<string> ranking, int k) =>
        ranking.Take(k).Count(d => IsRelevant(grades, d));

    private static double NaiveRecall(IReadOnlyDictionary<string, int> grades, IReadOnlyList<string> ranking, int k)
    {
        var relevant = grades.Count(g => g.Value >= 1);
        return relevant == 0 ? 0 : NaiveRelevantInTop(grades, ranking, k) / (double)relevant;
    }

    /// <summary>Average precision from its definition: for every relevant document, the precision at its rank if retrieved, else 0.</summary>
    private static double NaiveAveragePrecision(IReadOnlyDictionary<string, int> grades, IReadOnlyList<string> ranking)
    {
        var relevant = grades.Where(g => g.Value >= 1).Select(g => g.Key).ToList();
        if (relevant.Count == 0)
            return 0;
        return relevant.Sum(document =>
        {
            var index = ranking.ToList().IndexOf(document);
            return index < 0 ? 0 : NaiveRelevantInTop(grades, ranking, index + 1) / (double)(index + 1);
        }) / relevant.Count;
    }

    private static double NaiveNdcg(IReadOnlyDictionary<string, int> grades, IReadOnlyList<string> ranking, int k)
    {
        static double Dcg(IEnumerable<int> gains) => gains.Select((gain, i) => gain * Math.Log(2) / Math.Log(i + 2)).Sum();
        var ideal = Dcg(grades.Values.Select(g => Math.Max(g, 0)).OrderByDescending(g => g).Take(k));
        return ideal == 0 ? 0 : Dcg(ranking.Take(k).Select(d => Math.Max(grades.GetValueOrDefault(d), 0))) / ideal;
    }
}
