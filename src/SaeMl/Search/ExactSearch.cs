using System.Runtime.InteropServices;
using SaeMl.Compute;
using SaeMl.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Search;

/// <summary>How far an <see cref="ExactSearch"/> has come: corpus rows scanned so far, over all query blocks.</summary>
/// <param name="ScannedRows">Corpus rows scored so far (counted once per query block).</param>
/// <param name="TotalRows">Corpus rows to score in all (corpus rows × query blocks).</param>
public readonly record struct SearchProgress(long ScannedRows, long TotalRows);

/// <summary>
/// Exact top-k inner-product search: every query is scored against every corpus row, with batched
/// matrix products on the chosen device, and the best <c>k</c> rows are kept per query.
/// </summary>
/// <remarks>
/// <para>Queries are taken in blocks of <see cref="ExactSearchOptions.QueryBlockRows"/>; for each block
/// the corpus is streamed from its store in chunks sized by <see cref="ExactSearchOptions.MemoryBudgetBytes"/>,
/// the next chunk being read while the current one is scored. Each chunk's best rows are merged into a
/// running top-k that stays on the device; only the final lists are copied back.</para>
/// <para><b>Order and ties.</b> Rows are ordered by descending score, and rows with equal scores by
/// ascending corpus row, whatever the chunk size. (trec_eval orders equal scores by descending
/// document id when it reads a run file; <see cref="SaeMl.Data.TrecRunWriter"/> writes ranks, and
/// <see cref="SaeMl.Data.TrecRun"/> reads them back in rank order.)</para>
/// <para>Every query and corpus value must be finite; a NaN or infinity is reported with its row.</para>
/// </remarks>
public static class ExactSearch
{
    /// <summary>The most bytes a span over a host tensor can address.</summary>
    private const long MaxSpanBytes = int.MaxValue;

    /// <summary>Rows with a tie at the top-k cut are stably sorted in this many groups (see <see cref="OrderedTopK"/>).</summary>
    private const int TieSortGroups = 16;

    /// <summary>
    /// Memory per score of a row being tie-sorted: its copy (4 bytes), the sorted values (4), their
    /// positions (8) and libtorch's own sort buffers (about 16, measured).
    /// </summary>
    private const int TieSortBytesPerScore = 32;

    private delegate void RowReader(long firstRow, Span<float> destination);

    /// <summary>Vectors to search or search in: a store, or a buffer in memory.</summary>
    private sealed record RowSource(string Name, bool IsFile, long RowCount, int Dimension, RowReader Read)
    {
        public static RowSource Of(EmbeddingStore store) => new(store.Name, true, store.RowCount, store.Dimension, store.ReadRows);

        public static RowSource Of(ReadOnlyMemory<float> values, int dimension, string name) =>
            new(name, false, values.Length / dimension, dimension, (first, destination) => values.Span.Slice(checked((int)(first * dimension)), destination.Length).CopyTo(destination));
    }

    /// <summary>Searches every query of a store against a corpus store.</summary>
    /// <param name="queries">The query embeddings.</param>
    /// <param name="corpus">The corpus embeddings; same dimension as the queries.</param>
    /// <param name="options">K, memory budget and device; null takes the defaults.</param>
    /// <param name="progress">Receives progress after each corpus chunk.</param>
    /// <param name="cancellationToken">Checked between corpus chunks.</param>
    /// <exception cref="ArgumentException">The dimensions differ, the corpus is empty, or an option is out of range.</exception>
    /// <exception cref="FormatException">A query or corpus vector holds NaN or infinity.</exception>
    public static SearchResults Search(
        EmbeddingStore queries,
        EmbeddingStore corpus,
        ExactSearchOptions? options = null,
        IProgress<SearchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        if (queries.Dimension != corpus.Dimension)
            throw new ArgumentException($"Query store '{queries.Name}' has dimension {queries.Dimension}, but corpus store '{corpus.Name}' has dimension {corpus.Dimension}.", nameof(queries));
        return Run(RowSource.Of(queries), RowSource.Of(corpus), options ?? new(), progress, cancellationToken);
    }

