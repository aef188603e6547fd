using SaeMl.Data;

namespace SaeMl.Autoencoder;

/// <summary>
/// The parameters of a <see cref="SparseAutoencoder"/> as plain arrays, for inspection and storage.
/// Latent j reads the input through row j of <see cref="EncoderWeight"/> and writes to it through row j
/// of <see cref="DecoderWeight"/> (a unit vector: the feature's direction in embedding space).
/// </summary>
/// <param name="Dimension">d, the embedding size.</param>
/// <param name="LatentSize">n, the number of latents.</param>
/// <param name="EncoderWeight">Row-major <c>[n, d]</c>.</param>
/// <param name="EncoderBias"><c>[n]</c>.</param>
/// <param name="DecoderWeight">Row-major <c>[n, d]</c>, rows of unit norm.</param>
/// <param name="DecoderBias"><c>[d]</c>, subtracted before encoding and added after decoding.</param>
public sealed record SaeWeights(int Dimension, int LatentSize, float[] EncoderWeight, float[] EncoderBias, float[] DecoderWeight, float[] DecoderBias)
{
    /// <summary>Checks shapes and finiteness; <paramref name="source"/> names the weights in messages.</summary>
    /// <exception cref="FormatException">An array has the wrong length or holds NaN or infinity.</exception>
    public void Validate(string source)
    {
        if (Dimension < 1 || LatentSize < 1)
            throw new FormatException($"{source} has dimension {Dimension} and {LatentSize} latents; both must be positive.");
        Check(EncoderWeight, (long)LatentSize * Dimension, "encoder weight");
        Check(EncoderBias, LatentSize, "encoder bias");
        Check(DecoderWeight, (long)LatentSize * Dimension, "decoder weight");
        Check(DecoderBias, Dimension, "decoder bias");

        void Check(float[] values, long expected, string name)
        {
            if (values.LongLength != expected)
                throw new FormatException($"{source}'s {name} holds {values.LongLength} values; {LatentSize} latents of dimension {Dimension} need {expected}.");
            if (FiniteValues.FirstNonFiniteRow(values, 1) is var bad and >= 0)
                throw new FormatException($"{source}'s {name} holds NaN or infinity at position {bad}.");
        }
    }
}
