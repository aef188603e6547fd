using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Evaluation;

/// <summary>The metrics of one query; the lists are aligned with <see cref="RetrievalMetrics.Cutoffs"/>.</summary>
/// <param name="QueryId">The query.</param>
/// <param name="RelevantCount">Documents judged relevant (grade ≥ 1) for it.</param>
/// <param name="RankedCount">Documents the run ranks for it (0 when the run leaves it out).</param>
/// <param name="ReciprocalRank">1 / rank of the first relevant document in the whole ranking, 0 if none.</param>
/// <param name="ReciprocalRankAtCutoff">The same, counting only the top <see cref="RetrievalMetrics.ReciprocalRankCutoff"/> ranks.</param>
/// <param name="AveragePrecision">The mean of the precision at the rank of each relevant document, unretrieved ones counting 0.</param>
/// <param name="Precision">P@k: relevant documents in the top k, divided by k.</param>
/// <param name="Recall">R@k: relevant documents in the top k, divided by all relevant documents (0 when there are none).</param>
/// <param name="Ndcg">nDCG@k: the discounted gain of the top k over that of the ideal ranking (0 when nothing is relevant).</param>
public sealed record QueryMetrics(
    string QueryId,
    int RelevantCount,
    int RankedCount,
    double ReciprocalRank,
    double ReciprocalRankAtCutoff,
    double AveragePrecision,
    IReadOnlyList<double> Precision,
    IReadOnlyList<double> Recall,
    IReadOnlyList<double> Ndcg);

/// <summary>
/// Retrieval metrics of a run against relevance judgements, defined as trec_eval defines
/// <c>recip_rank</c>, <c>P_k</c>, <c>recall_k</c>, <c>ndcg_cut_k</c> and <c>map</c>: each is computed per
/// query and averaged over the queries that <see cref="RetrievalMetricsOptions.Queries"/> names. All lie in
/// [0, 1]; higher is better.
/// </summary>
/// <remarks>
/// <para>A document is relevant when its grade is at least 1; unjudged documents are not relevant. nDCG
/// uses the grade as a linear gain (grades below 0 gain 0) and the discount log₂(rank + 1); the ideal
/// ranking orders every judged document of the query by grade.</para>
/// <para>Rankings are taken in the order given, best first. A TREC run file is ordered as trec_eval orders
/// it (by score, equal scores by descending document id) unless the rank column is asked for; see
/// <see cref="TrecRunOrder"/>.</para>
/// <para>Queries of the run that the qrels do not judge are not evaluated; <see cref="UnjudgedRankedQueries"/>
/// counts them. A judged query without any relevant document is evaluated and scores 0.</para>
/// </remarks>
public sealed class RetrievalMetrics
{
    private RetrievalMetrics(RetrievalMetricsOptions options, IReadOnlyList<QueryMetrics> perQuery, int unjudgedRankedQueries)
    {
        Cutoffs = options.Cutoffs;
        ReciprocalRankCutoff = options.ReciprocalRankCutoff;
        EvaluatedQueries = options.Queries;
        PerQuery = perQuery;
        UnjudgedRankedQueries = unjudgedRankedQueries;
        MeanReciprocalRank = perQuery.Average(q => q.ReciprocalRank);
        MeanReciprocalRankAtCutoff = perQuery.Average(q => q.ReciprocalRankAtCutoff);
        MeanAveragePrecision = perQuery.Average(q => q.AveragePrecision);
        Precision = Enumerable.Range(0, Cutoffs.Count).Select(c => perQuery.Average(q => q.Precision[c])).ToArray();
        Recall = Enumerable.Range(0, Cutoffs.Count).Select(c => perQuery.Average(q => q.Recall[c])).ToArray();
        Ndcg = Enumerable.Range(0, Cutoffs.Count).Select(c => perQuery.Average(q => q.Ndcg[c])).ToArray();
    }

