using SaeMl.Autoencoder;
using SaeMl.MLNet;
using SaeMl.Steering;

// In ML.NET's namespace, as ML.NET's own extension packages put their catalogs: `using Microsoft.ML;` is all an application needs.
namespace Microsoft.ML;

/// <summary>The <c>SteerLatents</c> transform on <c>mlContext.Transforms</c>.</summary>
public static class SteeringCatalog
{
    /// <summary>
    /// Steers an embedding column through a fitted sparse autoencoder: encodes, applies <paramref name="plan"/> to the
    /// latents and writes the steered embedding (error-preserving: only the edits move the vector).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The steered embedding column.</param>
    /// <param name="inputColumnName">The embedding column.</param>
    /// <param name="autoencoder">A fitted SparseAutoencode transform (its weights are copied).</param>
    /// <param name="plan">The edits.</param>
    /// <example>
    /// <code>
    /// var steer = mlContext.Transforms.SteerLatents("Steered", "Embedding", sae, SteeringPlan.Empty.Then(LatentEdit.Add(42, 0.5f)));
    /// </code>
    /// </example>
    public static LatentSteeringEstimator SteerLatents(
        this TransformsCatalog catalog, string outputColumnName, string inputColumnName, SparseAutoencoderTransformer autoencoder, SteeringPlan plan)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        return SteerLatents(catalog, autoencoder.Autoencoder, new LatentSteeringOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Plan = plan });
    }

    /// <summary>Steers with every setting of <see cref="LatentSteeringOptions"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="autoencoder">The sparse autoencoder (its weights are copied).</param>
    /// <param name="options">Columns, plan, mode and normalisation.</param>
    public static LatentSteeringEstimator SteerLatents(this TransformsCatalog catalog, SparseAutoencoder autoencoder, LatentSteeringOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LatentSteeringEstimator(MLNetInternals.Environment(catalog), autoencoder, options);
    }
}
