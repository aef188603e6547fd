using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Autoencoder;

/// <summary>
/// What a sparse autoencoder trains on: query embeddings and, for each query, its neighbor documents'
/// embeddings (found by exact search over the ORIGINAL embeddings, best first). Either streamed from
/// embedding stores, or held in memory.
/// </summary>
public sealed class SaeTrainingData : IDisposable
{
    private readonly QueryReader _readQuery;
    private readonly DocumentReader _readDocument;
    private readonly IDisposable[] _owned;

    private SaeTrainingData(int queryCount, int dimension, int neighborsAvailable, string source, string neighborsSource, QueryReader readQuery, DocumentReader readDocument, params IDisposable[] owned)
    {
        _owned = owned;
        QueryCount = queryCount;
        Dimension = dimension;
        NeighborsAvailable = neighborsAvailable;
        Source = source;
        NeighborsSource = neighborsSource;
        _readQuery = readQuery;
        _readDocument = readDocument;
    }

    private delegate void QueryReader(int query, Span<float> destination);

    private delegate void DocumentReader(int query, int neighbor, Span<float> destination);

    /// <summary>The number of queries.</summary>
    public int QueryCount { get; }

    /// <summary>d, the embedding size.</summary>
    public int Dimension { get; }

    /// <summary>Neighbor documents known per query (the pool; training uses the first M).</summary>
    public int NeighborsAvailable { get; }

    /// <summary>What the queries came from, for messages.</summary>
    public string Source { get; }

    /// <summary>What the neighbor lists came from (the <c>.ids.npy</c> file, say), for messages.</summary>
    public string NeighborsSource { get; }

    /// <summary>
    /// Training data from stores: query row i's neighbors are the corpus rows of row i of
    /// <paramref name="neighbors"/> (e.g. <see cref="ExactSearch"/> of the queries against the corpus).
    /// The stores stay open and are read batch by batch.
    /// </summary>
    /// <exception cref="ArgumentException">The stores disagree on dimension or row counts, or a neighbor row is outside the corpus.</exception>
    public static SaeTrainingData FromStores(EmbeddingStore queries, EmbeddingStore corpus, SearchResults neighbors)
    {
        ArgumentNullException.ThrowIfNull(neighbors);
        return FromStores(queries, corpus, neighbors.Rows.ToArray(), neighbors.QueryCount, neighbors.K, "neighbor lists");
    }

    /// <summary>
    /// Opens training data from files: a query store, a corpus store (each a <c>.npy</c> file or a folder
    /// of shards), and the neighbor rows written by <c>saeml neighbors</c> (<c>&lt;prefix&gt;.ids.npy</c>,
    /// int64 <c>[queries, pool]</c>). Disposing the data closes the stores.
    /// </summary>
    /// <exception cref="ArgumentException">The files disagree on dimension or row counts, or a neighbor row is outside the corpus.</exception>
    public static SaeTrainingData OpenStores(string queriesPath, string corpusPath, string neighborRowsPath)
    {
        long[] rows;
        int queryCount, pool;
        using (var file = NpyFile.Open(neighborRowsPath))
        {
            if (file.Header.DataType is not (NpyDataType.Int64 or NpyDataType.Int32))
                throw new FormatException($"'{neighborRowsPath}' holds {file.Header.DataType} values; neighbor rows must be integers.");
            (rows, queryCount, pool) = (file.ReadAllInt64(), checked((int)file.Rows), file.Columns);
        }

        var queries = EmbeddingStore.Open(queriesPath);
        try
        {
            var corpus = EmbeddingStore.Open(corpusPath);
            try
            {
                return FromStores(queries, corpus, rows, queryCount, pool, neighborRowsPath, queries, corpus);
            }
            catch
            {
                corpus.Dispose();
                throw;
            }
        }
        catch
        {
            queries.Dispose();
            throw;
        }
    }

    private static SaeTrainingData FromStores(EmbeddingStore queries, EmbeddingStore corpus, long[] rows, int queryCount, int pool, string neighborsName, params IDisposable[] owned)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        if (queries.Dimension != corpus.Dimension)
            throw new ArgumentException($"Query store '{queries.Name}' has dimension {queries.Dimension}, but corpus store '{corpus.Name}' has dimension {corpus.Dimension}.", nameof(queries));
        if (queryCount != queries.RowCount)
            throw new ArgumentException($"The neighbor lists of '{neighborsName}' cover {queryCount} queries, but query store '{queries.Name}' has {queries.RowCount}.", nameof(queries));
        foreach (var row in rows)
        {
            if (row < 0 || row >= corpus.RowCount)
                throw new ArgumentException($"'{neighborsName}' names corpus row {row}, outside corpus store '{corpus.Name}' ({corpus.RowCount} rows).", nameof(corpus));
        }