    /// <summary>The cutoffs k of <see cref="Precision"/>, <see cref="Recall"/> and <see cref="Ndcg"/>, ascending.</summary>
    public IReadOnlyList<int> Cutoffs { get; }

    /// <summary>The depth of <see cref="MeanReciprocalRankAtCutoff"/> (10 for MS MARCO's MRR@10).</summary>
    public int ReciprocalRankCutoff { get; }

    /// <summary>Which queries the means average over.</summary>
    public EvaluatedQueries EvaluatedQueries { get; }

    /// <summary>The number of queries averaged.</summary>
    public int QueryCount => PerQuery.Count;

    /// <summary>Ranked queries that the qrels do not judge, left out of every mean.</summary>
    public int UnjudgedRankedQueries { get; }

    /// <summary>Full-depth mean reciprocal rank (trec_eval's <c>recip_rank</c>, the paper's MRR).</summary>
    public double MeanReciprocalRank { get; }

    /// <summary>Mean reciprocal rank within the top <see cref="ReciprocalRankCutoff"/> (MRR@10).</summary>
    public double MeanReciprocalRankAtCutoff { get; }

    /// <summary>Mean average precision over the whole ranking (trec_eval's <c>map</c>).</summary>
    public double MeanAveragePrecision { get; }

    /// <summary>Mean P@k for each of <see cref="Cutoffs"/>.</summary>
    public IReadOnlyList<double> Precision { get; }

    /// <summary>Mean R@k for each of <see cref="Cutoffs"/>.</summary>
    public IReadOnlyList<double> Recall { get; }

    /// <summary>Mean nDCG@k for each of <see cref="Cutoffs"/>.</summary>
    public IReadOnlyList<double> Ndcg { get; }

    /// <summary>Every evaluated query's metrics, in the order of the qrels.</summary>
    public IReadOnlyList<QueryMetrics> PerQuery { get; }

    /// <summary>Mean P@k.</summary>
    /// <exception cref="ArgumentOutOfRangeException">k is not one of <see cref="Cutoffs"/>.</exception>
    public double PrecisionAt(int k) => Precision[CutoffIndex(k)];

    /// <summary>Mean R@k.</summary>
    /// <exception cref="ArgumentOutOfRangeException">k is not one of <see cref="Cutoffs"/>.</exception>
    public double RecallAt(int k) => Recall[CutoffIndex(k)];

    /// <summary>Mean nDCG@k.</summary>
    /// <exception cref="ArgumentOutOfRangeException">k is not one of <see cref="Cutoffs"/>.</exception>
    public double NdcgAt(int k) => Ndcg[CutoffIndex(k)];

    /// <summary>Evaluates rankings given as document ids per query, best first.</summary>
    /// <param name="run">Each query's ranking; a query may appear once, a document once per query.</param>
    /// <param name="qrels">The relevance judgements.</param>
    /// <param name="options">Cutoffs and the queries averaged; null takes the defaults.</param>
    /// <exception cref="ArgumentException">A query appears twice, a ranking lists a document twice, an option is out of range, the qrels judge no query, or the run ranks none of the judged queries.</exception>
    public static RetrievalMetrics Compute(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> run, Qrels qrels, RetrievalMetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        var rankings = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (queryId, ranking) in run)
        {
            ArgumentNullException.ThrowIfNull(ranking, nameof(run));
            if (!rankings.TryAdd(queryId, ranking))
                throw new ArgumentException($"The run ranks query '{queryId}' twice.", nameof(run));
        }

