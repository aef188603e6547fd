namespace SaeMl.Data;

/// <summary>
/// The write-then-rename discipline for every file SaeMl produces: content goes to a uniquely named
/// file in the target's folder (so the rename stays on one file system) and replaces the target only
/// on <see cref="Commit"/>. Disposing without committing deletes it and leaves the target untouched.
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private bool _closed;

    /// <summary>Opens a new temporary file beside <paramref name="path"/>; nothing at <paramref name="path"/> changes until <see cref="Commit"/>.</summary>
    public AtomicFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        TemporaryPath = $"{Path}.{Guid.NewGuid():N}.tmp";
        Stream = new FileStream(TemporaryPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 20);
    }

    /// <summary>The final file name.</summary>
    public string Path { get; }

    /// <summary>The file being written until <see cref="Commit"/>.</summary>
    public string TemporaryPath { get; }

    /// <summary>The temporary file's stream; writers that wrap it must leave it open.</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes to disk and renames the file to <see cref="Path"/>, replacing any file there.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        File.Move(TemporaryPath, Path, overwrite: true);
        _closed = true;
    }

    /// <summary>Without <see cref="Commit"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        if (_closed)
            return;
        _closed = true;
        Stream.Dispose();
        File.Delete(TemporaryPath);
    }

    /// <summary>Writes a whole file through <paramref name="write"/> and commits it if no exception escapes.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        using var file = new AtomicFile(path);
        write(file.Stream);
        file.Commit();
    }
}
