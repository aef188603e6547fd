namespace SaeMl.Interpretation;

/// <summary>Where a latent sits in the frequency ranking of the alive latents, for sampling features as the paper's Tables 2 and 6 do.</summary>
public enum FrequencyGroup
{
    /// <summary>Fires in no document of the corpus.</summary>
    Dead,

    /// <summary>The most frequent tenth of the alive latents.</summary>
    Head,

    /// <summary>Between the head and the tail.</summary>
    Torso,

    /// <summary>The least frequent half of the alive latents.</summary>
    Tail,
}
