namespace SaeMl.Steering;

/// <summary>
/// The edits a <see cref="LatentSteeringTransformer"/> applies to every row's latents, in order (two edits of one
/// latent apply one after the other). Immutable; <see cref="Then"/> makes a longer plan.
/// </summary>
public sealed class SteeringPlan
{
    /// <summary>The plan with no edit: steering then returns each row's embedding (error-preserving) or reconstruction (decode).</summary>
    public static readonly SteeringPlan Empty = new([]);

    /// <summary>A plan of <paramref name="edits"/>, in order.</summary>
    public SteeringPlan(IEnumerable<LatentEdit> edits)
    {
        ArgumentNullException.ThrowIfNull(edits);
        Edits = [.. edits];
    }

    /// <summary>The edits, in the order they apply.</summary>
    public IReadOnlyList<LatentEdit> Edits { get; }

    /// <summary>The distinct latents the plan edits, ascending.</summary>
    public IReadOnlyList<int> Latents => Edits.Select(e => e.Latent).Distinct().Order().ToArray();

    /// <summary>Whether an edit's value is relative to a latent's typical activation (so fitting must measure it).</summary>
    public bool NeedsTypicalActivations => Edits.Any(e => e.Relative);

    /// <summary>This plan followed by <paramref name="edit"/>.</summary>
    public SteeringPlan Then(LatentEdit edit) => new([.. Edits, edit]);

    /// <summary>Checks every edit against an autoencoder of <paramref name="latentSize"/> latents.</summary>
    /// <exception cref="ArgumentException">An edit names a latent the autoencoder does not have, or has a value it cannot take.</exception>
    public void Validate(int latentSize)
    {
        foreach (var edit in Edits)
            edit.Validate(latentSize);
    }

    /// <inheritdoc/>
    public override string ToString() => Edits.Count == 0 ? "no edit" : string.Join(", ", Edits.Select(e => e.Kind == LatentEditKind.Ablate
        ? $"ablate {e.Latent}"
        : $"{e.Kind.ToString().ToLowerInvariant()} {e.Latent} {e.Value}{(e.Relative ? " × typical" : "")}"));
}
