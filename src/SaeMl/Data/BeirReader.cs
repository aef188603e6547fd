using System.Globalization;
using System.Text.Json;

namespace SaeMl.Data;

/// <summary>
/// Streams a data set in the BEIR layout: <c>corpus.jsonl</c> (<c>_id</c>, <c>title</c>, <c>text</c>),
/// <c>queries.jsonl</c> (<c>_id</c>, <c>text</c>) and <c>qrels/&lt;split&gt;.tsv</c>.
/// </summary>
/// <remarks>
/// Each non-blank line is one JSON object; other fields (such as <c>metadata</c>) are ignored. A
/// numeric <c>_id</c> is read as its decimal text. A missing or null <c>title</c> is empty; <c>text</c>
/// must be a string. Errors name the file and line. Ids are checked for uniqueness by
/// <see cref="IdIndex.Build(IEnumerable{TextRecord}, string)"/>.
/// </remarks>
public static class BeirReader
{
    /// <summary>Streams the corpus of a BEIR folder, or of a <c>corpus.jsonl</c> file given directly.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IEnumerable<TextRecord> ReadCorpus(string path) => ReadJsonLines(FileIn(path, "corpus.jsonl"));

    /// <summary>Streams the queries of a BEIR folder, or of a <c>queries.jsonl</c> file given directly.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IEnumerable<TextRecord> ReadQueries(string path) => ReadJsonLines(FileIn(path, "queries.jsonl"));

    /// <summary>Reads <c>qrels/&lt;split&gt;.tsv</c> of a BEIR folder, or a qrels file given directly (see <see cref="Qrels.ReadTsv"/>).</summary>
    public static Qrels ReadQrels(string path, string split = "test") =>
        Qrels.ReadTsv(FileIn(path, Path.Combine("qrels", split + ".tsv")));

    private static string FileIn(string path, string defaultName) =>
        Directory.Exists(path) ? Path.Combine(path, defaultName) : path;

    private static IEnumerable<TextRecord> ReadJsonLines(string path)
    {
        var lines = TextLines.Read(path);
        return lines.Select(line =>
        {
            try
            {
                using var document = JsonDocument.Parse(line.Text);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"Line {line.Number} of '{path}' is not a JSON object.");
                return new TextRecord(ReadId(root, path, line.Number), ReadTitle(root, path, line.Number), ReadText(root, path, line.Number), line.Number);
            }
            catch (JsonException ex)
            {
                throw new FormatException($"Line {line.Number} of '{path}' is not valid JSON: {ex.Message}", ex);
            }
        });
    }

    private static string ReadId(JsonElement root, string path, long line)
    {
        if (!root.TryGetProperty("_id", out var id))
            throw new FormatException($"Line {line} of '{path}' has no \"_id\".");
        var value = id.ValueKind switch
        {
            JsonValueKind.String => id.GetString()!,
            JsonValueKind.Number => id.GetRawText(),
            _ => throw new FormatException($"Line {line} of '{path}' has an \"_id\" that is neither a string nor a number."),
        };
        if (value.Length == 0)
            throw new FormatException($"Line {line} of '{path}' has an empty \"_id\".");
        return value;
    }

    private static string ReadTitle(JsonElement root, string path, long line)
    {
        if (!root.TryGetProperty("title", out var title) || title.ValueKind == JsonValueKind.Null)
            return string.Empty;
        return title.ValueKind == JsonValueKind.String
            ? title.GetString()!
            : throw new FormatException($"Line {line} of '{path}' has a \"title\" that is not a string.");
    }

    private static string ReadText(JsonElement root, string path, long line)
    {
        if (!root.TryGetProperty("text", out var text))
            throw new FormatException($"Line {line} of '{path}' has no \"text\".");
        return text.ValueKind == JsonValueKind.String
            ? text.GetString()!
            : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"Line {line} of '{path}' has a \"text\" that is {text.ValueKind}, not a string."));
    }
}
