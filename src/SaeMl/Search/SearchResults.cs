using System.Numerics.Tensors;
using System.Globalization;
using SaeMl.Data;
using SaeMl.Data.Npy;

namespace SaeMl.Search;

/// <summary>
/// The top-k corpus rows of each query, best first, with their inner-product scores: two row-major
/// matrices <c>[QueryCount, K]</c>. Rows are corpus row numbers; map them to document ids with an
/// <see cref="IdIndex"/>.
/// </summary>
public sealed class SearchResults
{
    private readonly long[] _rows;
    private readonly float[] _scores;

    /// <summary>Wraps result matrices; both hold <paramref name="queryCount"/> × <paramref name="k"/> values.</summary>
    public SearchResults(int queryCount, int k, long[] rows, float[] scores)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queryCount);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(scores);
        if (rows.LongLength != (long)queryCount * k || scores.LongLength != (long)queryCount * k)
            throw new ArgumentException($"Expected {queryCount} × {k} rows and scores, got {rows.LongLength} rows and {scores.LongLength} scores.");
        QueryCount = queryCount;
        K = k;
        _rows = rows;
        _scores = scores;
    }

    /// <summary>The number of queries.</summary>
    public int QueryCount { get; }

    /// <summary>Neighbors per query.</summary>
    public int K { get; }

    /// <summary>All corpus rows, row-major <c>[QueryCount, K]</c>.</summary>
    public ReadOnlySpan<long> Rows => _rows;

    /// <summary>All scores, row-major <c>[QueryCount, K]</c>.</summary>
    public ReadOnlySpan<float> Scores => _scores;

    /// <summary>The corpus rows of one query, best first.</summary>
    public ReadOnlySpan<long> RowsOf(int query) => _rows.AsSpan(checked(query * K), K);

    /// <summary>The scores of one query, best first.</summary>
    public ReadOnlySpan<float> ScoresOf(int query) => _scores.AsSpan(checked(query * K), K);

    /// <summary>
    /// Writes the rows as int64 and the scores as float32 <c>.npy</c> files, each <c>[QueryCount, K]</c>. Both are
    /// written in full under temporary names before either is renamed into place, and a failure removes both,
    /// so the pair appears together or not at all.
    /// </summary>
    public void SaveNpy(string rowsPath, string scoresPath)
    {
        using var rows = new NpyWriter(rowsPath, NpyDataType.Int64, K);
        using var scores = new NpyWriter(scoresPath, NpyDataType.Float32, K);
        rows.WriteRows(_rows);
        scores.WriteRows(_scores);
        rows.Finish(); // both whole on disk before either is renamed
        scores.Finish();
        scores.Commit();
        try
        {
            rows.Commit();
        }
        catch
        {
            File.Delete(scoresPath); // a rename that fails after the other: no half pair stays
            throw;
        }
    }

    /// <summary>
    /// Writes the results as a TREC run (<c>query-id Q0 document-id rank score tag</c>). Without an
    /// id index, query numbers and corpus row numbers stand in for ids.
    /// </summary>
    /// <param name="path">The run file.</param>
    /// <param name="queryIds">The ids of the queries, in query order; null writes 0, 1, ….</param>
    /// <param name="documentIds">The ids of the corpus rows; null writes the row numbers.</param>
    /// <param name="tag">The run tag.</param>
    /// <exception cref="ArgumentException">An index does not cover the queries or the corpus rows.</exception>
    public void WriteTrecRun(string path, IdIndex? queryIds = null, IdIndex? documentIds = null, string tag = "saeml")
    {
        CheckIds(queryIds, documentIds);

        using var writer = new TrecRunWriter(path, tag);
        for (var query = 0; query < QueryCount; query++)
        {
            var first = query * K;
            var ranking = Enumerable.Range(first, K).Select(i =>
                (documentIds?[_rows[i]] ?? _rows[i].ToString(CultureInfo.InvariantCulture), _scores[i]));
            writer.WriteRanking(queryIds?[query] ?? query.ToString(CultureInfo.InvariantCulture), ranking);
        }

        writer.Commit();
    }

    /// <summary>Checks that id indexes cover the results: one query id per query, a document id for every row named.</summary>
    /// <exception cref="ArgumentException">An index does not cover the queries or the corpus rows.</exception>
    internal void CheckIds(IdIndex? queryIds, IdIndex? documentIds)
    {
        if (queryIds is not null && queryIds.Count != QueryCount)
            throw new ArgumentException($"The query ids of '{queryIds.Source}' number {queryIds.Count}, but the results hold {QueryCount} queries.", nameof(queryIds));
        var lastRow = _rows.Length == 0 ? -1 : TensorPrimitives.Max<long>(_rows);
        if (documentIds is not null && lastRow >= documentIds.Count)
            throw new ArgumentException($"The results name corpus row {lastRow}, but '{documentIds.Source}' has only {documentIds.Count} document ids.", nameof(documentIds));
    }

    /// <summary>Reads a pair written by <see cref="SaveNpy"/>.</summary>
    /// <exception cref="FormatException">The files are not int64/float32 pairs of the same shape.</exception>
    public static SearchResults LoadNpy(string rowsPath, string scoresPath)
    {
        using var rowsFile = NpyFile.Open(rowsPath);
        using var scoresFile = NpyFile.Open(scoresPath);
        if (rowsFile.Header.DataType is not (NpyDataType.Int64 or NpyDataType.Int32))
            throw new FormatException($"'{rowsPath}' holds {rowsFile.Header.DataType} values; neighbor rows must be integers.");
        if (scoresFile.Header.DataType is not (NpyDataType.Float32 or NpyDataType.Float16))
            throw new FormatException($"'{scoresPath}' holds {scoresFile.Header.DataType} values; scores must be floating-point.");
        if (rowsFile.Rows != scoresFile.Rows || rowsFile.Columns != scoresFile.Columns)
            throw new FormatException($"'{rowsPath}' is {rowsFile.Rows} × {rowsFile.Columns} but '{scoresPath}' is {scoresFile.Rows} × {scoresFile.Columns}.");
        if (rowsFile.Rows > int.MaxValue)
            throw new FormatException($"'{rowsPath}' has {rowsFile.Rows} queries, more than one result set holds.");
        return new SearchResults((int)rowsFile.Rows, rowsFile.Columns, rowsFile.ReadAllInt64(), scoresFile.ReadAllSingles());
    }
}
