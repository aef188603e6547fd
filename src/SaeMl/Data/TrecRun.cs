using System.Globalization;

namespace SaeMl.Data;

/// <summary>One entry of a ranking: a document, its rank and its score.</summary>
/// <param name="DocumentId">The document id.</param>
/// <param name="Rank">The rank written in the run (1 is best for runs SaeMl writes).</param>
/// <param name="Score">The retrieval score.</param>
public readonly record struct RankedDocument(string DocumentId, int Rank, float Score);

/// <summary>
/// A retrieval run in TREC format, read into memory: per line
/// <c>query-id Q0 document-id rank score tag</c>, separated by spaces or tabs.
/// </summary>
/// <remarks>
/// Each query's ranking is ordered by the rank column (lines with equal ranks keep their file
/// order), so a run written by <see cref="TrecRunWriter"/> reads back in exactly the order it was
/// written. trec_eval instead re-sorts by score and breaks score ties by descending document id;
/// runs whose equal scores are ordered otherwise can therefore rank differently there.
/// A document listed twice for the same query is an error.
/// </remarks>
public sealed class TrecRun
{
    private static readonly IReadOnlyList<RankedDocument> NoRanking = [];
    private readonly Dictionary<string, List<RankedDocument>> _byQuery;

    private TrecRun(string source, Dictionary<string, List<RankedDocument>> byQuery)
    {
        Source = source;
        _byQuery = byQuery;
    }

    /// <summary>The file the run was read from.</summary>
    public string Source { get; }

    /// <summary>The number of queries with a ranking.</summary>
    public int QueryCount => _byQuery.Count;

    /// <summary>The query ids, in order of first appearance.</summary>
    public IEnumerable<string> QueryIds => _byQuery.Keys;

    /// <summary>The ranking of a query, best first (empty when the run has none for it).</summary>
    public IReadOnlyList<RankedDocument> RankingOf(string queryId) =>
        _byQuery.TryGetValue(queryId, out var ranking) ? ranking : NoRanking;

    /// <summary>Reads a TREC run file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A line does not have six fields, a rank or score does not parse, or a document repeats within a query.</exception>
    public static TrecRun Read(string path)
    {
        var lines = new Dictionary<string, List<(RankedDocument Entry, long Line)>>(StringComparer.Ordinal);
        foreach (var (number, text) in TextLines.Read(path))
        {
            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 6)
                throw new FormatException($"Line {number} of '{path}' has {fields.Length} fields; TREC run lines are 'query-id Q0 document-id rank score tag'.");
            if (!int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var rank))
                throw new FormatException($"Line {number} of '{path}' has rank '{fields[3]}', which is not an integer.");
            if (!float.TryParse(fields[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !float.IsFinite(score))
                throw new FormatException($"Line {number} of '{path}' has score '{fields[4]}', which is not a finite number.");

            if (!lines.TryGetValue(fields[0], out var entries))
                lines[fields[0]] = entries = [];
            entries.Add((new RankedDocument(fields[2], rank, score), number));
        }

        // Checked per query once the file is read, so only one query's documents are hashed at a time.
        var byQuery = new Dictionary<string, List<RankedDocument>>(lines.Count, StringComparer.Ordinal);
        var firstLine = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (query, entries) in lines)
        {
            firstLine.Clear();
            foreach (var (entry, line) in entries)
            {
                if (!firstLine.TryAdd(entry.DocumentId, line))
                    throw new FormatException($"Line {line} of '{path}' lists document '{entry.DocumentId}' for query '{query}' a second time (first on line {firstLine[entry.DocumentId]}).");
            }

            byQuery[query] = entries.OrderBy(e => e.Entry.Rank).Select(e => e.Entry).ToList(); // stable: equal ranks keep file order
        }

        return new TrecRun(path, byQuery);
    }
}
