namespace SaeMl.Interpretation;

/// <summary>
/// The exact m highest activations of every latent over a corpus, kept while the corpus streams past
/// in one small min-heap per latent (memory n × m, whatever the corpus size). Ties keep the earlier row.
/// </summary>
public sealed class TopActivations
{
    private readonly float[] _values;
    private readonly long[] _rows;
    private readonly int[] _counts;

    /// <summary>Empty heaps for <paramref name="latentSize"/> latents, <paramref name="capacity"/> documents each.</summary>
    public TopActivations(int latentSize, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        LatentSize = latentSize;
        Capacity = capacity;
        _values = new float[(long)latentSize * capacity];
        _rows = new long[_values.LongLength];
        _counts = new int[latentSize];
    }

    /// <summary>n.</summary>
    public int LatentSize { get; }

    /// <summary>m, the documents kept per latent.</summary>
    public int Capacity { get; }

    /// <summary>Offers one activation; rows must arrive in ascending order for ties to keep the earlier row.</summary>
    public void Add(int latent, long row, float value)
    {
        var count = _counts[latent];
        var start = (long)latent * Capacity;
        if (count < Capacity)
        {
            var i = count;
            _counts[latent] = count + 1;
            while (i > 0)                                                   // sift up
            {
                var parent = (i - 1) / 2;
                if (!Lower(value, row, _values[start + parent], _rows[start + parent]))
                    break;
                _values[start + i] = _values[start + parent];
                _rows[start + i] = _rows[start + parent];
                i = parent;
            }

            _values[start + i] = value;
            _rows[start + i] = row;
            return;
        }

        if (!Lower(_values[start], _rows[start], value, row))
            return;
        var at = 0;
        while (true)                                                        // replace the root, sift down
        {
            var child = 2 * at + 1;
            if (child >= Capacity)
                break;
            if (child + 1 < Capacity && Lower(_values[start + child + 1], _rows[start + child + 1], _values[start + child], _rows[start + child]))
                child++;
            if (!Lower(_values[start + child], _rows[start + child], value, row))
                break;
            _values[start + at] = _values[start + child];
            _rows[start + at] = _rows[start + child];
            at = child;
        }

        _values[start + at] = value;
        _rows[start + at] = row;
    }

    /// <summary>A latent's kept activations, highest first (ties by ascending row).</summary>
    public LatentActivation[] Of(int latent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(latent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(latent, LatentSize);
        var start = (long)latent * Capacity;
        var result = new LatentActivation[_counts[latent]];
        for (var i = 0; i < result.Length; i++)
            result[i] = new LatentActivation(_rows[start + i], _values[start + i]);
        Array.Sort(result, (a, b) => b.Value != a.Value ? b.Value.CompareTo(a.Value) : a.Row.CompareTo(b.Row));
        return result;
    }

    /// <summary>Writes the heaps (for <see cref="FeatureScan.Save"/>).</summary>
    internal void Write(BinaryWriter writer)
    {
        writer.Write(LatentSize);
        writer.Write(Capacity);
        writer.Flush();
        Data.BinaryBlocks.Write<int>(writer.BaseStream, _counts);
        Data.BinaryBlocks.Write<float>(writer.BaseStream, _values);
        Data.BinaryBlocks.Write<long>(writer.BaseStream, _rows);
    }

    /// <summary>Reads heaps that <see cref="Write"/> wrote.</summary>
    internal static TopActivations Read(BinaryReader reader)
    {
        var top = new TopActivations(reader.ReadInt32(), reader.ReadInt32());
        Data.BinaryBlocks.Read<int>(reader.BaseStream, top._counts);
        Data.BinaryBlocks.Read<float>(reader.BaseStream, top._values);
        Data.BinaryBlocks.Read<long>(reader.BaseStream, top._rows);
        return top;
    }

    /// <summary>Whether (value, row) ranks below (otherValue, otherRow): a lower value, or an equal value at a later row.</summary>
    private static bool Lower(float value, long row, float otherValue, long otherRow) =>
        value < otherValue || (value == otherValue && row > otherRow);
}
