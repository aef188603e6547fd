namespace SaeMl.Interpretation;

/// <summary>A name for a latent, from one labeler, or the error that kept the labeler from naming it.</summary>
/// <param name="Latent">The latent.</param>
/// <param name="Labeler">Which labeler named it (e.g. <c>local:words=5,documents=2,share=0.25,z=1.96,stop=english</c>, <c>chat:gpt-4o-mini</c>); labels are cached per labeler.</param>
/// <param name="Text">The label, e.g. "health, nutrition, immune, disease, metabolism"; empty when <paramref name="Error"/> is set.</param>
/// <param name="Error">Why there is no label, or null.</param>
public sealed record FeatureLabel(int Latent, string Labeler, string Text, string? Error = null)
{
    /// <summary>Whether the labeler produced a label.</summary>
    public bool Succeeded => Error is null && Text.Length > 0;
}
