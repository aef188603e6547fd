using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>Reads the texts a command embeds from the file formats SaeMl knows, chosen by the path.</summary>
internal static class TextInputs
{
    /// <summary>
    /// An MS MARCO <c>.tsv</c> (<c>id&lt;TAB&gt;text</c>), a BEIR <c>.jsonl</c>, or a BEIR folder, of
    /// which <paramref name="part"/> ("corpus" or "queries") is read. The returned sequence can be
    /// enumerated again; each enumeration reads the file anew.
    /// </summary>
    public static IEnumerable<TextRecord> Read(string path, string part)
    {
        var file = FileRead(path, part);
        return file.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? MsMarcoReader.ReadPassages(file) : BeirReader.ReadCorpus(file);
    }

    /// <summary>What a command shows for each document of <paramref name="path"/> (all, or those <paramref name="wanted"/>), by id: its title, or the start of its text.</summary>
    public static Dictionary<string, string> Titles(string path, IReadOnlySet<string>? wanted = null) =>
        Read(path, "corpus").Where(r => wanted is null || wanted.Contains(r.Id))
            .ToDictionary(r => r.Id, r => r.Title is { Length: > 0 } title ? title : r.Text.Length > 60 ? r.Text[..60] + "…" : r.Text, StringComparer.Ordinal);

    /// <summary>The file <see cref="Read"/> reads: the path itself, or the part's file inside a BEIR folder.</summary>
    public static string FileRead(string path, string part)
    {
        if (Directory.Exists(path))
            return Path.Combine(path, part == "queries" ? "queries.jsonl" : "corpus.jsonl");
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
            return path;
        throw new ArgumentException($"'{path}' is neither a .tsv file (MS MARCO), a .jsonl file (BEIR) nor a BEIR folder.");
    }
}
