namespace SaeMl.Interpretation;

/// <summary>What one streaming pass of <see cref="FeatureScan"/> keeps per latent.</summary>
public sealed class FeatureScanOptions
{
    /// <summary>Exact top-activating documents kept per latent (m); the paper's N2G read 512.</summary>
    public int TopDocuments = 50;

    /// <summary>Activating documents kept per latent by uniform reservoir sampling, from which examples across activation quantiles are drawn.</summary>
    public int SampledDocuments = 64;

    /// <summary>Log-spaced bins of each latent's activation histogram.</summary>
    public int HistogramBins = 40;

    /// <summary>The lowest activation with a bin of its own; smaller ones count in the first bin.</summary>
    public float HistogramMinimum = 1e-4f;

    /// <summary>The highest bin edge; larger activations count in the last bin.</summary>
    public float HistogramMaximum = 10f;

    /// <summary>At most this many documents (an even stride over the store) count latent co-occurrences, the input of feature families.</summary>
    public int CooccurrenceDocuments = 100_000;

    /// <summary>The most latent pairs the co-occurrence count holds (about 40 bytes each); the rarest are dropped beyond it.</summary>
    public int CooccurrencePairs = 20_000_000;

    /// <summary>Store rows encoded per batch.</summary>
    public int BatchRows = 4096;

    /// <summary>Seeds the reservoir samples.</summary>
    public int Seed = 1;

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(TopDocuments);
        ArgumentOutOfRangeException.ThrowIfNegative(SampledDocuments);
        ArgumentOutOfRangeException.ThrowIfLessThan(HistogramBins, 2);
        if (!(HistogramMinimum > 0) || !(HistogramMaximum > HistogramMinimum) || float.IsInfinity(HistogramMaximum))
            throw new ArgumentOutOfRangeException(nameof(HistogramMinimum), $"The histogram needs 0 < minimum < maximum < ∞; got {HistogramMinimum} and {HistogramMaximum}.");
        ArgumentOutOfRangeException.ThrowIfNegative(CooccurrenceDocuments);
        ArgumentOutOfRangeException.ThrowIfLessThan(CooccurrencePairs, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchRows);
    }
}
