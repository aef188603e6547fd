namespace SaeMl.Interpretation;

/// <summary>How much <see cref="FeatureInterpreter"/> reads and computes per interpreted latent.</summary>
public sealed class InterpretationOptions
{
    /// <summary>The streaming pass over the corpus.</summary>
    public FeatureScanOptions Scan = new();

    /// <summary>Top documents a labeler sees.</summary>
    public int LabelingDocuments = 20;

    /// <summary>Activation quantiles the labeler's extra examples come from.</summary>
    public int Quantiles = 5;

    /// <summary>Examples per quantile.</summary>
    public int ExamplesPerQuantile = 2;

    /// <summary>Top documents whose word saliency is computed and whose salient words build the patterns (needs a document embedder); 0 turns saliency off.</summary>
    public int SaliencyDocuments = 10;

    /// <summary>Words of a document analysed for saliency.</summary>
    public int SaliencyWords = 64;

    /// <summary>Latents labelled at once (a chat labeler waits on the network; the local one is quick either way).</summary>
    public int LabelingParallelism = 4;

    /// <summary>Decoder neighbours kept per interpreted latent.</summary>
    public int Neighbors = 10;

    /// <summary>Activating (and as many non-activating) documents a label is scored on.</summary>
    public int ScoringDocuments = 20;

    /// <summary>The weakest co-occurrence that joins two latents in a family.</summary>
    public double FamilyStrength = 0.2;

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Scan);
        Scan.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(LabelingDocuments);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LabelingDocuments, Scan.TopDocuments);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Quantiles);
        ArgumentOutOfRangeException.ThrowIfNegative(ExamplesPerQuantile);
        ArgumentOutOfRangeException.ThrowIfNegative(SaliencyDocuments);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SaliencyWords);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(LabelingParallelism);
        ArgumentOutOfRangeException.ThrowIfNegative(Neighbors);
        ArgumentOutOfRangeException.ThrowIfLessThan(ScoringDocuments, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(FamilyStrength);
    }
}