    /// <summary>Searches in-memory query vectors (row-major, the corpus dimension wide) against a corpus store.</summary>
    /// <inheritdoc cref="Search(EmbeddingStore, EmbeddingStore, ExactSearchOptions?, IProgress{SearchProgress}?, CancellationToken)"/>
    /// <exception cref="ArgumentException">A query vector holds NaN or infinity, the buffer is not a whole number of vectors, the corpus is empty, or an option is out of range.</exception>
    public static SearchResults Search(
        ReadOnlyMemory<float> queries,
        EmbeddingStore corpus,
        ExactSearchOptions? options = null,
        IProgress<SearchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (queries.Length % corpus.Dimension != 0)
            throw new ArgumentException($"The query buffer holds {queries.Length} values, not a whole number of vectors of dimension {corpus.Dimension} (corpus store '{corpus.Name}').", nameof(queries));
        return Run(RowSource.Of(queries, corpus.Dimension, "queries"), RowSource.Of(corpus), options ?? new(), progress, cancellationToken);
    }

    /// <summary>
    /// Searches in-memory query vectors against in-memory corpus vectors, both row-major and
    /// <paramref name="dimension"/> wide: the same exact search without a store on disk.
    /// </summary>
    /// <param name="queries">The query vectors.</param>
    /// <param name="corpus">The corpus vectors; result rows index them.</param>
    /// <param name="dimension">The vectors' dimension.</param>
    /// <param name="options">K, memory budget and device; null takes the defaults.</param>
    /// <param name="progress">Receives progress after each corpus chunk.</param>
    /// <param name="cancellationToken">Checked between corpus chunks.</param>
    /// <exception cref="ArgumentException">A buffer is not a whole number of vectors, a vector holds NaN or infinity, the corpus is empty, or an option is out of range.</exception>
    public static SearchResults Search(
        ReadOnlyMemory<float> queries,
        ReadOnlyMemory<float> corpus,
        int dimension,
        ExactSearchOptions? options = null,
        IProgress<SearchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (queries.Length % dimension != 0)
            throw new ArgumentException($"The query buffer holds {queries.Length} values, not a whole number of vectors of dimension {dimension}.", nameof(queries));
        if (corpus.Length % dimension != 0)
            throw new ArgumentException($"The corpus buffer holds {corpus.Length} values, not a whole number of vectors of dimension {dimension}.", nameof(corpus));
        return Run(RowSource.Of(queries, dimension, "queries"), RowSource.Of(corpus, dimension, "corpus"), options ?? new(), progress, cancellationToken);
    }

