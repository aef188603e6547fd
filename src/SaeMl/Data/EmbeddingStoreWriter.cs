using SaeMl.Data.Npy;

namespace SaeMl.Data;

/// <summary>
/// Writes an <see cref="EmbeddingStore"/> folder: contiguous <c>.npy</c> shards of at most
/// <see cref="RowsPerShard"/> rows and, on <see cref="Commit"/>, the <c>store.json</c> manifest.
/// Each shard is written under a temporary name and renamed when full. Until the manifest is written
/// the folder holds a <c>store.unfinished</c> marker, so a write that stops early leaves its complete
/// shards in place but is never mistaken for a whole store.
/// </summary>
public sealed class EmbeddingStoreWriter : IDisposable
{
    /// <summary>The default shard size in bytes (about 512 MB, the size of the paper's reference shards).</summary>
    public const long DefaultShardBytes = 512L << 20;

    private readonly List<ShardEntry> _completed = [];
    private NpyWriter? _current;
    private bool _committed;

    /// <summary>Starts a store in <paramref name="folder"/>, which is created if needed.</summary>
    /// <param name="folder">The store folder; it must not already hold a store manifest.</param>
    /// <param name="dimension">The number of values per embedding.</param>
    /// <param name="dataType">Float32 or Float16 shards.</param>
    /// <param name="rowsPerShard">Rows per shard; null sizes shards to about <see cref="DefaultShardBytes"/>.</param>
    /// <param name="job">
    /// What is being written (source, model, settings), kept in the unfinished marker so that
    /// <see cref="Resume"/> continues only the same job.
    /// </param>
    /// <exception cref="IOException">The folder already holds a finished store.</exception>
    public EmbeddingStoreWriter(string folder, int dimension, NpyDataType dataType = NpyDataType.Float32, long? rowsPerShard = null, string job = "")
        : this(folder, dimension, dataType, rowsPerShard ?? Math.Max(1, DefaultShardBytes / ((long)dimension * Math.Max(1, dataType.ElementSize()))), job, resume: false)
    {
    }

