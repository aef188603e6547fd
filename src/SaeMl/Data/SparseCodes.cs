namespace SaeMl.Data;

/// <summary>
/// The sparse latents of a batch of vectors: for each row, <see cref="ActiveLatents"/> (K) latent
/// indices in ascending order and their values, all ≥ 0 (a TopK latent that the ReLU set to zero keeps
/// its place with the value 0).
/// </summary>
public sealed class SparseCodes
{
    /// <summary>Wraps row-major <c>[rows, K]</c> arrays of values and indices.</summary>
    public SparseCodes(int rows, int activeLatents, float[] values, int[] indices)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(activeLatents);
        if (values.LongLength != (long)rows * activeLatents || indices.LongLength != values.LongLength)
            throw new ArgumentException($"Expected {rows} × {activeLatents} values and indices, got {values.LongLength} and {indices.LongLength}.");
        Rows = rows;
        ActiveLatents = activeLatents;
        Values = values;
        Indices = indices;
    }

    /// <summary>The number of vectors.</summary>
    public int Rows { get; }

    /// <summary>K, the latents kept per vector.</summary>
    public int ActiveLatents { get; }

    /// <summary>Row-major <c>[rows, K]</c> latent values.</summary>
    public float[] Values { get; }

    /// <summary>Row-major <c>[rows, K]</c> latent indices, ascending within each row.</summary>
    public int[] Indices { get; }

    /// <summary>The values of one row.</summary>
    public ReadOnlySpan<float> ValuesOf(int row) => Values.AsSpan(row * ActiveLatents, ActiveLatents);

    /// <summary>The indices of one row.</summary>
    public ReadOnlySpan<int> IndicesOf(int row) => Indices.AsSpan(row * ActiveLatents, ActiveLatents);
}
