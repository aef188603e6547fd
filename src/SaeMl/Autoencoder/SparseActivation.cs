namespace SaeMl.Autoencoder;

/// <summary>How an autoencoder chooses the latents a vector keeps.</summary>
public enum SparseActivation
{
    /// <summary>Exactly K latents per vector: the K largest pre-activations, ReLU'd (OpenAI's TopK autoencoder, the paper's).</summary>
    TopK,

    /// <summary>
    /// K latents per vector on average: training keeps the B·K largest activations of each batch of B vectors (among each
    /// vector's <see cref="SparseAutoencoderOptions.MaxActiveLatents"/> largest), and the trained autoencoder keeps a vector's
    /// activations above a threshold θ learnt from those batches (BatchTopK, Bussmann et al. 2024). A vector that needs
    /// more latents gets more, one that needs fewer gets fewer.
    /// </summary>
    BatchTopK,
}
