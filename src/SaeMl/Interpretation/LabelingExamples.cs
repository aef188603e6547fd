namespace SaeMl.Interpretation;

/// <summary>One document shown to a labeler: its text, how strongly the latent fired, and the words found salient (empty when saliency was not computed).</summary>
/// <param name="Text">The document's text.</param>
/// <param name="Activation">The latent's activation on it.</param>
/// <param name="SalientWords">The words that fire the latent most on their own (<see cref="WordSaliency.SalientWords"/>), strongest first.</param>
public sealed record LabelingExample(string Text, float Activation, IReadOnlyList<string> SalientWords);

/// <summary>What a labeler sees of one latent: its top documents and examples across its activation range.</summary>
/// <param name="Latent">The latent.</param>
/// <param name="TopDocuments">The highest-activating documents, highest first.</param>
/// <param name="QuantileExamples">Documents sampled across the activation range, lowest first.</param>
public sealed record LabelingExamples(int Latent, IReadOnlyList<LabelingExample> TopDocuments, IReadOnlyList<LabelingExample> QuantileExamples);
