using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>What <c>--overwrite</c> may replace in an embedding store folder: the store's own files, nothing else.</summary>
internal static class StoreFolder
{
    /// <summary>The first entry of <paramref name="folder"/> that is not a file of an embedding store, or null.</summary>
    public static string? ForeignEntry(string folder) =>
        Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal).FirstOrDefault(entry => !IsStoreFile(entry));

    /// <summary>Deletes the store in <paramref name="folder"/> (after <see cref="ForeignEntry"/> found nothing else there).</summary>
    public static void DeleteStore(string folder)
    {
        if (!Directory.Exists(folder))
            return;
        if (ForeignEntry(folder) is { } foreign)
            throw new IOException($"'{folder}' holds '{Path.GetFileName(foreign)}' beside its store; it is left as it is.");
        Directory.Delete(folder, recursive: true);
    }

    private static bool IsStoreFile(string entry) =>
        File.Exists(entry) && Path.GetFileName(entry) is var name
        && (name is EmbeddingStore.ManifestFileName or EmbeddingStore.IdsFileName or EmbeddingStore.UnfinishedMarkerFileName
            || name.StartsWith("part-", StringComparison.Ordinal) && name.EndsWith(".npy", StringComparison.Ordinal)
            || AtomicFile.IsTemporary(entry));
}
