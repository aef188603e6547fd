using SaeMl.Data;

namespace SaeMl.Interpretation;

/// <summary>
/// The result of <see cref="FeatureInterpreter.InterpretAsync"/>: the scan over the corpus for every
/// latent, and labels, scores, saliency and neighbours for the latents interpreted. Read it as
/// <see cref="FeatureCard"/>s, or save it as a <see cref="FeatureAtlas"/>.
/// </summary>
public sealed class FeatureInterpretation
{
    private readonly IReadOnlyList<string> _ids;
    private readonly FrequencyGroup[] _groups;

    internal FeatureInterpretation(
        string modelIdentity,
        int activeLatents,
        float activationThreshold,
        EmbeddingStore corpus,
        IReadOnlyList<string> documentIds,
        FeatureScan scan,
        FeatureFamilies families,
        (string Unit, long[] Counts) bagOfWords,
        IReadOnlyDictionary<int, FeatureLabel> labels,
        IReadOnlyDictionary<int, LabelScore> scores,
        IReadOnlyDictionary<int, LatentSaliency> saliency,
        IReadOnlyDictionary<int, IReadOnlyList<LatentNeighbor>> neighbors)
    {
        ModelIdentity = modelIdentity;
        ActiveLatents = activeLatents;
        ActivationThreshold = activationThreshold;
        CorpusName = corpus.Name;
        _ids = documentIds;
        Scan = scan;
        Families = families;
        BagOfWordsUnit = bagOfWords.Unit;
        BagOfWordsCounts = bagOfWords.Counts;
        Labels = labels;
        Scores = scores;
        Saliency = saliency;
        Neighbors = neighbors;
        _groups = scan.Statistics.Groups();
    }

    /// <summary>Identifies the autoencoder's weights (see <see cref="FeatureAtlas.IdentityOf"/>).</summary>
    public string ModelIdentity { get; }

    /// <summary>K: the latents each document keeps, or with an <see cref="ActivationThreshold"/> the most it may keep.</summary>
    public int ActiveLatents { get; }

    /// <summary>θ, the autoencoder's activation threshold (<see cref="Autoencoder.SparseAutoencoder.ActivationThreshold"/>); 0 for TopK.</summary>
    public float ActivationThreshold { get; }

    /// <summary>The corpus store's name.</summary>
    public string CorpusName { get; }

    /// <summary>The scan over the corpus.</summary>
    public FeatureScan Scan { get; }

    /// <summary>The feature families.</summary>
    public FeatureFamilies Families { get; }

    /// <summary>What the bag-of-words distribution counts: "wordpiece tokens" or "words".</summary>
    public string BagOfWordsUnit { get; }

    /// <summary>Document frequency of every bag-of-words unit.</summary>
    public IReadOnlyList<long> BagOfWordsCounts { get; }

    /// <summary>The label of each interpreted latent.</summary>
    public IReadOnlyDictionary<int, FeatureLabel> Labels { get; }

    /// <summary>The score of each scored label, by latent.</summary>
    public IReadOnlyDictionary<int, LabelScore> Scores { get; }

    /// <summary>Word saliency and patterns, by latent (with a document embedder).</summary>
    public IReadOnlyDictionary<int, LatentSaliency> Saliency { get; }

    /// <summary>Decoder neighbours, by latent.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<LatentNeighbor>> Neighbors { get; }

    /// <summary>The Zipf fit of the latents' document frequencies.</summary>
    public ZipfFit LatentZipf => Scan.Statistics.Zipf();

    /// <summary>The Zipf fit of the bag-of-words document frequencies.</summary>
    public ZipfFit BagOfWordsZipf => ZipfFit.Of(BagOfWordsCounts);

    /// <summary>One latent's card; examples across quantiles are <paramref name="quantiles"/> × <paramref name="perQuantile"/> from the scan's sample.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The latent is outside 0..n−1.</exception>
    public FeatureCard Card(int latent, int quantiles = 5, int perQuantile = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(latent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(latent, Scan.Statistics.LatentSize);
        var statistics = Scan.Statistics;
        var saliency = Saliency.GetValueOrDefault(latent);
        AtlasExample Example(LatentActivation a) => new(a.Row, _ids[(int)a.Row], a.Value,
            saliency is not null && saliency.SalientWords.TryGetValue(a.Row, out var words) ? words : []);
        return new FeatureCard(
            latent,
            statistics.FireCounts[latent],
            statistics.Frequency(latent),
            statistics.MeanActivation(latent),
            statistics.MaxActivation(latent),
            _groups[latent],
            Families.RootOf(latent),
            Families.ParentOf(latent),
            statistics.Histogram(latent).ToArray(),
            [.. Scan.Top.Of(latent).Select(Example)],
            [.. Scan.Samples.AcrossQuantiles(latent, quantiles, perQuantile).SelectMany(q => q).Select(Example)],
            Neighbors.GetValueOrDefault(latent) ?? [],
            Labels.TryGetValue(latent, out var label) ? [label] : [],
            Scores.TryGetValue(latent, out var score) ? [score] : [],
            saliency?.Patterns ?? [],
            Defined(saliency?.Precision),
            Defined(saliency?.Recall));
    }

    private static double? Defined(double? value) => value is { } v && !double.IsNaN(v) ? v : null;

    /// <summary>Writes the atlas file atomically: a temporary file in the same folder, renamed over <paramref name="path"/> when complete.</summary>
    public void Save(string path) => FeatureAtlas.Write(path, this);
}
