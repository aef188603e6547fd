using SaeMl.Data.Npy;

namespace SaeMl.Data;

/// <summary>
/// A matrix of embeddings <c>[RowCount, Dimension]</c> kept on disk as one or more memory-mapped
/// <c>.npy</c> shards (float32 or float16). Rows are copied out in batches on demand, so a corpus far
/// larger than memory can be streamed.
/// </summary>
/// <remarks>
/// <para>A store is opened from a single <c>.npy</c> file, a list of shard files, or a folder. A folder
/// written by <see cref="EmbeddingStoreWriter"/> carries a manifest (<c>store.json</c>) naming its
/// shards and layout; any other folder is read as all its <c>*.npy</c> files in natural name order
/// (<c>part-2</c> before <c>part-10</c>) with the layout given by the caller.</para>
/// <para>Reading is safe from several threads; see <see cref="ShardLayout"/> for the row layouts.</para>
/// </remarks>
public sealed class EmbeddingStore : IDisposable
{
    /// <summary>The manifest file name inside a store folder.</summary>
    public const string ManifestFileName = "store.json";

    /// <summary>The optional file in a store folder naming each row's id, one per line (see <see cref="IdIndex"/>).</summary>
    public const string IdsFileName = "ids.txt";

    /// <summary>
    /// The file <see cref="EmbeddingStoreWriter"/> keeps in a store folder until it commits: a folder
    /// holding it has only part of its rows and is refused by <see cref="Open(string, ShardLayout?)"/>.
    /// </summary>
    public const string UnfinishedMarkerFileName = "store.unfinished";

    private readonly NpyFile[] _shards;
    private readonly long[] _shardStarts;

    /// <summary>The folder the store was opened from; null for a file or a list of shards.</summary>
    private string? _folder;

    private EmbeddingStore(string name, NpyFile[] shards, ShardLayout layout)
    {
        Name = name;
        _shards = shards;
        Layout = layout;
        if (shards.Length == 0)
            throw new ArgumentException($"Embedding store '{name}' has no shards.");

        Dimension = shards[0].Columns;
        foreach (var shard in shards)
        {
            if (!shard.Header.DataType.IsFloatingPoint())
                throw new FormatException($"Shard '{shard.Path}' of embedding store '{name}' holds {shard.Header.DataType} values; embeddings must be float32 or float16.");
            if (shard.Columns != Dimension)
                throw new FormatException($"Shard '{shard.Path}' of embedding store '{name}' has dimension {shard.Columns}, but shard '{shards[0].Path}' has dimension {Dimension}.");
        }

        if (Dimension == 0)
            throw new FormatException($"Embedding store '{name}' has rows of dimension 0.");

        _shardStarts = new long[shards.Length + 1];
        for (var s = 0; s < shards.Length; s++)
            _shardStarts[s + 1] = _shardStarts[s] + shards[s].Rows;
        RowCount = _shardStarts[^1];

        if (layout == ShardLayout.RoundRobin)
            CheckRoundRobinSizes();
    }

    /// <summary>What the store was opened from (a file, a folder or the first shard), for messages.</summary>
    public string Name { get; }

    /// <summary>The <see cref="IdsFileName"/> inside the folder the store was opened from, where <c>saeml embed</c> writes the rows' ids; null when there is none.</summary>
    public string? IdsPath => _folder is not null && System.IO.Path.Combine(_folder, IdsFileName) is var ids && File.Exists(ids) ? ids : null;

    /// <summary>The ids of the store's rows, one per row in row order.</summary>
    /// <param name="idsPath">An ids file (one id per line); null reads <see cref="IdsPath"/>.</param>
    /// <exception cref="FileNotFoundException">No ids file was named and the store's folder holds none.</exception>
    /// <exception cref="FormatException">The file's ids do not number the store's rows, or repeat.</exception>
    public IdIndex LoadIds(string? idsPath = null)
    {
        var path = idsPath ?? IdsPath
            ?? throw new FileNotFoundException($"Embedding store '{Name}' has no {IdsFileName} beside its shards: name its ids file.", IdsFileName);
        var index = IdIndex.Load(path);
        if (index.Count != RowCount)
            throw new FormatException($"'{path}' holds {index.Count} ids, but embedding store '{Name}' has {RowCount} rows.");
        return index;
    }

    /// <summary>How rows map to shards.</summary>
    public ShardLayout Layout { get; }

    /// <summary>The number of values per embedding.</summary>
    public int Dimension { get; }

