namespace SaeMl.Data;

/// <summary>
/// The write-then-rename discipline for every file SaeMl produces: content goes to a uniquely named
/// file in the target's folder and replaces the target only once it is complete.
/// </summary>
internal static class TemporaryFiles
{
    /// <summary>A fresh file name in the same folder as <paramref name="path"/>, so the final rename stays on one file system.</summary>
    public static string NameBeside(string path) => $"{path}.{Guid.NewGuid():N}.tmp";

    /// <summary>Writes a file through <paramref name="write"/> and renames it over <paramref name="path"/> on success.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        var temporary = NameBeside(Path.GetFullPath(path));
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
