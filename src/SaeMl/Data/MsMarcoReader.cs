namespace SaeMl.Data;

/// <summary>
/// Streams the MS MARCO passage-ranking files: <c>collection.tsv</c> and <c>queries.*.tsv</c>
/// (<c>id&lt;TAB&gt;text</c> per line) and qrels (<c>qid 0 pid grade</c>).
/// </summary>
/// <remarks>
/// The text is everything after the first tab, kept as is. Blank lines are skipped; a line without a
/// tab or with an empty id is a <see cref="FormatException"/> naming the file and line. Ids are not
/// checked for uniqueness here: <see cref="IdIndex.Build(IEnumerable{TextRecord}, string)"/> does that
/// while mapping them to rows, so a corpus-scale read keeps one id table, not two.
/// </remarks>
public static class MsMarcoReader
{
    /// <summary>Streams passages from <c>collection.tsv</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IEnumerable<TextRecord> ReadPassages(string path) => ReadTsv(path);

    /// <summary>Streams queries from a <c>queries.*.tsv</c> file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IEnumerable<TextRecord> ReadQueries(string path) => ReadTsv(path);

    /// <summary>Reads MS MARCO qrels (TREC qrels format, see <see cref="Qrels.ReadTrec"/>).</summary>
    public static Qrels ReadQrels(string path) => Qrels.ReadTrec(path);

    private static IEnumerable<TextRecord> ReadTsv(string path)
    {
        var lines = TextLines.Read(path);
        return lines.Select(line =>
        {
            var tab = line.Text.IndexOf('\t');
            if (tab < 0)
                throw new FormatException($"Line {line.Number} of '{path}' has no tab: expected 'id<TAB>text'.");
            if (tab == 0)
                throw new FormatException($"Line {line.Number} of '{path}' has an empty id.");
            return new TextRecord(line.Text[..tab], string.Empty, line.Text[(tab + 1)..], line.Number);
        });
    }
}