    /// <summary>The number of embeddings.</summary>
    public long RowCount { get; }

    /// <summary>The shard files, in layout order.</summary>
    public IReadOnlyList<string> ShardPaths => _shards.Select(s => s.Path).ToArray();

    /// <summary>
    /// Opens a store from a <c>.npy</c> file or a folder (with or without a <c>store.json</c> manifest).
    /// </summary>
    /// <param name="path">A <c>.npy</c> file or a folder of shards.</param>
    /// <param name="layout">
    /// The row layout of a folder without a manifest; null means <see cref="ShardLayout.Contiguous"/>.
    /// A manifest's own layout wins, and naming a different one is an error.
    /// </param>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>, or the folder holds no shard.</exception>
    /// <exception cref="FormatException">A shard or the manifest is invalid, shards disagree, or the folder's writer did not finish.</exception>
    public static EmbeddingStore Open(string path, ShardLayout? layout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
            return Open([path], layout ?? ShardLayout.Contiguous, path);
        if (!Directory.Exists(path))
            throw new FileNotFoundException($"No embedding store at '{path}': expected a .npy file or a folder of .npy shards.", path);

        // The manifest is written last and atomically: with it present, a marker left by a crash
        // between the two final steps of a write is stale.
        var manifestPath = System.IO.Path.Combine(path, ManifestFileName);
        if (File.Exists(System.IO.Path.Combine(path, UnfinishedMarkerFileName)) && !File.Exists(manifestPath))
        {
            throw new FormatException(
                $"Embedding store folder '{path}' holds {UnfinishedMarkerFileName}: its writer did not finish, so its shards may hold only part "
                + "of the rows. Run the write again (or resume it), or delete the folder.");
        }

        if (File.Exists(manifestPath))
        {
            var manifest = EmbeddingStoreManifest.Read(manifestPath);
            if (layout is { } asked && asked != manifest.Layout)
                throw new ArgumentException($"Embedding store '{path}' has layout {manifest.Layout} (from its manifest), not {asked}.", nameof(layout));
            var store = Open(manifest.Shards.Select(s => System.IO.Path.Combine(path, s.File)).ToArray(), manifest.Layout, path);
            manifest.Verify(store, manifestPath);
            store._folder = path;
            return store;
        }

        var shards = Directory.GetFiles(path, "*.npy").Order(NaturalFileNameComparer.Instance).ToArray();
        if (shards.Length == 0)
            throw new FileNotFoundException($"Embedding store folder '{path}' holds no .npy shard and no {ManifestFileName}.", path);
        var fromFolder = Open(shards, layout ?? ShardLayout.Contiguous, path);
        fromFolder._folder = path;
        return fromFolder;
    }

    /// <summary>Opens a store over the given shard files, in order.</summary>
    /// <exception cref="FormatException">A shard is invalid, shards disagree on the dimension, or round-robin shard sizes are inconsistent.</exception>
    public static EmbeddingStore Open(IReadOnlyList<string> shardPaths, ShardLayout layout) =>
        Open(shardPaths, layout, shardPaths.Count > 0 ? shardPaths[0] : "(no shards)");

