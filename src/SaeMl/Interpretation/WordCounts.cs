using System.Text;

namespace SaeMl.Interpretation;

/// <summary>
/// In how many documents each word occurs: the background the local labeler contrasts a latent's top
/// documents with. Words are runs of letters and digits, lower-cased, with at least two letters.
/// </summary>
public sealed class WordCounts
{
    private readonly Dictionary<string, long> _documents = new(StringComparer.Ordinal);

    /// <summary>The documents counted.</summary>
    public long Documents { get; private set; }

    /// <summary>The number of distinct words.</summary>
    public int Count => _documents.Count;

    /// <summary>Counts of every text in turn.</summary>
    public static WordCounts Of(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var counts = new WordCounts();
        foreach (var text in texts)
            counts.Add(text);
        return counts;
    }

    /// <summary>Counts one document: each distinct word once.</summary>
    public void Add(string text)
    {
        Documents++;
        foreach (var word in Words(text).Distinct(StringComparer.Ordinal))
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_documents, word, out _)++;
    }

    /// <summary>The documents a word occurs in.</summary>
    public long DocumentsWith(string word) => _documents.GetValueOrDefault(word);

    /// <summary>Every word with its document count.</summary>
    public IEnumerable<KeyValuePair<string, long>> Entries => _documents;

    /// <summary>The words of a text, in order, as this class counts them.</summary>
    public static IEnumerable<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var word = new StringBuilder();
        var letters = 0;
        foreach (var rune in (text + " ").EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(Rune.ToLowerInvariant(rune).ToString());
                letters += Rune.IsLetter(rune) ? 1 : 0;
                continue;
            }

            if (letters >= 2)
                yield return word.ToString().Normalize(NormalizationForm.FormC);
            word.Clear();
            letters = 0;
        }
    }
}
