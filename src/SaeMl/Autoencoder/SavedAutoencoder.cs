using System.Runtime.InteropServices;
using SaeMl.Compute;
using SaeMl.MLNet;

namespace SaeMl.Autoencoder;

/// <summary>How a sparse autoencoder is written into, and read from, a saved transformer's entry: its sizes and threshold as fields and its four weight arrays as checked side streams.</summary>
internal static class SavedAutoencoder
{
    /// <summary>The first format version of the entries that hold one (the SparseAutoencode and steering transformers') to carry the activation threshold; older ones are read with θ = 0, which is what they computed.</summary>
    public const uint ThresholdVersion = 0x00010002;

    private static readonly string[] WeightStreams = ["encoder_weight.bin", "encoder_bias.bin", "decoder_weight.bin", "decoder_bias.bin"];

    /// <summary>Writes d, n, K and θ, then the weights.</summary>
    public static void Write(SavedEntryWriter entry, SparseAutoencoder autoencoder)
    {
        entry.Writer.Write(autoencoder.Dimension);
        entry.Writer.Write(autoencoder.LatentSize);
        entry.Writer.Write(autoencoder.ActiveLatents);
        entry.Writer.Write(autoencoder.ActivationThreshold);
        var weights = autoencoder.GetWeights();
        float[][] arrays = [weights.EncoderWeight, weights.EncoderBias, weights.DecoderWeight, weights.DecoderBias];
        for (var i = 0; i < arrays.Length; i++)
            entry.WriteBlob(WeightStreams[i], MemoryMarshal.AsBytes(arrays[i].AsSpan()).ToArray());
    }

    /// <summary>Reads what <see cref="Write"/> wrote, range-checked and validated, onto <c>auto</c>.</summary>
    /// <exception cref="FormatException">A size is out of range, a stream is missing or altered, or a weight is not finite.</exception>
    public static SparseAutoencoder Read(SavedEntryReader entry)
    {
        var dimension = entry.ReadInt("Dimension", minimum: 1);
        var latentSize = entry.ReadInt("LatentSize", minimum: 1);
        var activeLatents = entry.ReadInt("ActiveLatents", minimum: 1, maximum: latentSize);
        var threshold = entry.WrittenVersion >= ThresholdVersion ? entry.Reader.ReadSingle() : 0;
        if (!SparseAutoencoder.IsValidThreshold(threshold))
            throw new FormatException($"The saved {entry.Component} has an activation threshold of {threshold}; it must be 0 or positive and finite.");
        var arrays = WeightStreams.Select(stream => MemoryMarshal.Cast<byte, float>(entry.ReadBlob(stream)).ToArray()).ToArray();
        var weights = new SaeWeights(dimension, latentSize, arrays[0], arrays[1], arrays[2], arrays[3]);
        weights.Validate($"The saved {entry.Component}");
        return SparseAutoencoder.FromWeights(weights, activeLatents, threshold, ComputeDevice.Auto);
    }
}
