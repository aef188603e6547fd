namespace SaeMl.Interpretation;

/// <summary>One document shown for a latent: its store row, corpus id, the latent's activation and, where saliency was computed, its salient words, strongest first.</summary>
public sealed record AtlasExample(long Row, string DocumentId, float Activation, IReadOnlyList<SalientWord> SalientWords);

/// <summary>A decoder neighbour: another latent and the cosine of the two decoder directions.</summary>
public readonly record struct LatentNeighbor(int Latent, double Cosine);

/// <summary>Everything the atlas knows about one latent.</summary>
/// <param name="Latent">The latent's index.</param>
/// <param name="FireCount">Documents it fires in.</param>
/// <param name="Frequency">The share of documents it fires in.</param>
/// <param name="MeanActivation">Its mean activation where it fires.</param>
/// <param name="MaxActivation">Its largest activation.</param>
/// <param name="Group">Head, torso, tail or dead.</param>
/// <param name="FamilyRoot">The root latent of its family (itself when alone or the root).</param>
/// <param name="FamilyParent">Its parent in the family tree, or −1.</param>
/// <param name="Histogram">Activation counts per bin of <see cref="FeatureAtlas.BinEdges"/>.</param>
/// <param name="TopDocuments">Its top-activating documents, highest first.</param>
/// <param name="QuantileExamples">Documents across its activation range, lowest first.</param>
/// <param name="Neighbors">Its nearest latents by decoder cosine (interpreted latents only).</param>
/// <param name="Labels">Its labels, one per labeler.</param>
/// <param name="Scores">Its labels' scores.</param>
/// <param name="Patterns">Its salient word patterns with the documents each occurs in, or empty.</param>
/// <param name="PatternPrecision">The patterns' precision as a predictor of firing on held-out documents, or null where not measured.</param>
/// <param name="PatternRecall">Their recall, or null.</param>
public sealed record FeatureCard(
    int Latent,
    long FireCount,
    double Frequency,
    double MeanActivation,
    float MaxActivation,
    FrequencyGroup Group,
    int FamilyRoot,
    int FamilyParent,
    IReadOnlyList<long> Histogram,
    IReadOnlyList<AtlasExample> TopDocuments,
    IReadOnlyList<AtlasExample> QuantileExamples,
    IReadOnlyList<LatentNeighbor> Neighbors,
    IReadOnlyList<FeatureLabel> Labels,
    IReadOnlyList<LabelScore> Scores,
    IReadOnlyList<(string Pattern, int Documents)> Patterns,
    double? PatternPrecision,
    double? PatternRecall)
{
    /// <summary>The first successful label, or null.</summary>
    public FeatureLabel? Label => Labels.FirstOrDefault(l => l.Succeeded);
}
