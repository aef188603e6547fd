using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>The ids of an embedding store's rows: a file given on the command line, or the ids.txt that <c>saeml embed</c> writes beside the shards.</summary>
internal static class StoreIds
{
    /// <summary>The ids.txt a store folder holds, if any.</summary>
    public static string? Find(string storePath) =>
        Path.Combine(storePath, EmbeddingStore.IdsFileName) is var ids && Directory.Exists(storePath) && File.Exists(ids) ? ids : null;

    /// <summary>Loads ids and checks that they number the store's rows.</summary>
    public static IdIndex Load(string path, EmbeddingStore store)
    {
        var index = IdIndex.Load(path);
        if (index.Count != store.RowCount)
            throw new ArgumentException($"'{path}' holds {index.Count} ids, but embedding store '{store.Name}' has {store.RowCount} rows.");
        return index;
    }
}
