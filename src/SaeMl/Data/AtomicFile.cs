namespace SaeMl.Data;

/// <summary>
/// The write-then-rename discipline for every file SaeMl produces: content goes to a uniquely named
/// file in the target's folder (so the rename stays on one file system) and replaces the target only
/// on <see cref="Commit"/>. Disposing without committing deletes it and leaves the target untouched.
/// A failure to write (a full disk, say) is reported with the target's name, not the temporary one.
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private readonly FileStream _file;
    private bool _closed;

    /// <summary>Opens a new temporary file beside <paramref name="path"/>; nothing at <paramref name="path"/> changes until <see cref="Commit"/>.</summary>
    public AtomicFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        TemporaryPath = TemporaryPathOf(Path);
        _file = Named(() => new FileStream(TemporaryPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 20));
        Stream = new TargetNamingStream(_file, this);
    }

    /// <summary>The suffix of every temporary file: <c>&lt;target&gt;.&lt;32 hex digits&gt;.tmp</c>.</summary>
    internal const string TemporarySuffix = ".tmp";

    /// <summary>The final file name.</summary>
    public string Path { get; }

    /// <summary>The file being written until <see cref="Commit"/>.</summary>
    public string TemporaryPath { get; }

    /// <summary>The temporary file's stream; writers that wrap it must leave it open.</summary>
    public Stream Stream { get; }

    /// <summary>Flushes what is written to disk, under the temporary name (a full disk shows here, not at <see cref="Commit"/>).</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Named(() =>
        {
            _file.Flush(flushToDisk: true);
            return 0;
        });
    }

    /// <summary>Flushes to disk and renames the file to <see cref="Path"/>, replacing any file there.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Named(() =>
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
            File.Move(TemporaryPath, Path, overwrite: true);
            return 0;
        });
        _closed = true;
    }

    /// <summary>Without <see cref="Commit"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        if (_closed)
            return;
        _closed = true;
        try
        {
            _file.Dispose(); // flushing what is buffered fails again on a full disk
        }
        catch (Exception e) when (IsFileSystemFailure(e))
        {
        }
        finally
        {
            File.Delete(TemporaryPath);
        }
    }

    /// <summary>Writes a whole file through <paramref name="write"/> and commits it if no exception escapes.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        using var file = new AtomicFile(path);
        write(file.Stream);
        file.Commit();
    }

    /// <summary>
    /// Deletes what a writer of <paramref name="target"/> in <paramref name="folder"/> left behind when its process was
    /// killed: temporary files and staging folders named <c>&lt;target&gt;.&lt;32 hex digits&gt;.tmp</c> exactly
    /// (<see cref="TemporaryPathOf"/>). With <paramref name="target"/> null, every such entry of the folder goes:
    /// only for a folder that one writer owns. Call it only while no other writer of those targets runs.
    /// </summary>
    /// <returns>The number of files and folders deleted.</returns>
    public static int DeleteLeftovers(string folder, string? target)
    {
        if (!Directory.Exists(folder))
            return 0;
        var leftovers = Directory.EnumerateFileSystemEntries(folder)
            .Where(entry => IsTemporary(entry) && (target is null || System.IO.Path.GetFileName(entry) is var name
                && name.Length == target.Length + 33 + TemporarySuffix.Length && name.StartsWith(target + ".", StringComparison.Ordinal)))
            .ToList();
        foreach (var leftover in leftovers)
        {
            if (Directory.Exists(leftover))
                Directory.Delete(leftover, recursive: true);
            else
                File.Delete(leftover);
        }

        return leftovers.Count;
    }

    /// <summary>Whether <paramref name="path"/> is named as this class names temporary files and staging folders.</summary>
    public static bool IsTemporary(string path) =>
        System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path)) is var name
        && name.EndsWith(TemporarySuffix, StringComparison.Ordinal) && name.Length > 33 + TemporarySuffix.Length
        && name[^(33 + TemporarySuffix.Length)] == '.' && name[^(32 + TemporarySuffix.Length)..^TemporarySuffix.Length].All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>A new temporary name beside <paramref name="path"/>, as this class writes them: <c>&lt;path&gt;.&lt;32 hex digits&gt;.tmp</c>.</summary>
    public static string TemporaryPathOf(string path) => $"{System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path))}.{Guid.NewGuid():N}{TemporarySuffix}";

    private T Named<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsFileSystemFailure(e))
        {
            throw Renamed(e);
        }
    }

    /// <summary>A write the file system refused: a full disk (IOException), or a file over the size limit (EFBIG, which .NET reports as ArgumentOutOfRangeException).</summary>
    private static bool IsFileSystemFailure(Exception e) => e is IOException or ArgumentOutOfRangeException;

    private IOException Renamed(Exception e) => new(
        $"Could not write '{Path}': " + (e is ArgumentOutOfRangeException
            ? "the file system refused to make it that large (a full disk or a file size limit)."
            : e.Message.Replace(TemporaryPath, Path, StringComparison.Ordinal)),
        e);

    /// <summary>The temporary file's stream, reporting failures under the target's name.</summary>
    private sealed class TargetNamingStream(FileStream inner, AtomicFile owner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => owner.Named(() => inner.Position = value);
        }

        public override void Flush() => owner.Named(() => { inner.Flush(); return 0; });

        public override int Read(byte[] buffer, int offset, int count) => owner.Named(() => inner.Read(buffer, offset, count));

        public override long Seek(long offset, SeekOrigin origin) => owner.Named(() => inner.Seek(offset, origin));

        public override void SetLength(long value) => owner.Named(() => { inner.SetLength(value); return 0; });

        public override void Write(byte[] buffer, int offset, int count) => owner.Named(() => { inner.Write(buffer, offset, count); return 0; });

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try
            {
                inner.Write(buffer);
            }
            catch (Exception e) when (IsFileSystemFailure(e))
            {
                throw owner.Renamed(e); // a span cannot enter Named's lambda
            }
        }

        protected override void Dispose(bool disposing)
        {
            // The owner closes the file.
        }
    }
}
