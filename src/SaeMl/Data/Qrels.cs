using System.Globalization;

namespace SaeMl.Data;

/// <summary>What to do with a judgement that names a query or document outside the known set.</summary>
public enum UnknownIdHandling
{
    /// <summary>Fail with an error listing some of the unknown ids.</summary>
    Error,

    /// <summary>Drop the judgement and count it in <see cref="Qrels.SkippedJudgements"/>.</summary>
    Skip,
}

/// <summary>One relevance judgement: a query, a document and its grade (relevant when ≥ 1).</summary>
/// <param name="QueryId">The query id.</param>
/// <param name="DocumentId">The document id.</param>
/// <param name="Grade">The relevance grade; 0 and below mean not relevant.</param>
public readonly record struct Judgement(string QueryId, string DocumentId, int Grade);

/// <summary>
/// Relevance judgements: for each query, the grade of each judged document. Unjudged documents
/// count as not relevant; a document is relevant when its grade is at least 1.
/// </summary>
/// <remarks>
/// A (query, document) pair judged twice with the same grade is kept once; with different grades it
/// is a <see cref="FormatException"/> naming the line.
/// </remarks>
public sealed class Qrels
{
    private static readonly IReadOnlyDictionary<string, int> NoJudgements = new Dictionary<string, int>();
    private readonly Dictionary<string, Dictionary<string, int>> _byQuery;

    private Qrels(string source, Dictionary<string, Dictionary<string, int>> byQuery, long skippedJudgements)
    {
        Source = source;
        _byQuery = byQuery;
        SkippedJudgements = skippedJudgements;
        JudgementCount = byQuery.Values.Sum(d => (long)d.Count);
    }

    /// <summary>Where the judgements came from (a file name), for messages.</summary>
    public string Source { get; }

    /// <summary>The number of judged queries.</summary>
    public int QueryCount => _byQuery.Count;

    /// <summary>The number of (query, document) judgements.</summary>
    public long JudgementCount { get; }

    /// <summary>Judgements dropped by <see cref="RestrictTo"/> because they named unknown ids.</summary>
    public long SkippedJudgements { get; }

    /// <summary>The judged query ids, in order of first appearance.</summary>
    public IEnumerable<string> QueryIds => _byQuery.Keys;

    /// <summary>The grades of the documents judged for a query (empty when the query is not judged).</summary>
    public IReadOnlyDictionary<string, int> JudgementsOf(string queryId) =>
        _byQuery.TryGetValue(queryId, out var judgements) ? judgements : NoJudgements;

    /// <summary>The documents judged relevant to a query: grade 1 or more, trec_eval's rule (none when the query is not judged).</summary>
    public IEnumerable<string> RelevantDocuments(string queryId) => JudgementsOf(queryId).Where(j => j.Value >= 1).Select(j => j.Key);

    /// <summary>The number of documents with grade ≥ 1 for a query.</summary>
    public int RelevantCount(string queryId) => RelevantDocuments(queryId).Count();

    /// <summary>Builds qrels from judgements held in memory.</summary>
    /// <exception cref="FormatException">A pair is judged twice with different grades.</exception>
    public static Qrels FromJudgements(IEnumerable<Judgement> judgements, string source = "qrels")
    {
        ArgumentNullException.ThrowIfNull(judgements);
        var builder = new Builder(source);
        var index = 0L;
        foreach (var judgement in judgements)
            builder.Add(judgement, $"Judgement {index++}");
        return builder.ToQrels();
    }

    /// <summary>
    /// Reads qrels in either layout, told apart by the first line: three tab-separated fields are BEIR's
    /// <c>.tsv</c> (<see cref="ReadTsv"/>), four whitespace-separated fields TREC's (<see cref="ReadTrec"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The first line is in neither layout, or a later line breaks the layout.</exception>
    public static Qrels Read(string path)
    {
        foreach (var (number, text) in TextLines.Read(path))
        {
            if (text.Split('\t').Length == 3)
                return ReadTsv(path);
            if (text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length == 4)
                return ReadTrec(path);
            throw new FormatException($"Line {number} of '{path}' is neither a BEIR qrels line ('query-id<TAB>corpus-id<TAB>score') nor a TREC one ('query-id iteration document-id grade').");
        }

        return FromJudgements([], path);
    }

    /// <summary>
    /// Reads TREC qrels (MS MARCO's format): per line <c>query-id iteration document-id grade</c>,
    /// separated by spaces or tabs; the iteration column is ignored.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A line does not have four fields or its grade is not an integer.</exception>
    public static Qrels ReadTrec(string path)
    {
        var builder = new Builder(path);
        foreach (var (number, text) in TextLines.Read(path))
        {
            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 4)
                throw new FormatException($"Line {number} of '{path}' has {fields.Length} fields; TREC qrels lines are 'query-id iteration document-id grade'.");
            builder.Add(new Judgement(fields[0], fields[2], ParseGrade(fields[3], path, number)), $"Line {number}");
        }

