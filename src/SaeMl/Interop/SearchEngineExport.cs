using System.Text.Json;
using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Interop;

/// <summary>The search engines whose sparse-vector formats <see cref="SearchEngineExport"/> writes.</summary>
public enum SparseSearchEngine
{
    /// <summary>Elasticsearch 8.15 or later: a <c>sparse_vector</c> field, searched with the <c>sparse_vector</c> query (token pruning off).</summary>
    Elasticsearch,

    /// <summary>OpenSearch 1.1 or later (or Elasticsearch 7.12 or later): a <c>rank_features</c> field, searched with a sum of linear <c>rank_feature</c> queries.</summary>
    OpenSearch,

    /// <summary>Qdrant: a named sparse vector, searched with the Query API.</summary>
    Qdrant,
}

/// <summary>Names and batching of <see cref="SearchEngineExport"/>.</summary>
public sealed class SearchEngineExportOptions
{
    /// <summary>The index (Elasticsearch, OpenSearch) the bulk and search lines name; Qdrant's collection is named in the URL instead.</summary>
    public string IndexName = "saeml";

    /// <summary>The field (or Qdrant's sparse vector name) that holds the latents.</summary>
    public string FieldName = "latents";

    /// <summary>Vectors encoded at a time; memory holds one batch whatever the store's size.</summary>
    public int BatchRows = 4096;

    /// <summary>Checks the names and the batch size.</summary>
    /// <exception cref="ArgumentException">A name is empty, the field holds a dot, the index is not a valid Elasticsearch index name, or BatchRows is below 1.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(IndexName) || string.IsNullOrWhiteSpace(FieldName) || FieldName.Contains('.'))
            throw new ArgumentException($"IndexName and FieldName must be non-empty and FieldName must hold no dot; got '{IndexName}' and '{FieldName}'.");
        if (IndexName != IndexName.ToLowerInvariant() || IndexName.StartsWith('-') || IndexName.StartsWith('_') || IndexName.IndexOfAny(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) >= 0)
            throw new ArgumentException($"IndexName '{IndexName}' is not an Elasticsearch index name: lowercase, not starting with '-' or '_', none of \\ / * ? \" < > | , # : or space.");
        if (BatchRows < 1)
            throw new ArgumentException($"BatchRows must be at least 1, got {BatchRows}.");
    }
}

/// <summary>
/// Writes a corpus's sparse latents for a search engine to serve, streamed batch by batch: Elasticsearch
/// and OpenSearch bulk NDJSON (the latent index as the feature's string key), Qdrant points as JSON
/// lines, the index definition, and the search request for each query's latents.
/// </summary>
/// <remarks>
/// <para>Elasticsearch's <c>sparse_vector</c> and OpenSearch's <c>rank_features</c> fields are Lucene
/// feature fields: they hold positive normal floats only, and keep 9 significant bits of each (the rest is
/// cut off, a relative loss below 0.4 %); <see cref="StoredFeatureValue"/> gives the value they keep.
/// Latents of 0 (a TopK latent whose ReLU is 0) and values below the smallest normal float are left out
/// of every export: they add nothing to a dot product. Qdrant keeps float32 values exactly.</para>
/// <para>Each engine then scores a document by the dot product of the query's latents with the stored
/// ones, which is SaeMl's latent-space retrieval.</para>
/// </remarks>
public static class SearchEngineExport
{
    /// <summary>The smallest positive normal float (2⁻¹²⁶); Lucene's feature fields hold nothing smaller.</summary>
    private const float SmallestNormal = 1.17549435E-38f;

