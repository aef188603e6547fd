using System.Globalization;
using SaeMl.Evaluation;

namespace SaeMl.Cli;

/// <summary>
/// trec_eval's measure names (<c>-m</c>) over <see cref="RetrievalMetrics"/>: <c>num_q</c>, <c>map</c>,
/// <c>recip_rank</c>, <c>recip_rank_cut.K</c> (what trec_eval gives as <c>recip_rank</c> with <c>-M K</c>),
/// <c>P.K</c>, <c>recall.K</c> and <c>ndcg_cut.K</c>, each family with one or more comma-separated
/// cutoffs (<c>P.5,10</c>; without them trec_eval's 5, 10, 15, 20, 30, 100, 200, 500, 1000, and 10 for
/// <c>recip_rank_cut</c>) and written <c>P_5</c> as trec_eval prints it. They are kept in trec_eval's
/// order of measures, whatever order they are named in.
/// </summary>
internal sealed class TrecMeasures
{
    /// <summary>What <c>saeml evaluate --run</c> prints when no measure is named.</summary>
    public static readonly string[] Defaults = ["num_q", "map", "recip_rank", "recip_rank_cut.10", "P.10", "recall.10", "ndcg_cut.10"];

    private static readonly string[] Families = ["num_q", "map", "recip_rank", "recip_rank_cut", "P", "recall", "ndcg_cut"];
    private static readonly string[] CutFamilies = ["P", "recall", "ndcg_cut", "recip_rank_cut"];
    private static readonly int[] TrecEvalCutoffs = [5, 10, 15, 20, 30, 100, 200, 500, 1000];
    private readonly List<(string Family, int Cutoff)> _measures;

    private TrecMeasures(List<(string Family, int Cutoff)> measures) => _measures = measures;

    /// <summary>The measures' printed names, in order (<c>P_10</c>, <c>map</c>).</summary>
    public IEnumerable<string> Names => _measures.Select(m => Name(m.Family, m.Cutoff));

    /// <summary>The cutoffs the metrics must be computed at.</summary>
    public RetrievalMetricsOptions Options(EvaluatedQueries queries)
    {
        var cutoffs = _measures.Where(m => m.Family is "P" or "recall" or "ndcg_cut").Select(m => m.Cutoff).Distinct().Order().ToArray();
        return new RetrievalMetricsOptions
        {
            Cutoffs = cutoffs.Length == 0 ? RetrievalMetricsOptions.Defaults.Cutoffs : cutoffs,
            ReciprocalRankCutoff = _measures.Where(m => m.Family == "recip_rank_cut").Select(m => m.Cutoff)
                .DefaultIfEmpty(RetrievalMetricsOptions.Defaults.ReciprocalRankCutoff).First(),
            Queries = queries,
        };
    }

