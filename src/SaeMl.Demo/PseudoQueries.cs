using System.Text.RegularExpressions;
using SaeMl.Data;

namespace SaeMl.Demo;

/// <summary>
/// Short query-like texts cut from a corpus's own documents: the opening words of each document's first
/// sentences. They give an autoencoder more query-shaped training rows where real queries are few; no
/// query and no judgement is read to make them.
/// </summary>
public static partial class PseudoQueries
{
    /// <summary>The fewest words a sentence needs to become a pseudo-query.</summary>
    public const int MinimumWords = 3;

    /// <summary>
    /// Up to <paramref name="perDocument"/> pseudo-queries per document, in corpus order: its title, then each
    /// sentence of its text (a sentence ends at '.', '!' or '?' followed by white space and an ASCII capital
    /// letter or a digit), each that has at least <see cref="MinimumWords"/> words, cut to its first
    /// <paramref name="maxWords"/> words, without a trailing '.', ',', ';' or ':'. A text already made from an
    /// earlier document (compared without case)
    /// is skipped, so sibling documents that share their opening give it once. Ids are
    /// <c>p:&lt;document id&gt;:&lt;i&gt;</c>.
    /// </summary>
    /// <param name="documents">The corpus.</param>
    /// <param name="perDocument">The most pseudo-queries taken from one document (at least 1).</param>
    /// <param name="maxWords">The most words of a pseudo-query (at least <see cref="MinimumWords"/>).</param>
    /// <param name="excludedDocuments">Ids of documents to make none from, e.g. those the evaluation queries ask for.</param>
    public static IEnumerable<TextRecord> FromDocuments(IEnumerable<TextRecord> documents, int perDocument = 2, int maxWords = 12, IReadOnlySet<string>? excludedDocuments = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(perDocument, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWords, MinimumWords);
        return Cut();

        IEnumerable<TextRecord> Cut()
        {
            var made = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var document in documents)
            {
                if (excludedDocuments?.Contains(document.Id) == true)
                    continue;
                var taken = 0;
                foreach (var sentence in SentenceEnd().Split(document.Text).Prepend(document.Title))
                {
                    var words = sentence.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    if (words.Length < MinimumWords)
                        continue;
                    var text = string.Join(' ', words.Take(maxWords)).TrimEnd('.', ',', ';', ':');
                    if (!made.Add(text))
                        continue;
                    yield return new TextRecord($"p:{document.Id}:{taken}", string.Empty, text, document.LineNumber);
                    if (++taken == perDocument)
                        break;
                }
            }
        }
    }

    /// <summary>
    /// Writes <c>pseudo-queries.jsonl</c> into a BEIR folder from its <c>corpus.jsonl</c>, leaving out the documents
    /// judged relevant in its <c>qrels/&lt;excludedSplit&gt;.tsv</c> (none when <paramref name="excludedSplit"/> is null).
    /// Documents that share an excluded one's opening (a package's <c>-dev</c> and <c>-doc</c> siblings) may still give it.
    /// </summary>
    /// <returns>The path written and the number of pseudo-queries in it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static (string Path, int Count) Write(string folder, int perDocument = 2, int maxWords = 12, string? excludedSplit = "test")
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Could not find the BEIR folder '{folder}' (expected corpus.jsonl in it).");
        var excluded = new HashSet<string>(StringComparer.Ordinal);
        if (excludedSplit is not null)
        {
            var qrels = BeirReader.ReadQrels(folder, excludedSplit);
            foreach (var query in qrels.QueryIds)
                excluded.UnionWith(qrels.RelevantDocuments(query));
        }

        var path = System.IO.Path.Combine(folder, "pseudo-queries.jsonl");
        var count = 0;
        JsonLines.Write(path, FromDocuments(BeirReader.ReadCorpus(folder), perDocument, maxWords, excluded), (json, query) =>
        {
            count++;
            json.WriteString("_id", query.Id);
            json.WriteString("text", query.Text);
        });
        return (path, count);
    }

    [GeneratedRegex(@"(?<=[.!?])\s+(?=[A-Z0-9])")]
    private static partial Regex SentenceEnd();
}
