using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Steering;

/// <summary>
/// The arithmetic of steering, a block of rows at a time: encode (when an edit or the mode needs the latents),
/// apply the plan's edits, and move each row along the edited latents' decoder directions by how much each
/// latent changed. Decoding is linear, so decode(h′) = decode(h) + Σⱼ (h′ⱼ − hⱼ) W_dec[j]: only the edited
/// latents' rows of the decoder are needed, and they are kept on the host.
/// </summary>
internal sealed class LatentSteerer
{
    private readonly SparseAutoencoder _autoencoder;
    private readonly LatentEdit[] _edits;
    private readonly int[] _latents;
    private readonly float[][] _directions;
    private readonly float[] _typical;
    private readonly bool _needsLatents;

    /// <param name="autoencoder">The autoencoder (not owned).</param>
    /// <param name="plan">The edits, already validated against the autoencoder.</param>
    /// <param name="typical">Each edited latent's typical activation, in the order of <see cref="SteeringPlan.Latents"/>; NaN where none was measured.</param>
    /// <param name="mode">How the output is made.</param>
    /// <param name="normalize">Scale outputs to unit length.</param>
    /// <param name="withLatents">Whether the steered latents are asked for too.</param>
    public LatentSteerer(SparseAutoencoder autoencoder, SteeringPlan plan, IReadOnlyList<float> typical, SteeringMode mode, bool normalize, bool withLatents)
    {
        _autoencoder = autoencoder;
        _edits = [.. plan.Edits];
        _latents = [.. plan.Latents];
        _typical = [.. typical];
        Mode = mode;
        Normalize = normalize;
        var decoder = autoencoder.GetWeights().DecoderWeight;
        var d = autoencoder.Dimension;
        _directions = _latents.Select(j => decoder.AsSpan(j * d, d).ToArray()).ToArray();
        foreach (var edit in _edits.Where(e => e.Relative))
        {
            if (!float.IsFinite(_typical[Array.IndexOf(_latents, edit.Latent)]))
                throw new ArgumentException($"The {edit.Kind} edit of latent {edit.Latent} is relative, but no typical activation of latent {edit.Latent} was measured: fit the estimator on data where it fires.");
        }

        // An edit that only adds a non-negative amount needs no latents; every other one reads the row's activation.
        _needsLatents = withLatents || mode == SteeringMode.Decode
            || _edits.Any(e => e.Kind != LatentEditKind.Add || e.Value < 0);
        MaxLatents = autoencoder.ActiveLatents + _latents.Length;
    }

    /// <summary>How the output is made.</summary>
    public SteeringMode Mode { get; }

    /// <summary>Whether outputs are scaled to unit length.</summary>
    public bool Normalize { get; }

    /// <summary>The most non-zero latents a steered row can hold: K plus the latents the plan edits.</summary>
    public int MaxLatents { get; }

    /// <summary>
    /// Steers <c>rows</c> embeddings (row-major) into <paramref name="outputs"/>; when <paramref name="latentValues"/> is
    /// given, writes each row's steered latents there too (<see cref="MaxLatents"/> slots a row, indices ascending,
    /// <paramref name="latentCounts"/> of them used).
    /// </summary>
    public void Steer(ReadOnlySpan<float> inputs, Span<float> outputs, Span<float> latentValues = default, Span<int> latentIndices = default, Span<int> latentCounts = default)
    {
        var d = _autoencoder.Dimension;
        var rows = inputs.Length / d;
        var codes = _needsLatents ? _autoencoder.Encode(inputs) : null;
        if (Mode == SteeringMode.Decode)
            _autoencoder.Decode(codes!).CopyTo(outputs);
        else
            inputs.CopyTo(outputs);

        Span<float> before = _latents.Length <= 256 ? stackalloc float[_latents.Length] : new float[_latents.Length];
        Span<float> after = _latents.Length <= 256 ? stackalloc float[_latents.Length] : new float[_latents.Length];
        for (var row = 0; row < rows; row++)
        {
            for (var i = 0; i < _latents.Length; i++)
                before[i] = codes is null ? 0 : ActivationOf(codes, row, _latents[i]);
            before.CopyTo(after);
            foreach (var edit in _edits)
            {
                var i = Array.IndexOf(_latents, edit.Latent);
                after[i] = edit.Apply(after[i], _typical[i]);
            }

            var output = outputs.Slice(row * d, d);
            for (var i = 0; i < _latents.Length; i++)
            {
                if (after[i] != before[i])
                    TensorPrimitives.MultiplyAdd(_directions[i], after[i] - before[i], output, output);
            }

            if (Normalize && TensorPrimitives.Norm(output) is var norm and > 0)
                TensorPrimitives.Divide(output, norm, output);
            if (!latentValues.IsEmpty)
                latentCounts[row] = MergeLatents(codes!, row, after, latentValues.Slice(row * MaxLatents, MaxLatents), latentIndices.Slice(row * MaxLatents, MaxLatents));
        }
    }

    private static float ActivationOf(SparseCodes codes, int row, int latent)
    {
        var at = codes.IndicesOf(row).BinarySearch(latent);
        return at >= 0 ? codes.ValuesOf(row)[at] : 0;
    }

    /// <summary>The row's positive latents after the edits, indices ascending; returns how many.</summary>
    private int MergeLatents(SparseCodes codes, int row, ReadOnlySpan<float> edited, Span<float> values, Span<int> indices)
    {
        var rowIndices = codes.IndicesOf(row);
        var rowValues = codes.ValuesOf(row);
        var (a, b, count) = (0, 0, 0);
        while (a < rowIndices.Length || b < _latents.Length)
        {
            int latent;
            float value;
            if (b >= _latents.Length || a < rowIndices.Length && rowIndices[a] < _latents[b])
                (latent, value) = (rowIndices[a], rowValues[a++]);
            else
            {
                if (a < rowIndices.Length && rowIndices[a] == _latents[b])
                    a++;
                (latent, value) = (_latents[b], edited[b++]);
            }

            if (value > 0)
            {
                indices[count] = latent;
                values[count++] = value;
            }
        }

        return count;
    }
}
