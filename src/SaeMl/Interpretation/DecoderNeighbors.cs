using System.Numerics.Tensors;
using SaeMl.Autoencoder;

namespace SaeMl.Interpretation;

/// <summary>The latents whose decoder directions lie closest to a latent's: what it writes into embedding space, compared.</summary>
public static class DecoderNeighbors
{
    /// <summary>For each of <paramref name="latents"/>, the <paramref name="count"/> other latents with the highest decoder cosine, highest first.</summary>
    public static IReadOnlyList<(int Latent, double Cosine)[]> Of(SaeWeights weights, IReadOnlyList<int> latents, int count = 10)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var (n, d) = (weights.LatentSize, weights.Dimension);
        foreach (var latent in latents)
        {
            if (latent < 0 || latent >= n)
                throw new ArgumentOutOfRangeException(nameof(latents), latent, $"The autoencoder has latents 0..{n - 1}.");
        }

        var norms = new float[n];
        for (var j = 0; j < n; j++)
            norms[j] = TensorPrimitives.Norm(weights.DecoderWeight.AsSpan(j * d, d));
        var result = new (int, double)[latents.Count][];
        Parallel.For(0, latents.Count, l =>
        {
            var latent = latents[l];
            var row = weights.DecoderWeight.AsSpan(latent * d, d);
            var cosines = new (int, double)[n - 1];
            for (int j = 0, at = 0; j < n; j++)
            {
                if (j != latent)
                    cosines[at++] = (j, TensorPrimitives.Dot(row, weights.DecoderWeight.AsSpan(j * d, d)) / Math.Max((double)norms[latent] * norms[j], 1e-12));
            }

            result[l] = [.. cosines.OrderByDescending(c => c.Item2).ThenBy(c => c.Item1).Take(count)];
        });
        return result;
    }
}
