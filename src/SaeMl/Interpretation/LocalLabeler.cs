using System.Collections.Frozen;
using System.Globalization;

namespace SaeMl.Interpretation;

/// <summary>
/// Labels a latent with no network: the words that most distinguish its top documents from the
/// corpus, by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn,
/// 2008), ranked by z-score, rendered as "w1, w2, w3, w4, w5".
/// </summary>
/// <remarks>
/// Counts are document frequencies: in how many top documents and how many corpus documents a word
/// occurs. The prior puts <see cref="PriorStrength"/> pseudo-documents on the corpus's word
/// distribution, so a rare word seen in two top documents does not outrank a word seen in forty. A label
/// word must be over-represented in the top documents, its z-score at least <see cref="MinimumZ"/> (a function word that
/// a quarter of them hold says nothing of a latent whose top documents share no content word; such a latent gets no label
/// rather than "need, at, from"), and must occur in <see cref="MinimumShare"/> of the top documents: with twenty of them, a word of
/// a second topic that four share is far rarer in the corpus than the words all twenty share, and its
/// log-odds would outrank theirs although it says less about the latent. A top
/// document that repeats an earlier one almost word for word (<see cref="NearDuplicate"/> of their word
/// sets shared) counts once: real corpora hold families of near-identical documents (a package and its
/// -dev and -doc siblings), whose boilerplate would otherwise pass for the latent's theme.
/// </remarks>
public sealed class LocalLabeler : IFeatureLabeler
{
    private readonly WordCounts _background;
    private readonly double _backgroundTotal;

