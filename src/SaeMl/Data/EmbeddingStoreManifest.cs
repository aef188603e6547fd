using System.Text.Json;

namespace SaeMl.Data;

/// <summary>The <c>store.json</c> manifest: layout, dimension, row count and shards of a store folder.</summary>
internal sealed record EmbeddingStoreManifest(ShardLayout Layout, int Dimension, long Rows, IReadOnlyList<ShardEntry> Shards)
{
    private const string FormatName = "saeml.embedding-store";
    private const int FormatVersion = 1;

    public static EmbeddingStoreManifest Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.GetProperty("format").GetString() != FormatName)
                throw new FormatException($"'{path}' is not an embedding store manifest (its \"format\" is not \"{FormatName}\").");
            var version = root.GetProperty("version").GetInt32();
            if (version != FormatVersion)
                throw new FormatException($"'{path}' has manifest version {version}; this SaeMl reads version {FormatVersion}.");
            var layout = root.GetProperty("layout").GetString() switch
            {
                "contiguous" => ShardLayout.Contiguous,
                "round-robin" => ShardLayout.RoundRobin,
                var other => throw new FormatException($"'{path}' names an unknown layout '{other}' (expected \"contiguous\" or \"round-robin\")."),
            };
            var shards = root.GetProperty("shards").EnumerateArray()
                .Select(s => new ShardEntry(s.GetProperty("file").GetString() ?? "", s.GetProperty("rows").GetInt64()))
                .ToArray();
            foreach (var shard in shards)
            {
                if (shard.File.Length == 0 || System.IO.Path.GetFileName(shard.File) != shard.File)
                    throw new FormatException($"'{path}' names shard '{shard.File}', which is not a plain file name inside the store folder.");
            }

            return new EmbeddingStoreManifest(layout, root.GetProperty("dimension").GetInt32(), root.GetProperty("rows").GetInt64(), shards);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"'{path}' is not a valid embedding store manifest: {ex.Message}", ex);
        }
    }

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("format", FormatName);
        json.WriteNumber("version", FormatVersion);
        json.WriteString("layout", Layout == ShardLayout.RoundRobin ? "round-robin" : "contiguous");
        json.WriteNumber("dimension", Dimension);
        json.WriteNumber("rows", Rows);
        json.WriteStartArray("shards");
        foreach (var shard in Shards)
        {
            json.WriteStartObject();
            json.WriteString("file", shard.File);
            json.WriteNumber("rows", shard.Rows);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    });

    public void Verify(EmbeddingStore store, string path)
    {
        if (store.Dimension != Dimension || store.RowCount != Rows)
        {
            throw new FormatException(
                $"'{path}' declares {Rows} rows of dimension {Dimension}, but its shards hold {store.RowCount} rows of dimension {store.Dimension}.");
        }

        for (var s = 0; s < Shards.Count; s++)
        {
            if (store.ShardRows(s) != Shards[s].Rows)
                throw new FormatException($"'{path}' declares {Shards[s].Rows} rows in shard '{Shards[s].File}', but the file holds {store.ShardRows(s)}.");
        }
    }
}

/// <summary>One shard named by a manifest: its file name inside the store folder and its row count.</summary>
internal sealed record ShardEntry(string File, long Rows);
