using SaeMl.Autoencoder;
using SaeMl.Compute;
using static TorchSharp.torch;

namespace SaeMl.Interpretation;

/// <summary>The latents whose decoder directions lie closest to a latent's: what it writes into embedding space, compared.</summary>
public static class DecoderNeighbors
{
    /// <summary>Latents compared against all n at once: a block of 1,024 × n cosines.</summary>
    private const int BlockLatents = 1024;

    /// <summary>
    /// For each of <paramref name="latents"/>, the <paramref name="count"/> other latents with the highest
    /// decoder cosine, highest first: block by block, one matrix product and one top-k on the autoencoder's
    /// device, O(latents × n × d) in all.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A latent is out of range, or <paramref name="count"/> is not from 1 to n − 1.</exception>
    public static IReadOnlyList<LatentNeighbor[]> Of(SparseAutoencoder autoencoder, IReadOnlyList<int> latents, int count = 10)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(latents);
        var n = autoencoder.LatentSize;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, n - 1);
        autoencoder.CheckLatents(latents, nameof(latents));

        var result = new LatentNeighbor[latents.Count][];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var decoder = autoencoder.DecoderWeight;
        var unit = decoder / decoder.norm(1, keepdim: true, p: 2).clamp_min(HeldScalars.DivisorFloor);            // [n, d]
        for (var start = 0; start < latents.Count; start += BlockLatents)
        {
            using var inner = NewDisposeScope();
            var block = latents.Skip(start).Take(BlockLatents).Select(j => (long)j).ToArray();
            var selected = tensor(block, device: decoder.device);
            var cosines = unit.index_select(0, selected).mm(unit.t());                           // [b, n]
            cosines.scatter_(1, selected.unsqueeze(1), tensor(float.NegativeInfinity, device: decoder.device).expand(block.Length, 1));
            var (values, indices) = cosines.topk(count, 1);
            var hostValues = values.cpu().data<float>().ToArray();
            var hostIndices = indices.cpu().data<long>().ToArray();
            for (var b = 0; b < block.Length; b++)
                result[start + b] = [.. Enumerable.Range(0, count).Select(k => new LatentNeighbor((int)hostIndices[b * count + k], hostValues[b * count + k]))];
        }

        return result;
    }
}
