namespace SaeMl.Autoencoder;

/// <summary>A BatchTopK training epoch's batch thresholds so far: their sum and how many batches gave one.</summary>
internal readonly record struct BatchThresholds(double Sum, int Batches)
{
    /// <summary>These and one more batch's threshold.</summary>
    public BatchThresholds Add(double threshold) => new(Sum + threshold, Batches + 1);
}
