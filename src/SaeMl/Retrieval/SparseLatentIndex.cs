using System.Collections.Concurrent;
using System.Globalization;
using SaeMl.Autoencoder;

namespace SaeMl.Retrieval;

/// <summary>
/// An inverted index over the sparse latents of a corpus: for each latent, the documents in which it is
/// non-zero and its value there. It answers exact top-k search by the sparse dot product of query and
/// document latents, touching only the documents that share a latent with the query.
/// </summary>
/// <remarks>
/// <para><b>Scores.</b> A document's score is a float32 sum, accumulated in ascending latent order over
/// the latents the query and the document share, of the terms <c>queryValue * documentValue</c>, each
/// rounded to float32, starting from 0. A plain sparse dot product (walk both ascending index lists
/// together, add each product of matching latents to a float32 sum) gives bitwise the same scores.
/// Zero values are not stored and add nothing: adding a zero product never changes a float sum that
/// starts at +0. A document that shares no latent with the query scores 0.</para>
/// <para><b>Order and ties.</b> Every document competes, including those scoring 0: results are ordered
/// by descending score and equal scores by ascending document row, so when fewer than k documents
/// score above 0 the list is filled with zero-score documents in row order, as ranking all documents
/// would. Negative values rank the same way. A NaN score (possible only when a product overflows
/// float32) ranks after every number.</para>
/// <para><b>Limits.</b> Document rows are int32: at most <see cref="MaxDocuments"/> documents. The
/// postings live in one array of document rows and one of values: at most <see cref="MaxPostings"/>.
/// Each takes 8 bytes (4 for the row, 4 for the value); 8.8 million documents with K = 64 make 563
/// million postings, 4.2 GiB. <see cref="Build"/> holds the postings twice at its peak (in document order
/// as they arrive, then sorted by latent). A search thread holds a float and a flag per document.</para>
/// <para>The index is immutable once built; <see cref="Search"/> may be called from several threads.</para>
/// </remarks>
public sealed class SparseLatentIndex
{
    /// <summary>The most documents an index holds: document rows are int32 and a search thread keeps a score per document in one array.</summary>
    public static readonly long MaxDocuments = Array.MaxLength;

    /// <summary>The most postings (non-zero document latents) an index holds: they live in single .NET arrays.</summary>
    public static readonly long MaxPostings = Array.MaxLength;

    /// <summary>The most latents an index covers: one offset per latent, plus one, in one array.</summary>
    public static readonly int MaxLatentSize = Array.MaxLength - 1;

    /// <summary>
    /// A query whose latents' posting lists add up to at least DocumentCount / FullScanFraction
    /// postings touches a large share of the corpus: it is cheaper to accumulate without flagging
    /// touched documents and to rank every document's score than to keep the touched list.
    /// </summary>
    private const int FullScanFraction = 4;

    private readonly long[] _offsets;   // [LatentSize + 1]: latent j's postings are [_offsets[j], _offsets[j + 1])
    private readonly int[] _documents;  // [PostingCount]: document rows, ascending within each latent
    private readonly float[] _values;   // [PostingCount]: the latent's non-zero value in that document

    internal SparseLatentIndex(int latentSize, long documentCount, long[] offsets, int[] documents, float[] values)
    {
        LatentSize = latentSize;
        DocumentCount = documentCount;
        _offsets = offsets;
        _documents = documents;
        _values = values;
    }

    /// <summary>n, the number of latents; queries and documents use latent indices 0 … n − 1.</summary>
    public int LatentSize { get; }

    /// <summary>The number of documents; search results name them by row, 0 … DocumentCount − 1, in the order they were given to <see cref="Build"/>.</summary>
    public long DocumentCount { get; }

    /// <summary>The number of stored (document, latent, value) entries: the documents' non-zero latents. Zero values are not stored.</summary>
    public long PostingCount => _documents.LongLength;

    /// <summary>Bytes held by the index's arrays: 8 per posting and 8 per latent (offsets).</summary>
    public long SizeInBytes => _offsets.LongLength * sizeof(long) + _documents.LongLength * sizeof(int) + _values.LongLength * sizeof(float);

    internal ReadOnlySpan<long> Offsets => _offsets;

    internal ReadOnlySpan<int> Documents => _documents;

    internal ReadOnlySpan<float> Values => _values;