    private static SearchResults Run(
        RowSource querySource,
        RowSource corpus,
        ExactSearchOptions options,
        IProgress<SearchProgress>? progress,
        CancellationToken cancellationToken)
    {
        if (options.K < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.K, "K must be at least 1.");
        if (options.QueryBlockRows < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.QueryBlockRows, "QueryBlockRows must be at least 1.");
        if (corpus.RowCount == 0)
            throw new ArgumentException(corpus.IsFile ? $"Corpus store '{corpus.Name}' is empty: there is nothing to search." : "The corpus buffer is empty: there is nothing to search.", nameof(corpus));
        if (querySource.RowCount > int.MaxValue)
            throw new ArgumentException($"Query store '{querySource.Name}' has {querySource.RowCount} rows; search at most {int.MaxValue} queries at a time.", "queries");
        var queryCount = (int)querySource.RowCount;

        var device = options.Device.ToTorchDevice();
        var dimension = corpus.Dimension;
        var k = (int)Math.Min(options.K, corpus.RowCount);
        if ((long)queryCount * k > Array.MaxLength)
        {
            throw new ArgumentException(
                $"{queryCount} queries × k = {k} results exceed what one result array holds ({Array.MaxLength}); search fewer queries at a time.", nameof(options));
        }

        // Host tensors are filled and read through spans, which address at most 2 GiB.
        var blockRows = (int)Math.Max(1, Math.Min(
            Math.Min(options.QueryBlockRows, queryCount),
            Math.Min(MaxSpanBytes / ((long)dimension * sizeof(float)), MaxSpanBytes / ((long)k * sizeof(long)))));
        var chunkRows = options.CorpusChunkRows ?? ChunkRowsWithin(options.MemoryBudgetBytes, blockRows, dimension, k, device.type == DeviceType.CUDA);
        if (chunkRows < 1)
            throw new ArgumentOutOfRangeException(nameof(options), chunkRows, "CorpusChunkRows must be at least 1.");
        chunkRows = (int)Math.Min(Math.Min(chunkRows, corpus.RowCount), MaxChunkRows(dimension));

        var rows = new long[(long)queryCount * k];
        var scores = new float[(long)queryCount * k];
        var blocks = (queryCount + blockRows - 1) / blockRows;
        var total = blocks * corpus.RowCount;
        var scanned = 0L;

        using var chunks = new ChunkReader(corpus, chunkRows, pinned: device.type == DeviceType.CUDA);
        for (var blockStart = 0; blockStart < queryCount; blockStart += blockRows)
        {
            using var blockScope = NewDisposeScope();
            var count = Math.Min(blockRows, queryCount - blockStart);
            var hostBlock = empty([count, dimension], ScalarType.Float32, CPU);
            var blockValues = MemoryMarshal.Cast<byte, float>(hostBlock.bytes);
            querySource.Read(blockStart, blockValues);
            if (FiniteValues.FirstNonFiniteRow(blockValues, dimension) is var bad and >= 0)
                throw NonFinite(querySource.Name, blockStart + bad, querySource.IsFile);
            var block = device.type == DeviceType.CPU ? hostBlock : hostBlock.to(device);   // [count, dimension]
            var scoreBuffer = empty([count, PaddedRowLength(chunkRows)], ScalarType.Float32, device); // reused by every chunk

            Tensor? bestScores = null, bestRows = null;
            foreach (var (chunkStart, hostChunk) in chunks.Stream(cancellationToken))
            {
                using (var chunkScope = NewDisposeScope())
                {
                    // A synchronous copy: the worker refills this host buffer two chunks later.
                    var chunk = device.type == DeviceType.CPU ? hostChunk : hostChunk.to(device);
                    var chunkScores = scoreBuffer.narrow(1, 0, chunk.shape[0]);              // [count, chunk]
                    chunkScores.addmm_(block, chunk.t(), beta: 0, alpha: 1);
                    var (topScores, topRows) = OrderedTopK(chunkScores, Math.Min(k, (int)chunk.shape[0]));
                    using var firstRow = chunkStart.ToScalar();
                    topRows.add_(firstRow, HeldScalars.One);
                    var (mergedScores, mergedRows) = bestScores is null ? (topScores, topRows) : Merge(bestScores, bestRows!, topScores, topRows, k);
                    bestScores?.Dispose();
                    bestRows?.Dispose();
                    bestScores = mergedScores.MoveToOuterDisposeScope();
                    bestRows = mergedRows.MoveToOuterDisposeScope();
                }

                scanned += hostChunk.shape[0];
                progress?.Report(new SearchProgress(scanned, total));
            }

            CopyToHost(bestScores!, scores.AsSpan(blockStart * k, count * k));
            CopyToHost(bestRows!, rows.AsSpan(blockStart * k, count * k));
        }

        return new SearchResults(queryCount, k, rows, scores);
    }

