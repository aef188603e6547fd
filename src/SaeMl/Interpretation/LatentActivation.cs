namespace SaeMl.Interpretation;

/// <summary>One document's activation of a latent: the store row and the latent's value there.</summary>
/// <param name="Row">The document's row in the corpus store.</param>
/// <param name="Value">The latent's activation (after TopK and ReLU).</param>
public readonly record struct LatentActivation(long Row, float Value);
