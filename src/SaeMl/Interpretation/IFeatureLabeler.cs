namespace SaeMl.Interpretation;

/// <summary>Names latents from their examples.</summary>
public interface IFeatureLabeler
{
    /// <summary>Identifies the labeler and its settings in caches (never a secret such as a key).</summary>
    string Name { get; }

    /// <summary>Labels one latent. A failure is returned as a <see cref="FeatureLabel"/> with its error, not thrown, so one bad latent costs only itself; cancellation is thrown.</summary>
    Task<FeatureLabel> LabelAsync(LabelingExamples examples, CancellationToken cancellationToken = default);
}