    /// <summary>
    /// The best <paramref name="k"/> columns of each row of <paramref name="scores"/>, ordered by
    /// descending score and then ascending column, exactly, whatever order topk returns ties in.
    /// </summary>
    private static (Tensor Scores, Tensor Columns) OrderedTopK(Tensor scores, int k)
    {
        var columns = scores.shape[1];
        if (k >= columns)
            return scores.sort(1, descending: true, stable: true);

        // One extra column tells whether the k-th best score is tied with a score left out; only
        // then is the chosen subset arbitrary, and only those rows need a full stable sort.
        var (candidates, candidateColumns) = scores.topk(k + 1, 1, largest: true, sorted: true);  // [q, k + 1]
        var tiedAtCut = candidates.select(1, k - 1).eq(candidates.select(1, k));                 // [q]
        var (bestScores, bestColumns) = OrderTies(candidates.narrow(1, 0, k), candidateColumns.narrow(1, 0, k));
        if (tiedAtCut.any().item<bool>())
        {
            var tiedRows = tiedAtCut.nonzero().squeeze(1);
            // Sort a sixteenth of the block at a time, each group's temporaries freed before the next.
            var group = Math.Max(1, scores.shape[0] / TieSortGroups);
            for (long start = 0; start < tiedRows.shape[0]; start += group)
            {
                using var groupScope = NewDisposeScope(); // one group's temporaries at a time
                var rows = tiedRows.narrow(0, start, Math.Min(group, tiedRows.shape[0] - start));
                var (sorted, order) = scores.index_select(0, rows).sort(1, descending: true, stable: true);
                bestScores.index_copy_(0, rows, sorted.narrow(1, 0, k));
                bestColumns.index_copy_(0, rows, order.narrow(1, 0, k));
            }
        }

        return (bestScores, bestColumns);
    }

    /// <summary>Reorders each row by descending score, ties by ascending column.</summary>
    private static (Tensor Scores, Tensor Columns) OrderTies(Tensor scores, Tensor columns)
    {
        var (ascendingColumns, byColumn) = columns.sort(1);
        var (ordered, byScore) = scores.gather(1, byColumn).sort(1, descending: true, stable: true);
        return (ordered, ascendingColumns.gather(1, byScore));
    }

    /// <summary>
    /// Merges the running top-k with a later chunk's. Every running row precedes every chunk row, and
    /// both lists are already ordered, so a stable sort keeps equal scores in ascending row order.
    /// </summary>
    private static (Tensor Scores, Tensor Rows) Merge(Tensor bestScores, Tensor bestRows, Tensor chunkScores, Tensor chunkRows, int k)
    {
        var scores = cat([bestScores, chunkScores], 1);
        var rows = cat([bestRows, chunkRows], 1);
        var (ordered, order) = scores.sort(1, descending: true, stable: true);
        var keep = Math.Min(k, ordered.shape[1]);
        return (ordered.narrow(1, 0, keep), rows.gather(1, order.narrow(1, 0, keep)));
    }

    /// <summary>
    /// The row length of the score buffer for chunks of <paramref name="columns"/> rows: rounded up to
    /// 256 floats plus one 64-byte cache line, so consecutive rows never start at addresses that are
    /// (almost) a multiple of 4 KiB apart. Such strides make the product's output rows collide in the
    /// same cache sets: measured here, a 65,535-wide buffer ran the product at 110 GFLOP/s, the
    /// padded one at 171.
    /// </summary>
    internal static long PaddedRowLength(long columns) => (columns + 255) / 256 * 256 + 16;

    private static Exception NonFinite(string source, long row, bool isFile)
    {
        var message = $"Row {row} of '{source}' holds NaN or infinity; embeddings must be finite.";
        return isFile ? new FormatException(message) : new ArgumentException(message);
    }

    private static void CopyToHost<T>(Tensor values, Span<T> destination) where T : unmanaged
    {
        using var host = values.contiguous().cpu();
        MemoryMarshal.Cast<byte, T>(host.bytes).CopyTo(destination);
    }