        return builder.ToQrels();
    }

    /// <summary>
    /// Reads BEIR qrels: tab-separated <c>query-id corpus-id score</c> with a header row (a first
    /// line whose score is not an integer is taken as the header).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A line does not have three fields or its score is not an integer.</exception>
    public static Qrels ReadTsv(string path)
    {
        var builder = new Builder(path);
        var first = true;
        foreach (var (number, text) in TextLines.Read(path))
        {
            var fields = text.Split('\t');
            if (fields.Length != 3)
                throw new FormatException($"Line {number} of '{path}' has {fields.Length} tab-separated fields; BEIR qrels lines are 'query-id<TAB>corpus-id<TAB>score'.");
            var isHeader = first && !int.TryParse(fields[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
            first = false;
            if (!isHeader)
                builder.Add(new Judgement(fields[0].Trim(), fields[1].Trim(), ParseGrade(fields[2], path, number)), $"Line {number}");
        }

        return builder.ToQrels();
    }

    /// <summary>
    /// Keeps the judgements whose query (and, when <paramref name="documents"/> is given, document)
    /// is known, handling the others as asked.
    /// </summary>
    /// <param name="queries">The queries that exist (e.g. the ids of the query store).</param>
    /// <param name="documents">The documents that exist; null keeps every document.</param>
    /// <param name="unknownQueries">What to do with judgements of unknown queries (an error by default).</param>
    /// <param name="unknownDocuments">What to do with judgements of unknown documents (skipped and counted by default).</param>
    /// <exception cref="FormatException">An unknown id was found and its handling is <see cref="UnknownIdHandling.Error"/>.</exception>
    public Qrels RestrictTo(
        IdIndex queries,
        IdIndex? documents = null,
        UnknownIdHandling unknownQueries = UnknownIdHandling.Error,
        UnknownIdHandling unknownDocuments = UnknownIdHandling.Skip)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var missingQueries = _byQuery.Keys.Where(q => !queries.TryGetRow(q, out _)).ToList();
        if (missingQueries.Count > 0 && unknownQueries == UnknownIdHandling.Error)
            throw UnknownIds(missingQueries, "queries", queries.Source);

        var missingDocuments = documents is null
            ? []
            : _byQuery.Values.SelectMany(d => d.Keys).Distinct().Where(d => !documents.TryGetRow(d, out _)).ToList();
        if (missingDocuments.Count > 0 && unknownDocuments == UnknownIdHandling.Error)
            throw UnknownIds(missingDocuments, "documents", documents!.Source);

        var droppedQueries = missingQueries.ToHashSet(StringComparer.Ordinal);
        var droppedDocuments = missingDocuments.ToHashSet(StringComparer.Ordinal);
        var kept = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var skipped = SkippedJudgements;
        foreach (var (query, judgements) in _byQuery)
        {
            if (droppedQueries.Contains(query))
            {
                skipped += judgements.Count;
                continue;
            }

            var keptJudgements = judgements.Where(j => !droppedDocuments.Contains(j.Key)).ToDictionary(StringComparer.Ordinal);
            skipped += judgements.Count - keptJudgements.Count;
            if (keptJudgements.Count > 0)
                kept[query] = keptJudgements;
        }

        return new Qrels(Source, kept, skipped);
    }

    private FormatException UnknownIds(List<string> ids, string kind, string knownSource) => new(
        $"Qrels '{Source}' judge {ids.Count} {kind} that are not in '{knownSource}' "
        + $"(e.g. {string.Join(", ", ids.Take(3).Select(id => $"'{id}'"))}); skip unknown {kind} to drop those judgements "
        + $"(UnknownIdHandling.Skip; saeml evaluate --unknown-{kind} skip).");

    private static int ParseGrade(string text, string path, long line) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var grade)
            ? grade
            : throw new FormatException($"Line {line} of '{path}' has grade '{text}', which is not an integer.");

    private sealed class Builder(string source)
    {
        private readonly Dictionary<string, Dictionary<string, int>> _byQuery = new(StringComparer.Ordinal);

        public void Add(Judgement judgement, string location)
        {
            if (judgement.QueryId.Length == 0 || judgement.DocumentId.Length == 0)
                throw new FormatException($"{location} of '{source}' has an empty query or document id.");
            if (!_byQuery.TryGetValue(judgement.QueryId, out var judgements))
                _byQuery[judgement.QueryId] = judgements = new Dictionary<string, int>(StringComparer.Ordinal);
            if (judgements.TryGetValue(judgement.DocumentId, out var earlier) && earlier != judgement.Grade)
            {
                throw new FormatException(
                    $"{location} of '{source}' grades document '{judgement.DocumentId}' for query '{judgement.QueryId}' {judgement.Grade}, but an earlier judgement graded it {earlier}.");
            }

            judgements[judgement.DocumentId] = judgement.Grade;
        }

        public Qrels ToQrels() => new(source, _byQuery, skippedJudgements: 0);
    }
}