    /// <summary>The number of documents in which a latent is non-zero (its posting list's length).</summary>
    /// <param name="latent">A latent index, 0 … <see cref="LatentSize"/> − 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">The latent is outside the index's latents.</exception>
    public long DocumentFrequency(int latent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(latent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(latent, LatentSize);
        return _offsets[latent + 1] - _offsets[latent];
    }

    /// <summary>
    /// Builds the index from a corpus's sparse codes, streamed in document order: row r of the corpus is
    /// the r-th row over all batches. Batches are copied as they arrive (only their non-zero latents), so
    /// the caller may reuse its buffers and memory grows with the postings, not with a dense matrix.
    /// </summary>
    /// <param name="documentBatches">The corpus codes, batch after batch; batches may differ in size and K.</param>
    /// <param name="latentSize">n, the number of latents; every latent index must be below it.</param>
    /// <param name="progress">Receives the number of documents read after each batch.</param>
    /// <param name="cancellationToken">Checked between batches and while postings are sorted by latent.</param>
    /// <exception cref="ArgumentException">
    /// A batch is null; a document row has a latent index outside 0 … n − 1, indices that are not strictly
    /// ascending, or a NaN or infinite value (each reported with its row); or the corpus exceeds
    /// <see cref="MaxDocuments"/> or <see cref="MaxPostings"/>.
    /// </exception>
    public static SparseLatentIndex Build(
        IEnumerable<SparseCodes> documentBatches,
        int latentSize,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documentBatches);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(latentSize, MaxLatentSize);

        var postingsPerLatent = new long[latentSize];
        var received = new List<DocumentOrderPostings?>();
        long documents = 0, postings = 0;
        foreach (var batch in documentBatches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (batch is null)
                throw new ArgumentException($"Document batch {received.Count} is null.", nameof(documentBatches));
            if (documents + batch.Rows > MaxDocuments)
                throw new ArgumentException($"The corpus has more than {MaxDocuments} documents by the batch starting at row {documents}; one index holds at most {MaxDocuments}: split the corpus.", nameof(documentBatches));
            var compact = DocumentOrderPostings.Copy(batch, documents, latentSize, postingsPerLatent);
            postings += compact.Latents.Length;
            if (postings > MaxPostings)
                throw new ArgumentException($"The documents up to row {documents + batch.Rows - 1} hold {postings} non-zero latents; one index holds at most {MaxPostings} postings: split the corpus.", nameof(documentBatches));
            received.Add(compact);
            documents += batch.Rows;
            progress?.Report(documents);
        }

        // A counting sort by latent: each latent's list fills in document order, so rows ascend within it.
        var offsets = new long[latentSize + 1];
        for (var latent = 0; latent < latentSize; latent++)
            offsets[latent + 1] = offsets[latent] + postingsPerLatent[latent];
        var next = postingsPerLatent;                       // reused: the next free slot of each latent
        Array.Copy(offsets, next, latentSize);
        var documentRows = new int[postings];
        var values = new float[postings];
        for (var i = 0; i < received.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            received[i]!.ScatterInto(next, documentRows, values);
            received[i] = null;                             // its memory can go before the next batch is placed
        }

        return new SparseLatentIndex(latentSize, documents, offsets, documentRows, values);
    }

    /// <summary>Exact top-k search: the <paramref name="k"/> documents with the highest sparse dot product with each query row.</summary>
    /// <param name="queries">The query codes, in the index's latent space.</param>
    /// <param name="k">Documents per query; at least 1. Fewer come back only when the index holds fewer documents.</param>
    /// <param name="cancellationToken">Checked between queries.</param>
    /// <returns>Results <c>[queries.Rows, min(k, DocumentCount)]</c> whose rows are document rows, best first (see the remarks for the score and the order).</returns>
    /// <exception cref="ArgumentException">
    /// A query row has a latent index outside 0 … <see cref="LatentSize"/> − 1, indices that are not strictly
    /// ascending, or a NaN or infinite value (each reported with its row); or queries × k exceed what one
    /// result array holds.
    /// </exception>
    public SearchResults Search(SparseCodes queries, int k, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        for (var row = 0; row < queries.Rows; row++)
        {
            if (RowProblem(queries.IndicesOf(row), queries.ValuesOf(row), LatentSize) is { } problem)
                throw new ArgumentException($"Query row {row} {problem}", nameof(queries));
        }

        var keep = (int)Math.Min(k, DocumentCount);
        if ((long)queries.Rows * keep > Array.MaxLength)
            throw new ArgumentException($"{queries.Rows} queries × k = {keep} results exceed what one result array holds ({Array.MaxLength}); search fewer queries at a time.", nameof(k));
        var rows = new long[(long)queries.Rows * keep];
        var scores = new float[rows.LongLength];
        if (keep == 0)
            return new SearchResults(queries.Rows, 0, rows, scores);

        // Scratch arrays are a float and a flag per document: reuse them across the loop's workers.
        var scratchPool = new ConcurrentBag<QueryScratch>();
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(
            0,
            queries.Rows,
            options,
            () => scratchPool.TryTake(out var scratch) ? scratch : new QueryScratch(DocumentCount, keep, FullScanFraction),
            (query, _, scratch) =>
            {
                ScoreAndRank(queries.IndicesOf(query), queries.ValuesOf(query), scratch, rows.AsSpan(query * keep, keep), scores.AsSpan(query * keep, keep));
                return scratch;
            },
            scratchPool.Add);
        return new SearchResults(queries.Rows, keep, rows, scores);
    }