    /// <summary>Parses <c>-m</c> values.</summary>
    /// <exception cref="UsageException">A name is not one of the measures, or a cutoff is not a positive integer.</exception>
    public static TrecMeasures Parse(IEnumerable<string> specifications)
    {
        var measures = new List<(string Family, int Cutoff)>();
        foreach (var specification in specifications)
        {
            var dot = specification.IndexOf('.');
            var underscore = specification.LastIndexOf('_');
            var (family, cutoffs) = dot >= 0
                ? (specification[..dot], specification[(dot + 1)..])
                : underscore > 0 && char.IsAsciiDigit(specification[^1]) ? (specification[..underscore], specification[(underscore + 1)..]) : (specification, "");
            if (family is "num_q" or "map" or "recip_rank" && cutoffs.Length == 0)
            {
                measures.Add((family, 0));
                continue;
            }

            if (!CutFamilies.Contains(family))
                throw new UsageException($"--measure '{specification}' is not a measure; use num_q, map, recip_rank, recip_rank_cut.K, P.K, recall.K or ndcg_cut.K (cutoffs comma-separated).");
            if (cutoffs.Length == 0)
            {
                measures.AddRange(family == "recip_rank_cut" ? [(family, RetrievalMetricsOptions.Defaults.ReciprocalRankCutoff)] : TrecEvalCutoffs.Select(k => (family, k)));
                continue;
            }

            foreach (var text in cutoffs.Split(','))
            {
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var cutoff) || cutoff < 1)
                    throw new UsageException($"--measure '{specification}' needs cutoffs that are positive integers, such as {family}.10 or {family}.5,10.");
                measures.Add((family, cutoff));
            }
        }

        var cuts = measures.Where(m => m.Family == "recip_rank_cut").Select(m => m.Cutoff).Distinct().ToArray();
        if (cuts.Length > 1)
            throw new UsageException($"--measure asks for recip_rank_cut at {string.Join(" and ", cuts)}; one cutoff per run is supported.");
        return new TrecMeasures(measures.Distinct().OrderBy(m => Array.IndexOf(Families, m.Family)).ThenBy(m => m.Cutoff).ToList());
    }

    /// <summary>The measures' values over all evaluated queries, in <see cref="Names"/> order.</summary>
    public IEnumerable<(string Name, double Value)> Summary(RetrievalMetrics metrics) =>
        _measures.Select(m => (Name(m.Family, m.Cutoff), m.Family switch
        {
            "num_q" => metrics.QueryCount,
            "map" => metrics.MeanAveragePrecision,
            "recip_rank" => metrics.MeanReciprocalRank,
            "recip_rank_cut" => metrics.MeanReciprocalRankAtCutoff,
            "P" => metrics.PrecisionAt(m.Cutoff),
            "recall" => metrics.RecallAt(m.Cutoff),
            _ => metrics.NdcgAt(m.Cutoff),
        }));

    /// <summary>One query's values, in <see cref="Names"/> order (<c>num_q</c> is left out, as trec_eval's <c>-q</c> does).</summary>
    public IEnumerable<(string Name, double Value)> OfQuery(RetrievalMetrics metrics, QueryMetrics query) =>
        _measures.Where(m => m.Family != "num_q").Select(m => (Name(m.Family, m.Cutoff), m.Family switch
        {
            "map" => query.AveragePrecision,
            "recip_rank" => query.ReciprocalRank,
            "recip_rank_cut" => query.ReciprocalRankAtCutoff,
            "P" => query.Precision[Index(metrics, m.Cutoff)],
            "recall" => query.Recall[Index(metrics, m.Cutoff)],
            _ => query.Ndcg[Index(metrics, m.Cutoff)],
        }));

    /// <summary>
    /// A line as trec_eval prints it: the name padded to 22, the query, the value to 4 decimals (counts as
    /// integers), rounded as C's <c>printf("%6.4f")</c> rounds: the exact binary value, halves to even.
    /// </summary>
    public static string Line(string name, string query, double value)
    {
        if (name == "num_q")
            return Line(name, query, value.ToString("0", CultureInfo.InvariantCulture));

        // The metrics lie in [0, 1], where 25 decimals show every double exactly enough to tell a true half.
        var exact = decimal.Parse(value.ToString("F25", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return Line(name, query, Math.Round(exact, 4, MidpointRounding.ToEven).ToString("0.0000", CultureInfo.InvariantCulture));
    }

    /// <summary>A line with a text value, such as <c>runid</c>'s.</summary>
    public static string Line(string name, string query, string value) => $"{name,-22}\t{query}\t{value}";

    private static int Index(RetrievalMetrics metrics, int cutoff)
    {
        for (var i = 0; i < metrics.Cutoffs.Count; i++)
        {
            if (metrics.Cutoffs[i] == cutoff)
                return i;
        }

        throw new InvalidOperationException($"Cutoff {cutoff} was not evaluated.");
    }

    private static string Name(string family, int cutoff) => cutoff == 0 ? family : $"{family}_{cutoff}";
}
