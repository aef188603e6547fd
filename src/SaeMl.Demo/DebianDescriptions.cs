using System.Text;
using System.Text.Json;
using SaeMl.Data;

namespace SaeMl.Demo;

/// <summary>One Debian package's description: its one-line synopsis and the paragraphs under it.</summary>
/// <param name="Package">The package name, unique in a release.</param>
/// <param name="Synopsis">The short description, e.g. "Fast array facility to the Python 3 language".</param>
/// <param name="Text">The long description, paragraphs joined by blank-free single spaces.</param>
public sealed record PackageDescription(string Package, string Synopsis, string Text);

/// <summary>
/// A real-text retrieval set from Debian's package descriptions (the <c>Translation-en</c> index that
/// <c>apt-get update -o Acquire::Languages=en</c> fetches): each package's synopsis is a short real
/// query, its long description the one relevant document. Packages built from one source share most
/// of their text (<c>foo</c>, <c>foo-dev</c>, <c>foo-doc</c>), so every query has near-duplicate
/// siblings, as MS MARCO's passages do. Descriptions are written by Debian's maintainers and
/// distributed with the archive under the packages' own free licences.
/// </summary>
public static class DebianDescriptions
{
    /// <summary>The fewest words a long description needs to be kept.</summary>
    public const int MinimumWords = 8;

    /// <summary>Reads a <c>Translation-en</c> file (plain text): each stanza's <c>Package</c> and <c>Description-en</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A stanza has a description but no package, or the file has no stanza at all.</exception>
    public static IEnumerable<PackageDescription> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Could not find the Debian translation index '{path}'.", path);
        return Stanzas();

        IEnumerable<PackageDescription> Stanzas()
        {
            string? package = null, synopsis = null;
            var text = new StringBuilder();
            var any = false;
            long number = 0, stanzaStart = 1;
            foreach (var line in File.ReadLines(path, Encoding.UTF8).Append(string.Empty))
            {
                number++;
                if (line.Length == 0)
                {
                    if (synopsis is not null)
                    {
                        if (package is null)
                            throw new FormatException($"The stanza at line {stanzaStart} of '{path}' has a Description-en but no Package.");
                        any = true;
                        yield return new PackageDescription(package, synopsis, text.ToString());
                    }

                    (package, synopsis, stanzaStart) = (null, null, number + 1);
                    text.Clear();
                }
                else if (line.StartsWith("Package:", StringComparison.Ordinal))
                {
                    package = line["Package:".Length..].Trim();
                }
                else if (line.StartsWith("Description-en:", StringComparison.Ordinal))
                {
                    synopsis = line["Description-en:".Length..].Trim();
                }
                else if (line[0] == ' ' && synopsis is not null)
                {
                    var content = line.Trim();
                    if (content != ".")                                  // " ." separates paragraphs
                        text.Append(text.Length > 0 ? " " : string.Empty).Append(content);
                }
            }

            if (!any)
                throw new FormatException($"'{path}' holds no package description: expected stanzas with Package and Description-en lines.");
        }
    }

    /// <summary>
    /// Writes the retrieval set in the BEIR layout: <c>corpus.jsonl</c> (every kept package, id = package
    /// name, text = long description), <c>queries.jsonl</c> and <c>qrels/test.tsv</c> (a random
    /// <paramref name="testQueries"/> synopses), <c>train-queries.jsonl</c> and <c>qrels/train.tsv</c> (the
    /// others). Packages with fewer than <see cref="MinimumWords"/> words of description, or whose
    /// synopsis repeats another's word for word, are left out; duplicate packages keep the first.
    /// </summary>
    /// <returns>The documents, test queries and training queries written.</returns>
    public static (int Documents, int TestQueries, int TrainingQueries) WriteRetrievalSet(IEnumerable<PackageDescription> descriptions, string folder, int testQueries = 2_000, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(descriptions);
        ArgumentOutOfRangeException.ThrowIfNegative(testQueries);
        var kept = new List<PackageDescription>();
        var packages = new HashSet<string>(StringComparer.Ordinal);
        var synopses = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var description in descriptions)
        {
            if (description.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length < MinimumWords || !packages.Add(description.Package))
                continue;
            synopses[description.Synopsis] = synopses.GetValueOrDefault(description.Synopsis) + 1;
            kept.Add(description);
        }

        if (kept.Count == 0)
            throw new ArgumentException("No package description is long enough to be a document.", nameof(descriptions));
        var askable = kept.Where(d => synopses[d.Synopsis] == 1).ToList();    // a synopsis shared word for word has no one answer
        var order = askable.ToArray();
        new Random(seed).Shuffle(order);
        var test = order.Take(Math.Min(testQueries, order.Length)).OrderBy(d => d.Package, StringComparer.Ordinal).ToList();
        var train = order.Skip(test.Count).OrderBy(d => d.Package, StringComparer.Ordinal).ToList();

        Directory.CreateDirectory(Path.Combine(folder, "qrels"));
        JsonLines.Write(Path.Combine(folder, "corpus.jsonl"), kept, (json, d) =>
        {
            json.WriteString("_id", d.Package);
            json.WriteString("title", string.Empty);
            json.WriteString("text", d.Text);
        });
        foreach (var (file, qrels, queries) in new[] { ("queries.jsonl", "test.tsv", test), ("train-queries.jsonl", "train.tsv", train) })
        {
            JsonLines.Write(Path.Combine(folder, file), queries, (json, d) =>
            {
                json.WriteString("_id", "q:" + d.Package);
                json.WriteString("text", d.Synopsis);
            });
            AtomicFile.Write(Path.Combine(folder, "qrels", qrels), stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
                writer.Write("query-id\tcorpus-id\tscore\n");
                foreach (var d in queries)
                    writer.Write($"q:{d.Package}\t{d.Package}\t1\n");
            });
        }

        return (kept.Count, test.Count, train.Count);
    }
}