    private static EmbeddingStore Open(IReadOnlyList<string> shardPaths, ShardLayout layout, string name)
    {
        ArgumentNullException.ThrowIfNull(shardPaths);
        var shards = new List<NpyFile>(shardPaths.Count);
        try
        {
            foreach (var shardPath in shardPaths)
                shards.Add(NpyFile.Open(shardPath));
            return new EmbeddingStore(name, shards.ToArray(), layout);
        }
        catch
        {
            foreach (var shard in shards)
                shard.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies rows <c>firstRow, firstRow + 1, …</c> into <paramref name="destination"/>, whose length
    /// (a multiple of <see cref="Dimension"/>) sets how many rows are read. Float16 shards are widened.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is not a whole number of rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows are not all inside the store.</exception>
    public void ReadRows(long firstRow, Span<float> destination)
    {
        if (destination.Length % Dimension != 0)
            throw new ArgumentException($"The destination holds {destination.Length} values, not a whole number of rows of {Dimension} (embedding store '{Name}').", nameof(destination));
        var rowCount = destination.Length / Dimension;
        if (firstRow < 0 || firstRow > RowCount - rowCount)
            throw new ArgumentOutOfRangeException(nameof(firstRow), firstRow, $"Rows {firstRow}..{firstRow + rowCount - 1} are outside embedding store '{Name}', which has {RowCount} rows.");

        if (Layout == ShardLayout.RoundRobin)
        {
            var shardCount = _shards.Length;
            for (var i = 0; i < rowCount; i++)
            {
                var row = firstRow + i;
                _shards[row % shardCount].ReadRows(row / shardCount, destination.Slice(i * Dimension, Dimension));
            }

            return;
        }

        var shard = Array.BinarySearch(_shardStarts, firstRow);
        shard = shard >= 0 ? shard : ~shard - 1;
        var written = 0;
        var next = firstRow;
        while (written < rowCount)
        {
            while (next >= _shardStarts[shard + 1])
                shard++;
            var take = (int)Math.Min(rowCount - written, _shardStarts[shard + 1] - next);
            _shards[shard].ReadRows(next - _shardStarts[shard], destination.Slice(written * Dimension, take * Dimension));
            written += take;
            next += take;
        }
    }

    /// <summary>
    /// Streams consecutive batches of rows. Each batch's <see cref="EmbeddingBatch.Values"/> is a
    /// buffer that the next batch overwrites: copy what must outlive one iteration.
    /// </summary>
    /// <param name="batchRows">Rows per batch (the last batch may be shorter).</param>
    /// <param name="firstRow">The first row to read.</param>
    /// <param name="rowCount">How many rows to read; null reads to the end.</param>
    public IEnumerable<EmbeddingBatch> ReadBatches(int batchRows, long firstRow = 0, long? rowCount = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        var end = rowCount is { } count ? firstRow + count : RowCount;
        if (firstRow < 0 || end < firstRow || end > RowCount)
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"Rows {firstRow}..{end - 1} are outside embedding store '{Name}', which has {RowCount} rows.");
        return Iterate(batchRows, firstRow, end);
    }

    private IEnumerable<EmbeddingBatch> Iterate(int batchRows, long firstRow, long end)
    {
        var buffer = new float[checked((int)Math.Min(batchRows, Math.Max(1, end - firstRow)) * Dimension)];
        for (var start = firstRow; start < end; start += batchRows)
        {
            var rows = (int)Math.Min(batchRows, end - start);
            var values = buffer.AsMemory(0, rows * Dimension);
            ReadRows(start, values.Span);
            yield return new EmbeddingBatch(start, rows, values);
        }
    }

    /// <summary>The number of rows in shard <paramref name="shard"/>.</summary>
    internal long ShardRows(int shard) => _shards[shard].Rows;

    /// <summary>Closes every shard.</summary>
    public void Dispose()
    {
        foreach (var shard in _shards)
            shard.Dispose();
    }

    private void CheckRoundRobinSizes()
    {
        var shardCount = _shards.Length;
        for (var s = 0; s < shardCount; s++)
        {
            var expected = (RowCount - s + shardCount - 1) / shardCount;
            if (_shards[s].Rows != expected)
            {
                throw new FormatException(
                    $"Shard '{_shards[s].Path}' of round-robin embedding store '{Name}' has {_shards[s].Rows} rows, "
                    + $"but shard {s} of {shardCount} holding {RowCount} rows in all must have {expected}.");
            }
        }
    }

    /// <summary>Orders file names with their digit runs compared as numbers: <c>part-2</c> before <c>part-10</c>.</summary>
    private sealed class NaturalFileNameComparer : IComparer<string>
    {
        public static readonly NaturalFileNameComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null)
                return Comparer<string?>.Default.Compare(x, y);
            int i = 0, j = 0;
            while (i < x.Length && j < y.Length)
            {
                if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
                {
                    var xEnd = i;
                    while (xEnd < x.Length && char.IsAsciiDigit(x[xEnd]))
                        xEnd++;
                    var yEnd = j;
                    while (yEnd < y.Length && char.IsAsciiDigit(y[yEnd]))
                        yEnd++;
                    var xDigits = x.AsSpan(i, xEnd - i).TrimStart('0');
                    var yDigits = y.AsSpan(j, yEnd - j).TrimStart('0');
                    var order = xDigits.Length != yDigits.Length ? xDigits.Length.CompareTo(yDigits.Length) : xDigits.SequenceCompareTo(yDigits);
                    if (order != 0)
                        return order;
                    i = xEnd;
                    j = yEnd;
                }
                else
                {
                    if (x[i] != y[j])
                        return x[i].CompareTo(y[j]);
                    i++;
                    j++;
                }
            }

            var lengthOrder = (x.Length - i).CompareTo(y.Length - j);
            return lengthOrder != 0 ? lengthOrder : string.CompareOrdinal(x, y);
        }
    }
}
