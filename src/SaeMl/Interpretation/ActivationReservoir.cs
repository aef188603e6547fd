namespace SaeMl.Interpretation;

/// <summary>
/// A uniform sample of every latent's activating documents (reservoir sampling, s per latent), kept
/// in one pass so that examples across a latent's whole activation range can be drawn afterwards.
/// </summary>
public sealed class ActivationReservoir
{
    private readonly float[] _values;
    private readonly long[] _rows;
    private readonly long[] _seen;
    private readonly Random _random;

    /// <summary>Empty samples of <paramref name="capacity"/> documents for each of <paramref name="latentSize"/> latents.</summary>
    public ActivationReservoir(int latentSize, int capacity, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentSize);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        LatentSize = latentSize;
        Capacity = capacity;
        _values = new float[(long)latentSize * capacity];
        _rows = new long[_values.LongLength];
        _seen = new long[latentSize];
        _random = new Random(seed);
    }

    /// <summary>n.</summary>
    public int LatentSize { get; }

    /// <summary>s, the documents kept per latent.</summary>
    public int Capacity { get; }

    /// <summary>Offers one activating document.</summary>
    public void Add(int latent, long row, float value)
    {
        var seen = _seen[latent]++;
        if (Capacity == 0)
            return;
        var slot = seen < Capacity ? seen : _random.NextInt64(seen + 1);
        if (slot >= Capacity)
            return;
        var at = (long)latent * Capacity + slot;
        _values[at] = value;
        _rows[at] = row;
    }

    /// <summary>A latent's sampled activations, in ascending order of value.</summary>
    public LatentActivation[] Of(int latent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(latent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(latent, LatentSize);
        var count = (int)Math.Min(_seen[latent], Capacity);
        var start = (long)latent * Capacity;
        var result = new LatentActivation[count];
        for (var i = 0; i < count; i++)
            result[i] = new LatentActivation(_rows[start + i], _values[start + i]);
        Array.Sort(result, (a, b) => a.Value != b.Value ? a.Value.CompareTo(b.Value) : a.Row.CompareTo(b.Row));
        return result;
    }

    /// <summary>
    /// Up to <paramref name="perQuantile"/> sampled documents from each of <paramref name="quantiles"/>
    /// quantile bins of the latent's sampled activations (equal counts, weakest bin first), spread evenly
    /// within each bin.
    /// </summary>
    public IReadOnlyList<LatentActivation[]> AcrossQuantiles(int latent, int quantiles, int perQuantile)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantiles);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perQuantile);
        var sorted = Of(latent);
        var result = new LatentActivation[quantiles][];
        for (var q = 0; q < quantiles; q++)
        {
            var (from, to) = ((int)((long)sorted.Length * q / quantiles), (int)((long)sorted.Length * (q + 1) / quantiles));
            var take = Math.Min(perQuantile, to - from);
            result[q] = Enumerable.Range(0, take).Select(i => sorted[from + (int)((long)(to - from) * i / take)]).ToArray();
        }

        return result;
    }

    /// <summary>Writes the samples (for <see cref="FeatureScan.Save"/>); a reservoir read back serves examples but takes no more documents.</summary>
    internal void Write(BinaryWriter writer)
    {
        writer.Write(LatentSize);
        writer.Write(Capacity);
        writer.Flush();
        Data.BinaryBlocks.Write<long>(writer.BaseStream, _seen);
        Data.BinaryBlocks.Write<float>(writer.BaseStream, _values);
        Data.BinaryBlocks.Write<long>(writer.BaseStream, _rows);
    }

    /// <summary>Reads samples that <see cref="Write"/> wrote.</summary>
    internal static ActivationReservoir Read(BinaryReader reader)
    {
        var samples = new ActivationReservoir(reader.ReadInt32(), reader.ReadInt32(), seed: 0);
        Data.BinaryBlocks.Read<long>(reader.BaseStream, samples._seen);
        Data.BinaryBlocks.Read<float>(reader.BaseStream, samples._values);
        Data.BinaryBlocks.Read<long>(reader.BaseStream, samples._rows);
        return samples;
    }
}
