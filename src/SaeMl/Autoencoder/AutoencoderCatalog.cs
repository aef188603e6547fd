using SaeMl.MLNet;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;

// In ML.NET's namespace, as ML.NET's own extension packages put their catalogs: `using Microsoft.ML;` is all an application needs.
namespace Microsoft.ML;

/// <summary>The <c>SparseAutoencode</c> transform on <c>mlContext.Transforms</c>.</summary>
public static class AutoencoderCatalog
{
    /// <summary>
    /// Trains a TopK sparse autoencoder on the embeddings in <paramref name="inputColumnName"/> with the paper's
    /// objective and maps them to their sparse latents in <paramref name="outputColumnName"/>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The sparse latent column: a vector of Single of length <paramref name="latentSize"/>, at most <paramref name="activeLatents"/> non-zeros.</param>
    /// <param name="inputColumnName">The embedding column: a known-size vector of Single.</param>
    /// <param name="latentSize">n, the latents.</param>
    /// <param name="activeLatents">K, the latents active per vector.</param>
    /// <param name="reconstructionColumnName">When given, a column with the reconstruction x̂.</param>
    /// <param name="neighborsColumnName">When given, each row's M neighbor documents' embeddings (a vector of Single of length M·d) for the KL term; otherwise each row's M nearest other rows are found by exact search.</param>
    /// <example>
    /// <code>
    /// var sae = mlContext.Transforms.SparseAutoencode("Latent", "Embedding", latentSize: 16_384, activeLatents: 64,
    ///     reconstructionColumnName: "Reconstruction");
    /// </code>
    /// </example>
    public static SparseAutoencoderEstimator SparseAutoencode(
        this TransformsCatalog catalog,
        string outputColumnName,
        string inputColumnName,
        int latentSize = SparseAutoencoderOptions.Defaults.LatentSize,
        int activeLatents = SparseAutoencoderOptions.Defaults.ActiveLatents,
        string? reconstructionColumnName = null,
        string? neighborsColumnName = null) =>
        SparseAutoencode(catalog, new SparseAutoencoderOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ReconstructionColumnName = reconstructionColumnName,
            NeighborsColumnName = neighborsColumnName,
            LatentSize = latentSize,
            ActiveLatents = activeLatents,
        });

    /// <summary>Trains a sparse autoencoder with every setting of <see cref="SparseAutoencoderOptions"/>, its columns included.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, model and training settings (copied).</param>
    /// <param name="progress">Receives training progress after every step and epoch (<c>mlContext.Log</c> gets a line per epoch either way).</param>
    public static SparseAutoencoderEstimator SparseAutoencode(this TransformsCatalog catalog, SparseAutoencoderOptions options, IProgress<SaeTrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new SparseAutoencoderEstimator(MLNetInternals.Environment(catalog), options, progress);
    }
}