    /// <summary>
    /// The largest corpus chunk that keeps a query block's working set within <paramref name="budgetBytes"/>.
    /// Per corpus row: two host buffer rows (read-ahead), a device copy on CUDA, a score column of the
    /// block, and the tie sort's share of a column. Fixed: the query block (twice on CUDA) and the
    /// running top-k with its merge temporaries.
    /// </summary>
    internal static int ChunkRowsWithin(long budgetBytes, int blockRows, int dimension, int k, bool onCuda)
    {
        var fixedBytes = (long)blockRows * dimension * sizeof(float) * (onCuda ? 2 : 1) + (long)blockRows * k * 4 * (sizeof(float) + sizeof(long));
        var tieSortBytesPerScore = (TieSortBytesPerScore + TieSortGroups - 1) / TieSortGroups;
        var perCorpusRow = (long)dimension * sizeof(float) * (onCuda ? 3 : 2) + (long)blockRows * (sizeof(float) + tieSortBytesPerScore);
        var rows = (budgetBytes - fixedBytes) / perCorpusRow;
        if (rows < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(budgetBytes), budgetBytes,
                $"A memory budget of {budgetBytes} bytes cannot hold a block of {blockRows} queries of dimension {dimension} with k = {k}; raise the budget or lower QueryBlockRows.");
        }

        return (int)Math.Min(rows, MaxChunkRows(dimension));
    }

    /// <summary>The most corpus rows a host chunk buffer holds: its span addresses at most 2 GiB.</summary>
    private static int MaxChunkRows(int dimension) => (int)(MaxSpanBytes / ((long)dimension * sizeof(float)));

    /// <summary>
    /// Streams the corpus through two host tensors: while one chunk is scored, the next is copied
    /// out of the memory-mapped store (or the buffer) and checked for NaN and infinities on a worker thread.
    /// </summary>
    private sealed class ChunkReader : IDisposable
    {
        private readonly RowSource _corpus;
        private readonly int _chunkRows;
        private readonly Tensor[] _buffers;

        public ChunkReader(RowSource corpus, int chunkRows, bool pinned)
        {
            _corpus = corpus;
            _chunkRows = chunkRows;
            _buffers = new Tensor[2];
            for (var i = 0; i < _buffers.Length; i++)
            {
                var buffer = empty([chunkRows, corpus.Dimension], ScalarType.Float32, CPU);
                _buffers[i] = pinned ? buffer.pin_memory() : buffer;
                if (pinned)
                    buffer.Dispose();
            }
        }

        /// <summary>Yields (first row, chunk view) pairs; a view is valid until the next one is yielded.</summary>
        public IEnumerable<(long FirstRow, Tensor Chunk)> Stream(CancellationToken cancellationToken)
        {
            var pending = Fill(0, 0);
            var index = 0;
            try
            {
                for (long start = 0; start < _corpus.RowCount; start += _chunkRows, index++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rows = pending.GetAwaiter().GetResult();
                    var next = start + _chunkRows;
                    pending = next < _corpus.RowCount ? Fill((index + 1) % 2, next) : Task.FromResult(0);
                    using var view = _buffers[index % 2].narrow(0, 0, rows);
                    yield return (start, view);
                }
            }
            finally
            {
                // Never leave a worker writing into buffers that are about to be freed.
                try
                {
                    pending.Wait(CancellationToken.None);
                }
                catch (AggregateException)
                {
                    // The caller is already leaving with its own exception or result.
                }
            }
        }

        private Task<int> Fill(int buffer, long firstRow)
        {
            var rows = (int)Math.Min(_chunkRows, _corpus.RowCount - firstRow);
            var target = _buffers[buffer];
            return Task.Run(() =>
            {
                var values = MemoryMarshal.Cast<byte, float>(target.bytes)[..(rows * _corpus.Dimension)];
                _corpus.Read(firstRow, values);
                if (FiniteValues.FirstNonFiniteRow(values, _corpus.Dimension) is var bad and >= 0)
                    throw NonFinite(_corpus.Name, firstRow + bad, _corpus.IsFile);
                return rows;
            });
        }

        public void Dispose()
        {
            foreach (var buffer in _buffers)
                buffer.Dispose();
        }
    }
}
