using SaeMl.Autoencoder;
using SaeMl.Embedding;

namespace SaeMl.Interpretation;

/// <summary>The latents any text fires, strongest first: embed, encode, sort.</summary>
public static class TextLatents
{
    /// <summary>Each text's firing latents and values, highest value first; all texts embedded in one call.</summary>
    public static IReadOnlyList<(int Latent, float Value)[]> Of(TextEmbedder embedder, SparseAutoencoder autoencoder, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(texts);
        if (embedder.Dimension != autoencoder.Dimension)
            throw new ArgumentException($"The embedder makes {embedder.Dimension}-dimensional vectors; the autoencoder reads {autoencoder.Dimension}.", nameof(embedder));
        var embeddings = new float[(long)texts.Count * embedder.Dimension];
        embedder.Embed(texts, embeddings);
        var codes = autoencoder.Encode(embeddings);
        return [.. Enumerable.Range(0, texts.Count).Select(row =>
        {
            var (indices, values) = (codes.IndicesOf(row).ToArray(), codes.ValuesOf(row).ToArray());
            return Enumerable.Range(0, indices.Length).Where(k => values[k] > 0)
                .Select(k => (indices[k], values[k])).OrderByDescending(t => t.Item2).ThenBy(t => t.Item1).ToArray();
        })];
    }
}