    /// <summary>A labeler contrasting top documents with <paramref name="background"/>, the corpus's word counts.</summary>
    /// <param name="background">Document frequencies over the corpus.</param>
    /// <param name="words">Words per label.</param>
    /// <param name="minimumDocuments">A word must occur in at least this many top documents.</param>
    /// <param name="minimumShare">A word must occur in at least this share of the top documents (near-duplicates counted once), from 0 to 1.</param>
    /// <param name="minimumZ">A word's z-score must reach this; <see cref="double.NegativeInfinity"/> keeps every word that meets the counts.</param>
    /// <param name="stopWords">Words that are never label words (lower case); null for <see cref="EnglishFunctionWords"/>, an empty set for none.</param>
    public LocalLabeler(WordCounts background, int words = 5, int minimumDocuments = 2, double minimumShare = DefaultMinimumShare, double minimumZ = DefaultMinimumZ,
        IReadOnlySet<string>? stopWords = null)
    {
        ArgumentNullException.ThrowIfNull(background);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(words);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minimumDocuments);
        if (!(minimumShare is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(minimumShare), minimumShare, "The share of top documents a label word needs must be from 0 to 1.");
        if (double.IsNaN(minimumZ) || double.IsPositiveInfinity(minimumZ))
            throw new ArgumentOutOfRangeException(nameof(minimumZ), minimumZ, "The z-score a label word needs must be a number (or negative infinity for none).");
        if (background.Documents == 0)
            throw new ArgumentException("The background word counts hold no documents.", nameof(background));
        _background = background;
        _backgroundTotal = background.Entries.Sum(e => e.Value);
        Words = words;
        MinimumDocuments = minimumDocuments;
        MinimumShare = minimumShare;
        MinimumZ = minimumZ;
        // A copy, spelt as WordCounts spells words, so that the caller's later changes cannot make Name lie.
        StopWords = stopWords is null ? EnglishFunctionWords : stopWords.SelectMany(WordCounts.Words).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// English function words (articles, pronouns, prepositions, conjunctions, auxiliaries and the like), the default
    /// <see cref="StopWords"/>: on real text a latent whose top documents share no content word would otherwise be labelled
    /// with the few of these they happen to share more often than the corpus does ("it, that", "at, also").
    /// </summary>
    public static IReadOnlySet<string> EnglishFunctionWords { get; } = new[]
    {
        "about", "above", "across", "after", "again", "against", "all", "almost", "along", "already", "also", "although", "always", "am", "among",
        "an", "and", "another", "any", "are", "around", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
        "can", "cannot", "could", "did", "do", "does", "doing", "done", "down", "during", "each", "either", "else", "enough", "etc", "even", "ever",
        "every", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how",
        "however", "if", "in", "into", "is", "it", "its", "itself", "just", "less", "like", "many", "may", "me", "might", "more", "most", "much",
        "must", "my", "myself", "neither", "never", "no", "nor", "not", "now", "of", "off", "often", "on", "once", "one", "only", "onto", "or", "other",
        "others", "our", "ours", "ourselves", "out", "over", "own", "per", "quite", "rather", "same", "shall", "she", "should", "since", "so", "some",
        "still", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "therefore", "these", "they", "this", "those",
        "though", "through", "thus", "to", "too", "toward", "towards", "two", "under", "unless", "until", "up", "upon", "us", "very", "via", "was", "we",
        "well", "were", "what", "whatever", "when", "whenever", "where", "whereas", "wherever", "whether", "which", "while", "who", "whoever", "whom",
        "whose", "why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself", "yourselves",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The share of top documents a label word needs unless told otherwise: a quarter.</summary>
    public const double DefaultMinimumShare = 0.25;

    /// <summary>The z-score a label word needs unless told otherwise: 1.96, the two-sided 5 % critical value.</summary>
    public const double DefaultMinimumZ = 1.96;

    /// <summary>The total pseudo-count of the prior.</summary>
    public const double PriorStrength = 100;

    /// <summary>Words per label.</summary>
    public int Words { get; }

    /// <summary>The fewest top documents a label word occurs in.</summary>
    public int MinimumDocuments { get; }

    /// <summary>The least share of the top documents (near-duplicates counted once) a label word occurs in.</summary>
    public double MinimumShare { get; }

    /// <summary>The least z-score of a label word's log-odds ratio.</summary>
    public double MinimumZ { get; }

    /// <summary>Words that are never label words.</summary>
    public IReadOnlySet<string> StopWords { get; }

    /// <summary>
    /// Identifies the labeler in caches with its settings, e.g. <c>local:words=5,documents=2,share=0.25,z=1.96,stop=english</c>: labels an
    /// atlas holds from other settings are not reused as if this labeler had given them. Stop words other than the default are named
    /// <c>stop=none</c> or by a digest of the set.
    /// </summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"local:words={Words},documents={MinimumDocuments},share={MinimumShare},z={MinimumZ},stop={StopWordsName}");

    private string StopWordsName => ReferenceEquals(StopWords, EnglishFunctionWords) ? "english" : StopWords.Count == 0 ? "none"
        : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", StopWords.Order(StringComparer.Ordinal)))))[..12].ToLowerInvariant();

    /// <inheritdoc/>
    public Task<FeatureLabel> LabelAsync(LabelingExamples examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var distinct = Distinct(examples.TopDocuments.Select(d => d.Text));
        var words = Rank(distinct).Take(Words).Select(w => w.Word).ToList();
        return Task.FromResult(words.Count == 0
            ? new FeatureLabel(examples.Latent, Name, string.Empty, string.Create(CultureInfo.InvariantCulture,
                $"No word occurs in {DocumentsNeeded(distinct.Count)} or more of the latent's {distinct.Count} distinct top document{(distinct.Count == 1 ? "" : "s")}{(double.IsNegativeInfinity(MinimumZ) ? "" : $" with a z-score of {MinimumZ} or more over the corpus")}."))
            : new FeatureLabel(examples.Latent, Name, string.Join(", ", words)));
    }

    /// <summary>The share of two documents' distinct words (Jaccard) from which the later counts as a repeat of the earlier.</summary>
    public const double NearDuplicate = 0.8;

    /// <summary>Every word of the documents (near-duplicates counted once), <see cref="StopWords"/> left out, that occurs in enough of them (<see cref="MinimumDocuments"/> and <see cref="MinimumShare"/>) with a z-score of at least <see cref="MinimumZ"/>, most distinctive first, with its z-score.</summary>
    public IEnumerable<(string Word, double Z)> DistinctiveWords(IEnumerable<string> documents) => Rank(Distinct(documents));

    /// <summary>How many of <paramref name="documents"/> distinct top documents a label word must occur in.</summary>
    private int DocumentsNeeded(int documents) =>
        Math.Max(MinimumDocuments, (int)Math.Ceiling(Math.Round(MinimumShare * documents, 9)));   // rounded first: 0.07 × 100 is 7.000000000000001

    /// <summary>The documents in order, each that repeats an earlier one almost word for word left out.</summary>
    private static List<string> Distinct(IEnumerable<string> documents)
    {
        var kept = new List<HashSet<string>>();
        var distinct = new List<string>();
        foreach (var document in documents)
        {
            var words = WordCounts.Words(document).ToHashSet(StringComparer.Ordinal);
            if (kept.Any(other => Jaccard(words, other) >= NearDuplicate))
                continue;
            kept.Add(words);
            distinct.Add(document);
        }

        return distinct;
    }

    private IEnumerable<(string Word, double Z)> Rank(List<string> distinct)
    {
        var foreground = WordCounts.Of(distinct);
        var foregroundTotal = (double)foreground.Entries.Sum(e => e.Value);
        var needed = DocumentsNeeded(distinct.Count);
        return foreground.Entries
            .Where(e => e.Value >= needed && !StopWords.Contains(e.Key))
            .Select(e => (Word: e.Key, Z: ZScore(e.Value, foregroundTotal, Math.Max(_background.DocumentsWith(e.Key), e.Value), _backgroundTotal)))
            .Where(w => double.IsNegativeInfinity(MinimumZ) || w.Z >= MinimumZ)
            .OrderByDescending(w => w.Z).ThenBy(w => w.Word, StringComparer.Ordinal);
    }

    private static double Jaccard(HashSet<string> first, HashSet<string> second)
    {
        var shared = first.Count(second.Contains);
        var union = first.Count + second.Count - shared;
        return union == 0 ? 1 : (double)shared / union;
    }

    /// <summary>The log-odds ratio of a word between the foreground (y_i of n_i) and the background (y_j of n_j), over its standard deviation.</summary>
    internal static double ZScore(double foreground, double foregroundTotal, double background, double backgroundTotal)
    {
        var alpha = PriorStrength * background / backgroundTotal;
        var delta = Math.Log((foreground + alpha) / (foregroundTotal + PriorStrength - foreground - alpha))
            - Math.Log((background + alpha) / (backgroundTotal + PriorStrength - background - alpha));
        return delta / Math.Sqrt(1 / (foreground + alpha) + 1 / (background + alpha));
    }
}