    /// <summary>The value a Lucene feature field keeps of <paramref name="value"/> (9 significant bits, truncated), or 0 where it holds none.</summary>
    /// <param name="value">A latent value.</param>
    public static float StoredFeatureValue(float value) =>
        !IsExported(value)
            ? 0f
            : BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(value) & ~0x7FFF);

    /// <summary>The JSON that creates the index or collection: Elasticsearch's or OpenSearch's mapping, or Qdrant's collection body.</summary>
    /// <param name="engine">The search engine.</param>
    /// <param name="options">The field name; null takes the defaults.</param>
    public static string IndexDefinition(SparseSearchEngine engine, SearchEngineExportOptions? options = null)
    {
        options ??= new SearchEngineExportOptions();
        options.Validate();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            if (engine == SparseSearchEngine.Qdrant)
            {
                json.WriteStartObject("sparse_vectors");
                json.WriteStartObject(options.FieldName);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            else
            {
                json.WriteStartObject("mappings");
                json.WriteStartObject("properties");
                json.WriteStartObject(options.FieldName);
                json.WriteString("type", engine == SparseSearchEngine.Elasticsearch ? "sparse_vector" : "rank_features");
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Encodes the corpus and writes one document per row, in row order: for Elasticsearch and OpenSearch
    /// a bulk action line (<c>index</c>, the document id as <c>_id</c>) and a source line holding the latents;
    /// for Qdrant one point per line (the row as its id, the document id in the payload's <c>doc_id</c>).
    /// </summary>
    /// <param name="engine">The search engine.</param>
    /// <param name="autoencoder">Encodes the corpus.</param>
    /// <param name="corpus">The corpus embeddings.</param>
    /// <param name="documentIds">The ids of the corpus rows.</param>
    /// <param name="output">Receives the lines (UTF-8, one JSON object per line); left open.</param>
    /// <param name="options">Index and field names, batch size; null takes the defaults.</param>
    /// <param name="progress">Receives the rows written after each batch.</param>
    /// <param name="cancellationToken">Checked before each batch.</param>
    /// <returns>The number of documents written.</returns>
    /// <exception cref="ArgumentException">The store's dimension is not the autoencoder's, the ids do not match its rows, or an option is out of range.</exception>
    public static long WriteDocuments(
        SparseSearchEngine engine,
        SparseAutoencoder autoencoder,
        EmbeddingStore corpus,
        IdIndex documentIds,
        Stream output,
        SearchEngineExportOptions? options = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options = Check(autoencoder, corpus, documentIds, output, options);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        var row = 0L;
        foreach (var (_, codes, _) in autoencoder.EncodeStore(corpus, options.BatchRows, cancellationToken: cancellationToken))
        {
            for (var i = 0; i < codes.Rows; i++, row++)
            {
                var id = documentIds[checked((int)row)];
                if (engine == SparseSearchEngine.Qdrant)
                {
                    json.WriteStartObject();
                    json.WriteNumber("id", row);
                    json.WriteStartObject("vector");
                    WriteQdrantVector(json, options.FieldName, codes.IndicesOf(i), codes.ValuesOf(i));
                    json.WriteEndObject();
                    json.WriteStartObject("payload");
                    json.WriteString("doc_id", id);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteStartObject();
                    json.WriteStartObject("index");
                    json.WriteString("_index", options.IndexName);
                    json.WriteString("_id", id);
                    json.WriteEndObject();
                    json.WriteEndObject();
                    EndLine(json, output);
                    json.WriteStartObject();
                    WriteFeatures(json, options.FieldName, codes.IndicesOf(i), codes.ValuesOf(i));
                    json.WriteEndObject();
                }

                EndLine(json, output);
            }

            progress?.Report(row);
        }

        return row;
    }

    /// <summary>
    /// Encodes the queries and writes one search request per row, in row order, each asking for the
    /// <paramref name="size"/> best documents by the dot product of latents: Elasticsearch's and
    /// OpenSearch's as <c>_msearch</c> NDJSON (a header line naming the index, then the body), Qdrant's as
    /// one Query API request per line (POST them together to <c>points/query/batch</c> as <c>searches</c>).
    /// </summary>
    /// <param name="engine">The search engine.</param>
    /// <param name="autoencoder">Encodes the queries.</param>
    /// <param name="queries">The query embeddings.</param>
    /// <param name="size">Documents each request asks for.</param>
    /// <param name="output">Receives the lines; left open.</param>
    /// <param name="options">Index and field names, batch size; null takes the defaults.</param>
    /// <param name="cancellationToken">Checked before each batch.</param>
    /// <returns>The number of queries written. A query with no positive latent asks for <c>match_none</c> (Elasticsearch, OpenSearch) or an empty vector (Qdrant): nothing scores.</returns>
    /// <exception cref="ArgumentException">The store's dimension is not the autoencoder's, <paramref name="size"/> is below 1, or an option is out of range.</exception>
    public static long WriteQueries(
        SparseSearchEngine engine,
        SparseAutoencoder autoencoder,
        EmbeddingStore queries,
        int size,
        Stream output,
        SearchEngineExportOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options = Check(autoencoder, queries, null, output, options);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        var rows = 0L;
        foreach (var (_, codes, _) in autoencoder.EncodeStore(queries, options.BatchRows, cancellationToken: cancellationToken))
        {
            for (var i = 0; i < codes.Rows; i++, rows++)
            {
                var indices = codes.IndicesOf(i);
                var values = codes.ValuesOf(i);
                if (engine == SparseSearchEngine.Qdrant)
                {
                    json.WriteStartObject();
                    json.WriteStartObject("query");
                    WriteIndicesAndValues(json, indices, values);
                    json.WriteEndObject();
                    json.WriteString("using", options.FieldName);
                    json.WriteNumber("limit", size);
                    json.WriteBoolean("with_payload", true);
                    json.WriteEndObject();
                    EndLine(json, output);
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("index", options.IndexName);
                json.WriteEndObject();
                EndLine(json, output);
                json.WriteStartObject();
                json.WriteNumber("size", size);
                json.WriteStartObject("query");
                var kept = 0;
                foreach (var value in values)
                    kept += IsExported(value) ? 1 : 0;
                if (kept == 0)
                {
                    // No latent fires: nothing can score, and an empty bool query would match every document.
                    json.WriteStartObject("match_none");
                    json.WriteEndObject();
                }
                else if (engine == SparseSearchEngine.Elasticsearch)
                {
                    json.WriteStartObject("sparse_vector");
                    json.WriteString("field", options.FieldName);
                    json.WriteStartObject("query_vector");
                    WriteKeyedValues(json, indices, values);
                    json.WriteEndObject();
                    json.WriteBoolean("prune", false); // newer Elasticsearch prunes query tokens by default, which would not be the dot product
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteStartObject("bool");
                    json.WriteStartArray("should");
                    for (var j = 0; j < indices.Length; j++)
                    {
                        if (!IsExported(values[j]))
                            continue;
                        json.WriteStartObject();
                        json.WriteStartObject("rank_feature");
                        json.WriteString("field", $"{options.FieldName}.{indices[j]}");
                        json.WriteNumber("boost", values[j]);
                        json.WriteStartObject("linear");
                        json.WriteEndObject();
                        json.WriteEndObject();
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndObject();
                json.WriteEndObject();
                EndLine(json, output);
            }
        }

        return rows;
    }

    /// <summary>Whether a latent value goes into an export: positive, normal and finite.</summary>
    private static bool IsExported(float value) => value >= SmallestNormal && value <= float.MaxValue;

    private static SearchEngineExportOptions Check(SparseAutoencoder autoencoder, EmbeddingStore store, IdIndex? ids, Stream output, SearchEngineExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new SearchEngineExportOptions();
        options.Validate();
        if (store.Dimension != autoencoder.Dimension)
            throw new ArgumentException($"Embedding store '{store.Name}' has dimension {store.Dimension}; the autoencoder reads {autoencoder.Dimension}.", nameof(store));
        if (ids is not null && ids.Count != store.RowCount)
            throw new ArgumentException($"Embedding store '{store.Name}' has {store.RowCount:N0} vectors but '{ids.Source}' names {ids.Count:N0} documents; they must match row for row.", nameof(ids));
        return options;
    }

    private static void WriteFeatures(Utf8JsonWriter json, string field, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        json.WriteStartObject(field);
        WriteKeyedValues(json, indices, values);
        json.WriteEndObject();
    }

    private static void WriteKeyedValues(Utf8JsonWriter json, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        Span<char> key = stackalloc char[11];
        for (var j = 0; j < indices.Length; j++)
        {
            if (!IsExported(values[j]))
                continue;
            indices[j].TryFormat(key, out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
            json.WriteNumber(key[..written], values[j]);
        }
    }

    private static void WriteQdrantVector(Utf8JsonWriter json, string name, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        json.WriteStartObject(name);
        WriteIndicesAndValues(json, indices, values);
        json.WriteEndObject();
    }

    private static void WriteIndicesAndValues(Utf8JsonWriter json, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        json.WriteStartArray("indices");
        for (var j = 0; j < indices.Length; j++)
        {
            if (IsExported(values[j]))
                json.WriteNumberValue(indices[j]);
        }

        json.WriteEndArray();
        json.WriteStartArray("values");
        for (var j = 0; j < indices.Length; j++)
        {
            if (IsExported(values[j]))
                json.WriteNumberValue(values[j]);
        }

        json.WriteEndArray();
    }

    /// <summary>Ends a JSON line: flushes the writer's object to the stream, then a newline, and readies the writer for the next object.</summary>
    private static void EndLine(Utf8JsonWriter json, Stream output)
    {
        json.Flush();
        output.WriteByte((byte)'\n');
        json.Reset(output);
    }
}
