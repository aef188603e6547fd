namespace SaeMl.Evaluation;

/// <summary>Which queries the means of <see cref="RetrievalMetrics"/> average over.</summary>
public enum EvaluatedQueries
{
    /// <summary>
    /// Every query of the qrels; a judged query that the run does not rank scores 0 on every metric.
    /// The strict choice (trec_eval's <c>-c</c>): a run cannot look better by leaving out hard queries.
    /// </summary>
    AllJudged,

    /// <summary>Only the judged queries that the run ranks (trec_eval's default, pytrec_eval and BEIR).</summary>
    RankedAndJudged,
}

/// <summary>Settings of <see cref="RetrievalMetrics"/>: the rank cutoffs and the queries averaged.</summary>
public sealed class RetrievalMetricsOptions
{
    /// <summary>The defaults, in one place.</summary>
    public static class Defaults
    {
        /// <summary>The cutoffs k of P@k, R@k and nDCG@k.</summary>
        public static readonly IReadOnlyList<int> Cutoffs = [1, 3, 5, 10, 100, 1000];

        /// <summary>The depth of MS MARCO's official MRR, MRR@10.</summary>
        public const int ReciprocalRankCutoff = 10;
    }

    /// <summary>The cutoffs k of P@k, R@k and nDCG@k, each ≥ 1; kept in ascending order without repeats.</summary>
    public IReadOnlyList<int> Cutoffs = Defaults.Cutoffs;

    /// <summary>The depth of the cut reciprocal rank (<see cref="RetrievalMetrics.MeanReciprocalRankAtCutoff"/>).</summary>
    public int ReciprocalRankCutoff = Defaults.ReciprocalRankCutoff;

    /// <summary>Which queries the means average over; every judged query by default.</summary>
    public EvaluatedQueries Queries = EvaluatedQueries.AllJudged;
}
