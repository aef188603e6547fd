using System.Globalization;
using System.Numerics;
using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Search;

/// <summary>
/// An inverted index over the sparse latents of a corpus: for each latent, the documents in which it is
/// non-zero and its value there. It answers exact top-k search by the sparse dot product of query and
/// document latents, reading only the postings of the query's latents.
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
/// as they arrive, then sorted by latent).</para>
/// <para><b>How search runs.</b> Queries are taken in blocks of one per lane of a SIMD vector
/// (<c>Vector&lt;float&gt;.Count</c>, 8 with AVX2), the blocks in parallel. A block's scores are
/// accumulated a tile of documents at a time (256 KiB of scores, which stay in cache), every latent of
/// the block adding its postings in that tile to the lanes of the queries that have it, so a latent
/// shared by several queries of the block is read once. Each tile's scores are then offered to the
/// queries' running top k (a bounded heap each), most documents being passed over in one vector
/// comparison. A search thread holds one tile and the block's top lists, whatever the corpus size.</para>
/// <para>The index is immutable once built; <see cref="Search(SparseCodes, int, CancellationToken)"/> may be called from several threads.</para>
/// </remarks>
public sealed class SparseLatentIndex
{
    /// <summary>The most documents an index holds: document rows are int32.</summary>
    public const long MaxDocuments = int.MaxValue;

    /// <summary>The most postings (non-zero document latents) an index holds: they live in single .NET arrays.</summary>
    public static readonly long MaxPostings = Array.MaxLength;

    /// <summary>The most latents an index covers: one offset per latent, plus one, in one array.</summary>
    public static readonly int MaxLatentSize = Array.MaxLength - 1;

    /// <summary>
    /// Documents scored together: a tile holds a vector of scores (one lane per query of a block) per
    /// document, and 256 KiB of them stay in a core's L2 cache while every latent of the block adds to them.
    /// </summary>
    private static readonly int DefaultTileDocuments = 256 * 1024 / (Vector<float>.Count * sizeof(float));

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
    /// <param name="cancellationToken">Checked between blocks of queries.</param>
    /// <returns>Results <c>[queries.Rows, min(k, DocumentCount)]</c> whose rows are document rows, best first (see the remarks for the score and the order).</returns>
    /// <exception cref="ArgumentException">
    /// A query row has a latent index outside 0 … <see cref="LatentSize"/> − 1, indices that are not strictly
    /// ascending, or a NaN or infinite value (each reported with its row); or queries × k exceed what one
    /// result array holds.
    /// </exception>
    public SearchResults Search(SparseCodes queries, int k, CancellationToken cancellationToken = default) =>
        Search(queries, k, DefaultTileDocuments, cancellationToken);

    /// <summary><see cref="Search(SparseCodes, int, CancellationToken)"/> with documents scored <paramref name="tileDocuments"/> at a time.</summary>
    internal SearchResults Search(SparseCodes queries, int k, int tileDocuments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tileDocuments);
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

        var lanes = Vector<float>.Count;
        var blocks = (queries.Rows + lanes - 1) / lanes;
        var tile = (int)Math.Min(tileDocuments, DocumentCount);
        Parallel.For(
            0,
            blocks,
            new ParallelOptions { CancellationToken = cancellationToken },
            () => new BlockScratch(tile, keep),
            (block, _, scratch) =>
            {
                var first = block * lanes;
                var count = Math.Min(lanes, queries.Rows - first);
                ScoreAndRank(queries, first, count, scratch);
                for (var lane = 0; lane < count; lane++)
                    scratch.Best[lane].DrainBestFirst(rows.AsSpan((first + lane) * keep, keep), scores.AsSpan((first + lane) * keep, keep));
                return scratch;
            },
            _ => { });
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

