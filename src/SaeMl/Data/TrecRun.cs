using System.Globalization;

namespace SaeMl.Data;

/// <summary>One entry of a ranking: a document, the rank written beside it and its score.</summary>
/// <param name="DocumentId">The document id.</param>
/// <param name="Rank">The rank written in the run's fourth column (0 where it is not an integer; only <see cref="TrecRunOrder.RankColumn"/> reads it).</param>
/// <param name="Score">The retrieval score, read in double precision.</param>
public readonly record struct RankedDocument(string DocumentId, int Rank, double Score);

/// <summary>How a run's lines are put in order for each query.</summary>
public enum TrecRunOrder
{
    /// <summary>
    /// trec_eval's rule: descending score, equal scores by descending document id (ordinal order, which
    /// is <c>strcmp</c>'s for ASCII ids); the rank column is ignored. The default, so that figures equal trec_eval's on any run.
    /// </summary>
    Score,

    /// <summary>Ascending rank column, equal ranks in file order; the scores are ignored.</summary>
    RankColumn,
}

/// <summary>
/// A retrieval run in TREC format, read into memory: per line
/// <c>query-id Q0 document-id rank score tag</c>, separated by spaces or tabs; as trec_eval 10 reads
/// runs, lines starting with <c>#</c> are comments and fields after the sixth are ignored.
/// </summary>
/// <remarks>
/// Scores are kept as doubles, as trec_eval 10 reads them, so scores that differ only beyond float
/// precision do not tie. <see cref="RankingOf"/> orders a query's documents as trec_eval does by default,
/// or by the rank column on request; SaeMl's own searches order equal scores by ascending corpus row and
/// write matching ranks, so their runs read back in the searched order with
/// <see cref="TrecRunOrder.RankColumn"/>. A document listed twice for the same query is an error, as it
/// is for trec_eval.
/// </remarks>
public sealed class TrecRun
{
    private static readonly IReadOnlyList<RankedDocument> NoRanking = [];
    private readonly Dictionary<string, Orders> _byQuery;

    private readonly (long Line, string Text)? _firstBadRank;

    private TrecRun(string source, string? tag, Dictionary<string, Orders> byQuery, long lineCount, IReadOnlyList<string> rankedOtherwise, (long, string)? firstBadRank)
    {
        Source = source;
        Tag = tag;
        _byQuery = byQuery;
        LineCount = lineCount;
        QueriesRankedOtherwise = rankedOtherwise;
        _firstBadRank = firstBadRank;
    }

    /// <summary>The file the run was read from.</summary>
    public string Source { get; }

    /// <summary>The run tag: the sixth column of the last line, as trec_eval reports it (<c>runid</c>).</summary>
    public string? Tag { get; }

    /// <summary>The number of queries with a ranking.</summary>
    public int QueryCount => _byQuery.Count;

    /// <summary>The number of ranked documents over all queries (the run's non-blank lines).</summary>
    public long LineCount { get; }

    /// <summary>The query ids, in order of first appearance.</summary>
    public IEnumerable<string> QueryIds => _byQuery.Keys;

    /// <summary>
    /// The queries whose rank-column order is not trec_eval's score order: a document ranked above one with
    /// a higher score, or equal scores in another order than descending document id. For them the two
    /// orders of <see cref="TrecRunOrder"/> can give different metrics.
    /// </summary>
    public IReadOnlyList<string> QueriesRankedOtherwise { get; }

    /// <summary>The ranking of a query, best first (empty when the run has none for it).</summary>
    /// <param name="queryId">The query.</param>
    /// <param name="order">trec_eval's score order (the default) or the rank column's.</param>
    /// <exception cref="FormatException">The rank column is asked for and a line's rank is not an integer.</exception>
    public IReadOnlyList<RankedDocument> RankingOf(string queryId, TrecRunOrder order = TrecRunOrder.Score)
    {
        if (order == TrecRunOrder.RankColumn && _firstBadRank is var (line, text))
            throw new FormatException($"Line {line} of '{Source}' has rank '{text}', which is not an integer; order by score instead.");
        if (!_byQuery.TryGetValue(queryId, out var orders))
            return NoRanking;
        return order switch
        {
            TrecRunOrder.Score => orders.ByScore,
            TrecRunOrder.RankColumn => orders.ByRank,
            _ => throw new ArgumentOutOfRangeException(nameof(order), order, $"order must be one of {string.Join(", ", Enum.GetNames<TrecRunOrder>())}."),
        };
    }

    /// <summary>Reads a TREC run file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file holds no ranking; a line has fewer than six fields; a score is not a finite number; or a document repeats within a query.</exception>
    public static TrecRun Read(string path)
    {
        var lines = new Dictionary<string, List<(RankedDocument Entry, long Line)>>(StringComparer.Ordinal);
        var lineCount = 0L;
        string? tag = null;
        (long, string)? firstBadRank = null;
        foreach (var (number, text) in TextLines.Read(path))
        {
            if (text.TrimStart().StartsWith('#'))
                continue;
            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6)
                throw new FormatException($"Line {number} of '{path}' has {fields.Length} fields; TREC run lines are 'query-id Q0 document-id rank score tag'.");
            if (!int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var rank))
                firstBadRank ??= (number, fields[3]);
            if (!double.TryParse(fields[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !double.IsFinite(score))
                throw new FormatException($"Line {number} of '{path}' has score '{fields[4]}', which is not a finite number.");

            if (!lines.TryGetValue(fields[0], out var entries))
                lines[fields[0]] = entries = [];
            entries.Add((new RankedDocument(fields[2], rank, score), number));
            tag = fields[5];
            lineCount++;
        }

        if (lineCount == 0)
            throw new FormatException($"Run '{path}' holds no ranking lines; TREC run lines are 'query-id Q0 document-id rank score tag'.");

        // Checked per query once the file is read, so only one query's documents are hashed at a time.
        var byQuery = new Dictionary<string, Orders>(lines.Count, StringComparer.Ordinal);
        var rankedOtherwise = new List<string>();
        var firstLine = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (query, entries) in lines)
        {
            firstLine.Clear();
            foreach (var (entry, line) in entries)
            {
                if (!firstLine.TryAdd(entry.DocumentId, line))
                    throw new FormatException($"Line {line} of '{path}' lists document '{entry.DocumentId}' for query '{query}' a second time (first on line {firstLine[entry.DocumentId]}).");
            }

            var byRank = entries.Select(e => e.Entry).OrderBy(e => e.Rank).ToArray(); // stable: equal ranks keep file order
            var byScore = entries.Select(e => e.Entry).ToArray();
            Array.Sort(byScore, TrecEvalOrder);
            byQuery[query] = new Orders(byScore, byRank);
            if (!byRank.AsSpan().SequenceEqual(byScore))
                rankedOtherwise.Add(query);
            lines.Remove(query); // let the parsed lines go as soon as they are ordered (removing during enumeration is safe)
        }

        return new TrecRun(path, tag, byQuery, lineCount, rankedOtherwise, firstBadRank);
    }

    /// <summary>Descending score; equal scores by descending document id, compared ordinally (as trec_eval's <c>strcmp</c> does for ASCII ids).</summary>
    private static int TrecEvalOrder(RankedDocument a, RankedDocument b)
    {
        var byScore = b.Score.CompareTo(a.Score);
        return byScore != 0 ? byScore : string.CompareOrdinal(b.DocumentId, a.DocumentId);
    }

    private sealed record Orders(RankedDocument[] ByScore, RankedDocument[] ByRank);
}