    /// <summary>Writes the index to a versioned binary file (see docs/sparse-index.md), under a temporary name renamed into place when complete.</summary>
    /// <param name="path">The index file; an existing file is replaced.</param>
    public void Save(string path) => SparseLatentIndexFile.Write(path, this);

    /// <summary>Reads an index written by <see cref="Save"/>, checking it whole.</summary>
    /// <param name="path">The index file.</param>
    /// <exception cref="FormatException">
    /// The file (named in the message) is not a sparse latent index, has an unsupported format version, is
    /// cut short or longer than its header says, or holds inconsistent offsets, document rows outside the
    /// index or out of order, or non-finite values.
    /// </exception>
    public static SparseLatentIndex Load(string path) => SparseLatentIndexFile.Read(path);

    /// <summary>The document rows of a latent's postings, ascending. Offsets fit an int: postings are at most <see cref="MaxPostings"/>.</summary>
    private ReadOnlySpan<int> DocumentsOf(int latent) => _documents.AsSpan((int)_offsets[latent], (int)(_offsets[latent + 1] - _offsets[latent]));

    /// <summary>The values of a latent's postings, in the order of <see cref="DocumentsOf"/>.</summary>
    private ReadOnlySpan<float> ValuesOf(int latent) => _values.AsSpan((int)_offsets[latent], (int)(_offsets[latent + 1] - _offsets[latent]));

    /// <summary>Whether a query whose latents hold <paramref name="touchedPostings"/> postings is ranked by a scan of every document's score rather than of a touched list.</summary>
    internal static bool ScansAllDocuments(long touchedPostings, long documentCount) => touchedPostings * FullScanFraction >= documentCount;

    /// <summary>Scores one query against the postings of its latents and writes its top documents, best first.</summary>
    private void ScoreAndRank(ReadOnlySpan<int> latents, ReadOnlySpan<float> weights, QueryScratch scratch, Span<long> bestRows, Span<float> bestScores)
    {
        long touchedPostings = 0;
        for (var i = 0; i < latents.Length; i++)
        {
            if (weights[i] != 0)
                touchedPostings += DocumentsOf(latents[i]).Length;
        }

        var scores = scratch.Scores;
        var heap = scratch.Best;
        heap.Clear();
        if (ScansAllDocuments(touchedPostings, DocumentCount))
        {
            for (var i = 0; i < latents.Length; i++)
            {
                var weight = weights[i];
                if (weight == 0)
                    continue;
                var documents = DocumentsOf(latents[i]);
                var values = ValuesOf(latents[i]);
                for (var p = 0; p < documents.Length; p++)
                    scores[documents[p]] += weight * values[p];
            }

            for (var document = 0; document < scores.Length; document++)
                heap.Offer(scores[document], document);
            Array.Clear(scores);
        }
        else
        {
            var isTouched = scratch.IsTouched;
            var touched = scratch.Touched;
            var touchedCount = 0;
            for (var i = 0; i < latents.Length; i++)
            {
                var weight = weights[i];
                if (weight == 0)
                    continue;
                var documents = DocumentsOf(latents[i]);
                var values = ValuesOf(latents[i]);
                for (var p = 0; p < documents.Length; p++)
                {
                    var document = documents[p];
                    if (!isTouched[document])
                    {
                        isTouched[document] = true;
                        touched[touchedCount++] = document;
                    }

                    scores[document] += weight * values[p];
                }
            }

            for (var i = 0; i < touchedCount; i++)
                heap.Offer(scores[touched[i]], touched[i]);

            // Untouched documents score 0 and rank among themselves by row: only the first few can enter.
            for (var document = 0; document < scores.Length; document++)
            {
                if (isTouched[document])
                    continue;
                if (!heap.Offer(0f, document))
                    break;
            }

            for (var i = 0; i < touchedCount; i++)
            {
                scores[touched[i]] = 0;
                isTouched[touched[i]] = false;
            }
        }

        heap.DrainBestFirst(bestRows, bestScores);
    }

