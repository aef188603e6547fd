namespace SaeMl.Steering;

/// <summary>What a <see cref="LatentEdit"/> does to its latent's activation h.</summary>
public enum LatentEditKind
{
    /// <summary>h + α (never below 0): amplifies a latent, or switches on one the row did not use.</summary>
    Add,

    /// <summary>h · β (β ≥ 0): strengthens or weakens a latent the row uses.</summary>
    Scale,

    /// <summary>v (v ≥ 0), whatever h was.</summary>
    Set,

    /// <summary>0: switches the latent off.</summary>
    Ablate,
}

/// <summary>
/// One edit of one latent's activation. A value marked relative is a multiple of the latent's typical
/// activation (its mean non-zero value over data, which <see cref="LatentSteeringEstimator"/> measures when fitted):
/// <c>Add(j, 2, relative: true)</c> adds twice what latent j usually carries.
/// </summary>
/// <param name="Latent">The latent, 0 ≤ j &lt; n.</param>
/// <param name="Kind">What the edit does.</param>
/// <param name="Value">α for <see cref="LatentEditKind.Add"/>, β for <see cref="LatentEditKind.Scale"/>, v for <see cref="LatentEditKind.Set"/>; unused by <see cref="LatentEditKind.Ablate"/>.</param>
/// <param name="Relative">For Add and Set: the value is a multiple of the latent's typical activation.</param>
public readonly record struct LatentEdit(int Latent, LatentEditKind Kind, float Value = 0, bool Relative = false)
{
    /// <summary>Adds <paramref name="alpha"/> to latent <paramref name="latent"/> (absolute, or relative to its typical activation).</summary>
    public static LatentEdit Add(int latent, float alpha, bool relative = false) => new(latent, LatentEditKind.Add, alpha, relative);

    /// <summary>Multiplies latent <paramref name="latent"/> by <paramref name="factor"/>.</summary>
    public static LatentEdit Scale(int latent, float factor) => new(latent, LatentEditKind.Scale, factor);

    /// <summary>Sets latent <paramref name="latent"/> to <paramref name="value"/> (absolute, or relative to its typical activation).</summary>
    public static LatentEdit Set(int latent, float value, bool relative = false) => new(latent, LatentEditKind.Set, value, relative);

    /// <summary>Switches latent <paramref name="latent"/> off.</summary>
    public static LatentEdit Ablate(int latent) => new(latent, LatentEditKind.Ablate);

    /// <summary>The activation after the edit, from <paramref name="activation"/> before it; <paramref name="typical"/> scales a relative value.</summary>
    internal float Apply(float activation, float typical)
    {
        var value = Relative ? Value * typical : Value;
        return Kind switch
        {
            LatentEditKind.Add => MathF.Max(0, activation + value),
            LatentEditKind.Scale => activation * Value,
            LatentEditKind.Set => value,
            _ => 0,
        };
    }

    /// <summary>Checks the edit against an autoencoder of <paramref name="latentSize"/> latents.</summary>
    /// <exception cref="ArgumentException">The latent is out of range, the value is not finite, or a scale or set value is negative.</exception>
    internal void Validate(int latentSize)
    {
        if (Latent < 0 || Latent >= latentSize)
            throw new ArgumentException($"The {Kind} edit names latent {Latent}, but the autoencoder has latents 0 to {latentSize - 1}.");
        if (!float.IsFinite(Value))
            throw new ArgumentException($"The {Kind} edit of latent {Latent} has the value {Value}; it must be a finite number.");
        if (Kind is LatentEditKind.Scale or LatentEditKind.Set && Value < 0)
            throw new ArgumentException($"The {Kind} edit of latent {Latent} has the value {Value}; activations are never negative, so it must be 0 or more.");
        if (Relative && Kind is LatentEditKind.Scale or LatentEditKind.Ablate)
            throw new ArgumentException($"The {Kind} edit of latent {Latent} is marked relative; only Add and Set values can be relative to a latent's typical activation.");
    }
}
