namespace SaeMl.Steering;

/// <summary>How steered latents become the output embedding.</summary>
public enum SteeringMode
{
    /// <summary>
    /// The paper's: decode the edited latents, x′ = decode(h′). The output is a reconstruction, so it carries the
    /// autoencoder's reconstruction error as well as the edit; an empty plan returns the reconstruction.
    /// </summary>
    Decode,

    /// <summary>
    /// x′ = x + decode(h′) − decode(h): only the edit moves the vector, so an empty plan returns the input exactly and
    /// adding α to latent j moves it by α times latent j's decoder direction.
    /// </summary>
    ErrorPreserving,
}

/// <summary>Every setting of <c>mlContext.Transforms.SteerLatents</c>.</summary>
public sealed class LatentSteeringOptions
{
    /// <summary>The steered embedding column written (a vector of Single of length d).</summary>
    public string OutputColumnName = "Steered";

    /// <summary>The embedding column read (a vector of Single of length d).</summary>
    public string InputColumnName = "Embedding";

    /// <summary>When set, a column with the steered latents: a sparse vector of length n holding the row's K latents and the ones the plan switched on.</summary>
    public string? LatentColumnName;

    /// <summary>The edits.</summary>
    public SteeringPlan Plan = SteeringPlan.Empty;

    /// <summary>How the edited latents become the output; <see cref="SteeringMode.ErrorPreserving"/> by default.</summary>
    public SteeringMode Mode = SteeringMode.ErrorPreserving;

    /// <summary>Scale every output to unit length, for models compared by cosine.</summary>
    public bool Normalize;
}
