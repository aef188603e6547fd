using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.MLNet;
using SaeMl.Search;
using SaeMl.Evaluation;

// In ML.NET's namespace, as ML.NET's own extension packages put their catalogs: `using Microsoft.ML;` is all an application needs.
namespace Microsoft.ML;

/// <summary>Retrieval evaluation over ML.NET data views, on <c>mlContext.Ranking</c>.</summary>
public static class RetrievalCatalog
{
    /// <summary>
    /// Retrieves the top documents of every query by exact inner product and evaluates the run against
    /// relevance judgements: <c>mlContext.Ranking.EvaluateRetrieval(queries, documents, qrels, "Embedding")</c>.
    /// </summary>
    /// <remarks>
    /// The vector column may hold dense embeddings (searched with <see cref="ExactSearch"/> over a
    /// temporary memory-mapped copy of the documents) or sparse vectors such as the latents of a
    /// <c>SparseAutoencode</c> transform (searched exactly through a <see cref="SparseLatentIndex"/>);
    /// the first document row decides which. Both score by the exact inner product, so the choice changes
    /// speed and memory, not the ranking (beyond the last float bits). Data views hold the whole query and
    /// document sets in memory here; for corpora of millions use <see cref="DenseRetrievalEvaluator"/> over
    /// embedding stores.
    /// </remarks>
    /// <param name="catalog">The ranking catalog.</param>
    /// <param name="queries">The queries: an id column and a vector column.</param>
    /// <param name="documents">The documents: an id column and a vector column of the same size.</param>
    /// <param name="qrels">The relevance judgements.</param>
    /// <param name="vectorColumnName">The vector column of both data views: a known-size vector of Single.</param>
    /// <param name="queryIdColumnName">The query id column (Text).</param>
    /// <param name="documentIdColumnName">The document id column (Text).</param>
    /// <param name="options">Depth and cutoffs (<see cref="RetrievalEvaluationOptions.Depth"/>, <see cref="RetrievalEvaluationOptions.Metrics"/>); null takes the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    /// <exception cref="ArgumentException">The vector sizes differ, there are no documents, ids repeat, a vector holds NaN or infinity, or the qrels judge queries that have no row.</exception>
    public static RetrievalMetrics EvaluateRetrieval(
        this RankingCatalog catalog,
        IDataView queries,
        IDataView documents,
        Qrels qrels,
        string vectorColumnName = "Embedding",
        string queryIdColumnName = "QueryId",
        string documentIdColumnName = "DocumentId",
        RetrievalEvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(qrels);
        options ??= new RetrievalEvaluationOptions();
        options.Validate();

        var queryRows = ReadRows(queries, queryIdColumnName, vectorColumnName, "queries");
        var documentRows = ReadRows(documents, documentIdColumnName, vectorColumnName, "documents");
        if (queryRows.Size != documentRows.Size)
            throw new ArgumentException($"The queries' column '{vectorColumnName}' holds vectors of size {queryRows.Size}, but the documents' holds {documentRows.Size}.", nameof(queries));
        if (documentRows.Ids.Count == 0)
            throw new ArgumentException("The documents data view has no rows; there is nothing to retrieve.", nameof(documents));

        var queryIds = IdIndex.Build(queryRows.Ids, "the queries data view");
        var documentIds = IdIndex.Build(documentRows.Ids, "the documents data view");
        var judged = qrels.RestrictTo(queryIds, documentIds, options.UnknownQueries, options.UnknownDocuments);
        var run = documentRows.Vectors[0].IsDense
            ? SearchDense(queryRows, documentRows, options)
            : SparseLatentIndex.Build([ToCodes(documentRows)], documentRows.Size).Search(ToCodes(queryRows), options.Depth);
        return RetrievalMetrics.Compute(run, queryIds, documentIds, judged, options.Metrics);
    }

    private sealed record Rows(List<string> Ids, List<VBuffer<float>> Vectors, int Size);

    private static Rows ReadRows(IDataView data, string idColumnName, string vectorColumnName, string what)
    {
        var idColumn = ColumnChecks.Find(data.Schema, idColumnName);
        if (idColumn.Type is not TextDataViewType)
            throw ColumnChecks.Mismatch(idColumnName, "Text", idColumn.Type.ToString()!);
        var vectorColumn = ColumnChecks.Find(data.Schema, vectorColumnName);
        if (vectorColumn.Type is not VectorDataViewType { ItemType: NumberDataViewType number, IsKnownSize: true } vectorType || number.RawType != typeof(float))
            throw ColumnChecks.Mismatch(vectorColumnName, "known-size Vector<Single>", vectorColumn.Type.ToString()!);

        var ids = new List<string>();
        var vectors = new List<VBuffer<float>>();
        using var cursor = data.GetRowCursor([idColumn, vectorColumn]);
        var getId = cursor.GetGetter<ReadOnlyMemory<char>>(idColumn);
        var getVector = cursor.GetGetter<VBuffer<float>>(vectorColumn);
        ReadOnlyMemory<char> id = default;
        while (cursor.MoveNext())
        {
            VBuffer<float> vector = default;
            getId(ref id);
            getVector(ref vector);
            if (vector.GetValues().Length > 0 && FiniteValues.FirstNonFiniteRow(vector.GetValues(), vector.GetValues().Length) >= 0)
                throw new ArgumentException($"Row {ids.Count} of the {what} ('{id}') has a NaN or infinite value in column '{vectorColumnName}'.");

            ids.Add(id.ToString());
            vectors.Add(vector);
        }

        return new Rows(ids, vectors, vectorType.Size);
    }

    private static SearchResults SearchDense(Rows queries, Rows documents, RetrievalEvaluationOptions options)
    {
        var folder = Directory.CreateTempSubdirectory("saeml-retrieval-");
        try
        {
            var path = Path.Combine(folder.FullName, "documents.npy");
            using (var writer = new NpyWriter(path, NpyDataType.Float32, documents.Size))
            {
                foreach (var vector in documents.Vectors)
                    writer.WriteRows(Dense(vector));
                writer.Commit();
            }

            using var corpus = EmbeddingStore.Open(path);
            var queryValues = queries.Vectors.SelectMany(Dense).ToArray();
            return ExactSearch.Search(queryValues, corpus, options.Search);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static float[] Dense(VBuffer<float> vector)
    {
        var dense = new float[vector.Length];
        vector.CopyTo(dense);
        return dense;
    }

    /// <summary>
    /// Sparse rows as codes of equal width (the most non-zeros of any row); shorter rows are padded with
    /// zero-valued entries at unused latents, which add nothing to any score and are not indexed.
    /// </summary>
    private static SparseCodes ToCodes(Rows rows)
    {
        var width = Math.Max(1, rows.Vectors.Max(v => v.GetValues().Length));
        var values = new float[rows.Vectors.Count * width];
        var indices = new int[values.Length];
        for (var row = 0; row < rows.Vectors.Count; row++)
        {
            var entries = new SortedDictionary<int, float>();
            foreach (var (index, value) in rows.Vectors[row].Items())
                entries[index] = value;
            for (var unused = 0; entries.Count < width; unused++)
                entries.TryAdd(unused, 0f);
            var position = row * width;
            foreach (var (index, value) in entries)
            {
                indices[position] = index;
                values[position++] = value;
            }
        }

        return new SparseCodes(rows.Vectors.Count, width, values, indices);
    }
}
