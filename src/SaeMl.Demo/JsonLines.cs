using System.Text.Json;
using SaeMl.Data;

namespace SaeMl.Demo;

/// <summary>Writes JSON Lines files (one object per line) atomically, as the BEIR layout wants them.</summary>
internal static class JsonLines
{
    /// <summary>Writes one object per item, its fields written by <paramref name="writeFields"/>.</summary>
    public static void Write<T>(string path, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeFields) => AtomicFile.Write(path, stream =>
    {
        foreach (var item in items)
        {
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                writeFields(json, item);
                json.WriteEndObject();
            }

            stream.WriteByte((byte)'\n');
        }
    });
}
