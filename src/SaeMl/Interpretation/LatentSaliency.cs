namespace SaeMl.Interpretation;

/// <summary>A latent's word saliency over its top documents and the patterns read from it.</summary>
/// <param name="Latent">The latent.</param>
/// <param name="SalientWords">For each top document analysed (by store row), its salient words with their strengths, strongest first.</param>
/// <param name="Patterns">The trie's patterns in reading order with the documents each occurs in.</param>
/// <param name="Precision">The patterns' precision as a predictor of the latent firing on held-out documents.</param>
/// <param name="Recall">Their recall there.</param>
public sealed record LatentSaliency(int Latent, IReadOnlyDictionary<long, IReadOnlyList<SalientWord>> SalientWords, IReadOnlyList<(string Pattern, int Documents)> Patterns, double Precision, double Recall);