        return Compute(rankings, qrels, options);
    }

    /// <summary>Evaluates a TREC run file read with <see cref="TrecRun.Read"/>.</summary>
    /// <param name="run">The run.</param>
    /// <param name="qrels">The relevance judgements.</param>
    /// <param name="options">Cutoffs and the queries averaged; null takes the defaults.</param>
    /// <param name="order">How each query's documents are ordered: by score with trec_eval's tie rule (the default), or by the rank column.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the run ranks none of the judged queries.</exception>
    public static RetrievalMetrics Compute(TrecRun run, Qrels qrels, RetrievalMetricsOptions? options = null, TrecRunOrder order = TrecRunOrder.Score)
    {
        ArgumentNullException.ThrowIfNull(run);
        return Compute(
            run.QueryIds.ToDictionary(q => q, q => (IReadOnlyList<string>)run.RankingOf(q, order).Select(d => d.DocumentId).ToArray(), StringComparer.Ordinal),
            qrels,
            options);
    }

    /// <summary>Evaluates search results, their query numbers and corpus rows mapped to ids.</summary>
    /// <param name="results">The search results, one row per query.</param>
    /// <param name="queryIds">The ids of the queries, in result order.</param>
    /// <param name="documentIds">The ids of the corpus rows.</param>
    /// <param name="qrels">The relevance judgements.</param>
    /// <param name="options">Cutoffs and the queries averaged; null takes the defaults.</param>
    /// <exception cref="ArgumentException">The id indexes do not cover the results, an option is out of range, the qrels judge no query, or the run ranks none of the judged queries.</exception>
    public static RetrievalMetrics Compute(SearchResults results, IdIndex queryIds, IdIndex documentIds, Qrels qrels, RetrievalMetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(queryIds);
        ArgumentNullException.ThrowIfNull(documentIds);
        results.CheckIds(queryIds, documentIds);

        var rankings = new Dictionary<string, IReadOnlyList<string>>(results.QueryCount, StringComparer.Ordinal);
        for (var query = 0; query < results.QueryCount; query++)
            rankings[queryIds[query]] = new RankedRows(results, query, documentIds);
        return Compute(rankings, qrels, options);
    }

    private static RetrievalMetrics Compute(Dictionary<string, IReadOnlyList<string>> rankings, Qrels qrels, RetrievalMetricsOptions? options)
    {
        ArgumentNullException.ThrowIfNull(qrels);
        options ??= new RetrievalMetricsOptions();
        var cutoffs = Validate(options);
        options = new RetrievalMetricsOptions { Cutoffs = cutoffs, ReciprocalRankCutoff = options.ReciprocalRankCutoff, Queries = options.Queries };

        if (qrels.QueryCount == 0)
            throw new ArgumentException($"Qrels '{qrels.Source}' judge no query; there is nothing to evaluate.", nameof(qrels));
        if (!qrels.QueryIds.Any(rankings.ContainsKey))
        {
            // In every mode: all-zero metrics from mismatched ids ('Q1' against 'q1') would pass silently.
            var example = rankings.Keys.FirstOrDefault();
            throw new ArgumentException(
                $"The run ranks none of the {qrels.QueryCount:N0} queries judged in '{qrels.Source}'"
                + (example is null ? " (it ranks no query)." : $" (it ranks {rankings.Count:N0}, such as '{example}'; the qrels judge such as '{qrels.QueryIds.First()}')."),
                nameof(qrels));
        }

        var evaluated = options.Queries == EvaluatedQueries.AllJudged
            ? qrels.QueryIds.ToList()
            : qrels.QueryIds.Where(rankings.ContainsKey).ToList();

        var judged = qrels.QueryIds.ToHashSet(StringComparer.Ordinal);
        var unjudged = rankings.Keys.Count(q => !judged.Contains(q));
        var perQuery = evaluated
            .Select(q => Evaluate(q, rankings.TryGetValue(q, out var ranking) ? ranking : [], qrels.JudgementsOf(q), options))
            .ToArray();
        return new RetrievalMetrics(options, perQuery, unjudged);
    }

    private static QueryMetrics Evaluate(string queryId, IReadOnlyList<string> ranking, IReadOnlyDictionary<string, int> judgements, RetrievalMetricsOptions options)
    {
        var cutoffs = options.Cutoffs;
        var relevantCount = judgements.Values.Count(grade => grade >= 1);
        var idealGains = judgements.Values.Where(grade => grade > 0).OrderDescending().ToArray();

        var precision = new double[cutoffs.Count];
        var recall = new double[cutoffs.Count];
        var ndcg = new double[cutoffs.Count];
        var firstRank = new Dictionary<string, int>(ranking.Count, StringComparer.Ordinal);
        int? firstRelevantRank = null;
        var relevantSoFar = 0;
        var precisionSum = 0.0;
        var discountedGain = 0.0;
        var nextCutoff = 0;

        void CloseCutoffsUpTo(int rank)
        {
            for (; nextCutoff < cutoffs.Count && cutoffs[nextCutoff] <= rank; nextCutoff++)
            {
                var k = cutoffs[nextCutoff];
                precision[nextCutoff] = (double)relevantSoFar / k;
                recall[nextCutoff] = relevantCount == 0 ? 0 : (double)relevantSoFar / relevantCount;
                var ideal = DiscountedGain(idealGains.AsSpan(0, Math.Min(k, idealGains.Length)));
                ndcg[nextCutoff] = ideal == 0 ? 0 : discountedGain / ideal;
            }
        }

        for (var i = 0; i < ranking.Count; i++)
        {
            var rank = i + 1;
            var document = ranking[i];
            if (!firstRank.TryAdd(document, rank))
                throw new ArgumentException($"The run ranks document '{document}' twice for query '{queryId}' (ranks {firstRank[document]} and {rank}).", "run");

            // Ranks past the largest cutoff matter only to the full-depth reciprocal rank and average precision.
            var grade = judgements.TryGetValue(document, out var g) ? g : 0;
            if (grade >= 1)
            {
                firstRelevantRank ??= rank;
                relevantSoFar++;
                precisionSum += (double)relevantSoFar / rank;
            }

            if (grade > 0)
                discountedGain += grade / Math.Log2(rank + 1);
            CloseCutoffsUpTo(rank);
        }

        CloseCutoffsUpTo(int.MaxValue);
        var reciprocalRank = firstRelevantRank is { } r ? 1.0 / r : 0;
        return new QueryMetrics(
            queryId,
            relevantCount,
            ranking.Count,
            reciprocalRank,
            firstRelevantRank <= options.ReciprocalRankCutoff ? reciprocalRank : 0,
            relevantCount == 0 ? 0 : precisionSum / relevantCount,
            precision,
            recall,
            ndcg);
    }

    private static double DiscountedGain(ReadOnlySpan<int> gains)
    {
        var sum = 0.0;
        for (var i = 0; i < gains.Length; i++)
            sum += gains[i] / Math.Log2(i + 2);
        return sum;
    }

    private static int[] Validate(RetrievalMetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.Cutoffs, nameof(options));
        if (options.Cutoffs.Count == 0 || options.Cutoffs.Any(k => k < 1))
            throw new ArgumentException($"Cutoffs must be one or more ranks ≥ 1, got [{string.Join(", ", options.Cutoffs)}].", nameof(options));
        if (options.ReciprocalRankCutoff < 1)
            throw new ArgumentException($"ReciprocalRankCutoff must be ≥ 1, got {options.ReciprocalRankCutoff}.", nameof(options));
        if (!Enum.IsDefined(options.Queries))
            throw new ArgumentException($"Queries must be one of {string.Join(", ", Enum.GetNames<EvaluatedQueries>())}, got {options.Queries}.", nameof(options));
        return options.Cutoffs.Distinct().Order().ToArray();
    }

    private int CutoffIndex(int k)
    {
        for (var i = 0; i < Cutoffs.Count; i++)
        {
            if (Cutoffs[i] == k)
                return i;
        }

        throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be one of the evaluated cutoffs [{string.Join(", ", Cutoffs)}].");
    }

    /// <summary>One query's search results as document ids, without copying them.</summary>
    private sealed class RankedRows(SearchResults results, int query, IdIndex documentIds) : IReadOnlyList<string>
    {
        public int Count => results.K;

        public string this[int index] => documentIds[results.RowsOf(query)[index]];

        public IEnumerator<string> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
                yield return this[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