    /// <summary>One search worker's arrays: a score and a touched flag per document, the touched rows, and the running top k.</summary>
    private sealed class QueryScratch(long documents, int k, int fullScanFraction)
    {
        public float[] Scores { get; } = new float[documents];

        public bool[] IsTouched { get; } = new bool[documents];

        /// <summary>Only queries touching fewer than documents / fullScanFraction postings keep a touched list.</summary>
        public int[] Touched { get; } = new int[documents / fullScanFraction + 1];

        public TopDocuments Best { get; } = new(k);
    }

    /// <summary>What is wrong with one row of codes, as the end of a sentence that starts with the row's name; null when nothing is.</summary>
    private static string? RowProblem(ReadOnlySpan<int> latents, ReadOnlySpan<float> values, int latentSize)
    {
        for (var i = 0; i < latents.Length; i++)
        {
            if ((uint)latents[i] >= (uint)latentSize)
                return $"names latent {latents[i]}, outside the index's latents 0 … {latentSize - 1}.";
            if (i > 0 && latents[i] <= latents[i - 1])
                return $"has latent {latents[i]} after latent {latents[i - 1]}; latent indices must be strictly ascending.";
            if (!float.IsFinite(values[i]))
                return $"holds {values[i].ToString(CultureInfo.InvariantCulture)} for latent {latents[i]}; latent values must be finite.";
        }

        return null;
    }

    /// <summary>
    /// One batch's non-zero latents in document order, as <see cref="Build"/> receives them: for each of
    /// its rows the range of its postings, and each posting's latent and value.
    /// </summary>
    private sealed class DocumentOrderPostings
    {
        private readonly long _firstDocument;
        private readonly int[] _rowStarts;  // [rows + 1]

        private DocumentOrderPostings(long firstDocument, int[] rowStarts, int[] latents, float[] values)
        {
            _firstDocument = firstDocument;
            _rowStarts = rowStarts;
            Latents = latents;
            Values = values;
        }

        public int[] Latents { get; }

        public float[] Values { get; }

        /// <summary>Checks every row and copies its non-zero latents, adding them to the per-latent counts.</summary>
        public static DocumentOrderPostings Copy(SparseCodes batch, long firstDocument, int latentSize, long[] postingsPerLatent)
        {
            var rowStarts = new int[batch.Rows + 1];
            var latents = new int[batch.Indices.Length];
            var values = new float[batch.Values.Length];
            var count = 0;
            for (var row = 0; row < batch.Rows; row++)
            {
                var rowLatents = batch.IndicesOf(row);
                var rowValues = batch.ValuesOf(row);
                if (RowProblem(rowLatents, rowValues, latentSize) is { } problem)
                    throw new ArgumentException($"Document row {firstDocument + row} {problem}", "documentBatches");
                for (var i = 0; i < rowLatents.Length; i++)
                {
                    if (rowValues[i] == 0)
                        continue;
                    latents[count] = rowLatents[i];
                    values[count] = rowValues[i];
                    postingsPerLatent[rowLatents[i]]++;
                    count++;
                }

                rowStarts[row + 1] = count;
            }

            if (count < latents.Length)
            {
                Array.Resize(ref latents, count);
                Array.Resize(ref values, count);
            }

            return new DocumentOrderPostings(firstDocument, rowStarts, latents, values);
        }

        /// <summary>Places each posting at the next free slot of its latent's list.</summary>
        public void ScatterInto(long[] nextSlot, int[] documentRows, float[] documentValues)
        {
            for (var row = 0; row < _rowStarts.Length - 1; row++)
            {
                var document = (int)(_firstDocument + row);
                for (var p = _rowStarts[row]; p < _rowStarts[row + 1]; p++)
                {
                    var slot = nextSlot[Latents[p]]++;
                    documentRows[slot] = document;
                    documentValues[slot] = Values[p];
                }
            }
        }
    }
}