    private EmbeddingStoreWriter(string folder, int dimension, NpyDataType dataType, long rowsPerShard, string job, bool resume)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentNullException.ThrowIfNull(job);
        if (!dataType.IsFloatingPoint())
            throw new ArgumentException($"Embedding shards hold float32 or float16 values, not {dataType}.", nameof(dataType));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowsPerShard);

        Folder = Path.GetFullPath(folder);
        Dimension = dimension;
        DataType = dataType;
        RowsPerShard = rowsPerShard;
        Job = job;
        if (File.Exists(Path.Combine(Folder, EmbeddingStore.ManifestFileName)))
            throw new IOException($"'{Folder}' already holds an embedding store ({EmbeddingStore.ManifestFileName}); delete it or choose another folder.");
        Directory.CreateDirectory(Folder);
        if (resume)
        {
            AtomicFile.DeleteLeftovers(Folder, target: null); // the shard a killed run was writing
            KeepCompleteShards();
        }
        else
        {
            WriteMarker();
        }
    }

    /// <summary>Whether <paramref name="folder"/> holds an unfinished store that <see cref="Resume"/> can continue.</summary>
    public static bool CanResume(string folder) =>
        File.Exists(Path.Combine(folder, EmbeddingStore.UnfinishedMarkerFileName))
        && !File.Exists(Path.Combine(folder, EmbeddingStore.ManifestFileName));

    /// <summary>
    /// Continues an unfinished store: its complete shards are kept and <see cref="RowsWritten"/> counts
    /// their rows, so the caller skips that many source rows and writes on. The shard that was being
    /// written when the earlier run stopped never got its final name and is written again.
    /// </summary>
    /// <param name="folder">The unfinished store folder.</param>
    /// <param name="job">The same job description the store was started with.</param>
    /// <exception cref="IOException">The folder holds no unfinished store, or one of a different job.</exception>
    /// <exception cref="FormatException">The marker or a shard is damaged.</exception>
    public static EmbeddingStoreWriter Resume(string folder, string job)
    {
        if (!CanResume(folder))
            throw new IOException($"'{folder}' holds no unfinished embedding store to resume.");
        var marker = UnfinishedMarker.Read(Path.Combine(folder, EmbeddingStore.UnfinishedMarkerFileName));
        if (marker.Job != job)
            throw new IOException($"'{folder}' holds an unfinished store of another job ({marker.Job}); delete it or choose another folder.");
        return new EmbeddingStoreWriter(folder, marker.Dimension, marker.DataType, marker.RowsPerShard, job, resume: true);
    }

    /// <summary>The store folder.</summary>
    public string Folder { get; }

    /// <summary>The number of values per embedding.</summary>
    public int Dimension { get; }

    /// <summary>The element type of the shards.</summary>
    public NpyDataType DataType { get; }

    /// <summary>The most rows a shard holds.</summary>
    public long RowsPerShard { get; }

    /// <summary>The number of rows written so far (by earlier runs too, when resumed).</summary>
    public long RowsWritten { get; private set; }

    /// <summary>What is being written, as given when the store was started.</summary>
    public string Job { get; }

    /// <summary>True when a resumed store already holds all its rows (the earlier run stopped while committing): only <see cref="Commit"/> remains.</summary>
    public bool AllRowsWritten { get; private set; }

    /// <summary>Appends whole embeddings (row-major), opening new shards as they fill.</summary>
    public void WriteRows(ReadOnlySpan<float> values)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        if (AllRowsWritten && !values.IsEmpty)
            throw new InvalidOperationException($"The store '{Folder}' ends in a short shard: all its rows were written; only Commit remains.");
        if (values.Length % Dimension != 0)
            throw new ArgumentException($"{values.Length} values are not a whole number of embeddings of dimension {Dimension}.", nameof(values));

        while (!values.IsEmpty)
        {
            _current ??= new NpyWriter(ShardPath(_completed.Count), DataType, Dimension);
            var room = (int)Math.Min(RowsPerShard - _current.RowsWritten, values.Length / Dimension);
            _current.WriteRows(values[..(room * Dimension)]);
            values = values[(room * Dimension)..];
            RowsWritten += room;
            if (_current.RowsWritten == RowsPerShard)
                CompleteShard();
        }
    }

    /// <summary>Completes the last shard and writes the manifest.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        if (_current is not null || _completed.Count == 0)
        {
            _current ??= new NpyWriter(ShardPath(0), DataType, Dimension);
            CompleteShard();
        }

        new EmbeddingStoreManifest(ShardLayout.Contiguous, Dimension, RowsWritten, _completed)
            .Write(Path.Combine(Folder, EmbeddingStore.ManifestFileName));
        File.Delete(MarkerPath);
        _committed = true;
    }

    /// <summary>
    /// Stops writing; without <see cref="Commit"/> the shard in progress is discarded, no manifest is
    /// written and the <c>store.unfinished</c> marker stays.
    /// </summary>
    public void Dispose()
    {
        _current?.Dispose();
        _current = null;
        _committed = true;
    }

    private void CompleteShard()
    {
        _current!.Commit();
        _completed.Add(new ShardEntry(Path.GetFileName(_current.Path), _current.RowsWritten));
        _current = null;
    }

    private string ShardPath(int index) => Path.Combine(Folder, $"part-{index:D5}.npy");

    private string MarkerPath => Path.Combine(Folder, EmbeddingStore.UnfinishedMarkerFileName);

    private void WriteMarker() => new UnfinishedMarker(Dimension, DataType, RowsPerShard, Job).Write(MarkerPath);

    /// <summary>
    /// Keeps the shards part-00000, part-00001, … that an earlier run completed. Every shard but the
    /// last is full; a short last one means that run stopped inside <see cref="Commit"/>, after all rows
    /// were written, and only the manifest is missing.
    /// </summary>
    private void KeepCompleteShards()
    {
        while (File.Exists(ShardPath(_completed.Count)))
        {
            var path = ShardPath(_completed.Count);
            using var shard = NpyFile.Open(path);
            var shortLast = shard.Rows < RowsPerShard && !File.Exists(ShardPath(_completed.Count + 1));
            if (shard.Columns != Dimension || shard.Header.DataType != DataType || (shard.Rows != RowsPerShard && !shortLast))
            {
                throw new FormatException(
                    $"'{path}' holds {shard.Rows} × {shard.Columns} {shard.Header.DataType} values; a complete shard of this store holds {RowsPerShard} × {Dimension} {DataType}.");
            }

            _completed.Add(new ShardEntry(Path.GetFileName(path), shard.Rows));
            RowsWritten += shard.Rows;
            AllRowsWritten = shortLast;
        }
    }
}