    /// <summary>
    /// Scores a block of queries, one per vector lane, against every document, a tile of documents at a
    /// time, and offers each query's scores to its running top k. Each latent's postings are read once
    /// for the whole block: a latent that several of the queries share (the popular ones are in most
    /// queries) costs one pass, not one per query. A document's lane for query q receives, in ascending
    /// latent order, q's value times the document's for every latent of the block, which is 0 (adding
    /// nothing) for a latent q does not have: exactly the terms of q's sparse dot product, in order.
    /// </summary>
    private void ScoreAndRank(SparseCodes queries, int first, int count, BlockScratch scratch)
    {
        var (latents, weights) = BlockLatents(queries, first, count);
        var next = new int[latents.Length];                 // each latent's first posting not yet scored
        for (var i = 0; i < latents.Length; i++)
            next[i] = (int)_offsets[latents[i]];
        var thresholds = new float[Vector<float>.Count];
        thresholds.AsSpan(0, count).Fill(float.NegativeInfinity);
        thresholds.AsSpan(count).Fill(float.PositiveInfinity); // lanes without a query never need a look
        foreach (var best in scratch.Best)
            best.Clear();

        var tileSize = scratch.Tile.Length;
        for (long tileStart = 0; tileStart < DocumentCount; tileStart += tileSize)
        {
            var firstDocument = (int)tileStart;
            var tile = scratch.Tile.AsSpan(0, (int)Math.Min(tileSize, DocumentCount - tileStart));   // [documents of the tile]
            for (var i = 0; i < latents.Length; i++)
            {
                var weight = weights[i];
                var end = (int)_offsets[latents[i] + 1];
                var documents = _documents.AsSpan(next[i], end - next[i]);
                var values = _values.AsSpan(next[i], end - next[i]);
                var p = 0;
                for (; p < documents.Length; p++)
                {
                    var slot = documents[p] - firstDocument;
                    if ((uint)slot >= (uint)tile.Length)
                        break;                                  // the first posting of a later tile
                    tile[slot] += weight * values[p];
                }

                next[i] += p;
            }

            RankTile(tile, firstDocument, count, scratch.Best, thresholds);
        }
    }

    /// <summary>
    /// Offers the scores of a tile's documents to each query's top k, in document order, and zeroes the
    /// tile. A document whose scores are all below every query's current threshold is passed over in one
    /// comparison; once the top lists hold good scores, that is almost every document.
    /// </summary>
    private static void RankTile(Span<Vector<float>> tile, int firstDocument, int count, TopDocuments[] best, float[] thresholds)
    {
        var threshold = new Vector<float>(thresholds);
        for (var i = 0; i < tile.Length; i++)
        {
            var scores = tile[i];
            tile[i] = Vector<float>.Zero;
            if (Vector.LessThanAll(scores, threshold))
                continue;
            for (var lane = 0; lane < count; lane++)
            {
                if (!(scores[lane] < thresholds[lane]) && best[lane].Offer(scores[lane], firstDocument + i))
                    thresholds[lane] = best[lane].Threshold;
            }

            threshold = new Vector<float>(thresholds);
        }
    }

    /// <summary>
    /// The latents of a block of queries, ascending, each with its queries' values as a vector (lane q
    /// for the block's query q, 0 where that query lacks the latent). Zero query values add nothing and
    /// are left out.
    /// </summary>
    private static (int[] Latents, Vector<float>[] Weights) BlockLatents(SparseCodes queries, int first, int count)
    {
        var entries = new List<(int Latent, int Lane, float Value)>(count * queries.ActiveLatents);
        for (var lane = 0; lane < count; lane++)
        {
            var latents = queries.IndicesOf(first + lane);
            var values = queries.ValuesOf(first + lane);
            for (var i = 0; i < latents.Length; i++)
            {
                if (values[i] != 0)
                    entries.Add((latents[i], lane, values[i]));
            }
        }

        entries.Sort((a, b) => a.Latent.CompareTo(b.Latent));
        var blockLatents = new List<int>();
        var weights = new List<Vector<float>>();
        var laneValues = new float[Vector<float>.Count];
        for (var start = 0; start < entries.Count;)
        {
            var end = start;
            Array.Clear(laneValues);
            for (; end < entries.Count && entries[end].Latent == entries[start].Latent; end++)
                laneValues[entries[end].Lane] = entries[end].Value;
            blockLatents.Add(entries[start].Latent);
            weights.Add(new Vector<float>(laneValues));
            start = end;
        }

        return (blockLatents.ToArray(), weights.ToArray());
    }

    /// <summary>One search worker's arrays: a tile of scores (a vector lane per query of the block) and each query's running top k.</summary>
    private sealed class BlockScratch(int tileDocuments, int k)
    {
        public Vector<float>[] Tile { get; } = new Vector<float>[tileDocuments];

        public TopDocuments[] Best { get; } = Enumerable.Range(0, Vector<float>.Count).Select(_ => new TopDocuments(k)).ToArray();
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
