using System.Text.Json;
using SaeMl.Data.Npy;

namespace SaeMl.Data;

/// <summary>
/// The <c>store.unfinished</c> file of a store being written: it makes <see cref="EmbeddingStore.Open(string, ShardLayout?)"/>
/// refuse the folder, and records what <see cref="EmbeddingStoreWriter.Resume"/> needs to continue it.
/// </summary>
internal sealed record UnfinishedMarker(int Dimension, NpyDataType DataType, long RowsPerShard, string Job)
{
    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("note", "An EmbeddingStoreWriter is writing this folder, or stopped before it finished.");
        json.WriteNumber("dimension", Dimension);
        json.WriteString("dataType", DataType.ToString());
        json.WriteNumber("rowsPerShard", RowsPerShard);
        json.WriteString("job", Job);
        json.WriteEndObject();
    });

    public static UnfinishedMarker Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var dataType = Enum.Parse<NpyDataType>(root.GetProperty("dataType").GetString() ?? "");
            return new UnfinishedMarker(root.GetProperty("dimension").GetInt32(), dataType, root.GetProperty("rowsPerShard").GetInt64(), root.GetProperty("job").GetString() ?? "");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"'{path}' is not a readable unfinished-store marker: {ex.Message}", ex);
        }
    }
}