        return new SaeTrainingData(
            queryCount,
            queries.Dimension,
            pool,
            queries.Name,
            neighborsName,
            (query, destination) => queries.ReadRows(query, destination),
            (query, neighbor, destination) => corpus.ReadRows(rows[(long)query * pool + neighbor], destination),
            owned);
    }

    /// <summary>
    /// Rows in memory whose neighbors are rows of <paramref name="documents"/> (the rows themselves when null), named by
    /// <paramref name="neighborRows"/> (<c>[rows, neighbors]</c>): only the row numbers are held, never copies of the documents.
    /// </summary>
    internal static SaeTrainingData FromArrayWithNeighborRows(float[] queries, int dimension, long[] neighborRows, int neighbors, EmbeddingStore? documents, string source, string neighborsSource)
    {
        var queryCount = queries.Length / dimension;
        ReadOnlySpan<float> Row(long row) => queries.AsSpan(checked((int)(row * dimension)), dimension);
        return new SaeTrainingData(
            queryCount,
            dimension,
            neighbors,
            source,
            neighborsSource,
            (query, destination) => Row(query).CopyTo(destination),
            documents is null
                ? (query, neighbor, destination) => Row(neighborRows[(long)query * neighbors + neighbor]).CopyTo(destination)
                : (query, neighbor, destination) => documents.ReadRows(neighborRows[(long)query * neighbors + neighbor], destination),
            documents is null ? [] : [documents]);
    }

    /// <summary>Training data in memory: queries <c>[Q, d]</c> and, optionally, their documents <c>[Q, M, d]</c>, row-major.</summary>
    /// <exception cref="ArgumentException">The arrays do not fit the dimension and neighbor count.</exception>
    public static SaeTrainingData FromArrays(float[] queries, int dimension, float[]? documents = null, int neighborsPerQuery = 0, string source = "training data")
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (queries.Length % dimension != 0)
            throw new ArgumentException($"The queries hold {queries.Length} values, not a whole number of vectors of dimension {dimension}.", nameof(queries));
        var queryCount = queries.Length / dimension;
        if (documents is null ? neighborsPerQuery != 0 : documents.LongLength != (long)queryCount * neighborsPerQuery * dimension)
            throw new ArgumentException($"{queryCount} queries with {neighborsPerQuery} documents each of dimension {dimension} need {(long)queryCount * neighborsPerQuery * dimension} document values, got {documents?.LongLength ?? 0}.", nameof(documents));
        return new SaeTrainingData(
            queryCount,
            dimension,
            neighborsPerQuery,
            source,
            source,
            (query, destination) => queries.AsSpan(query * dimension, dimension).CopyTo(destination),
            (query, neighbor, destination) => documents!.AsSpan(checked((query * neighborsPerQuery + neighbor) * dimension), dimension).CopyTo(destination));
    }

    /// <summary>A view of the first <paramref name="count"/> queries and their neighbors (for studies of the training budget); disposing it closes nothing.</summary>
    internal SaeTrainingData FirstQueries(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return new SaeTrainingData(Math.Min(count, QueryCount), Dimension, NeighborsAvailable, $"{Source} (first {count} queries)", NeighborsSource, _readQuery, _readDocument);
    }

    /// <summary>Closes the stores this data opened (none when it was given open stores or arrays).</summary>
    public void Dispose()
    {
        foreach (var owned in _owned)
            owned.Dispose();
    }

    /// <summary>Copies the given queries, then their first <paramref name="neighbors"/> documents each, into row-major buffers.</summary>
    internal void Read(IReadOnlyList<int> queries, int neighbors, Span<float> queryValues, Span<float> documentValues)
    {
        for (var i = 0; i < queries.Count; i++)
        {
            _readQuery(queries[i], queryValues.Slice(i * Dimension, Dimension));
            for (var j = 0; j < neighbors; j++)
                _readDocument(queries[i], j, documentValues.Slice((i * neighbors + j) * Dimension, Dimension));
        }
    }
}
