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
        if (Directory.Exists(path))
            return part == "queries" ? BeirReader.ReadQueries(path) : BeirReader.ReadCorpus(path);
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            return BeirReader.ReadCorpus(path);
        if (path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
            return MsMarcoReader.ReadPassages(path);
        throw new ArgumentException($"'{path}' is neither a .tsv file (MS MARCO), a .jsonl file (BEIR) nor a BEIR folder.");
    }
}
