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

    /// <summary>The rows of several batches, in order, as one; every batch keeps the same K.</summary>
    /// <exception cref="ArgumentException">No batch is given, or the batches differ in K.</exception>
    public static SparseCodes Concatenate(IReadOnlyList<SparseCodes> batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (batches.Count == 0)
            throw new ArgumentException("There is no batch to concatenate.", nameof(batches));
        var activeLatents = batches[0].ActiveLatents;
        if (batches.FirstOrDefault(b => b.ActiveLatents != activeLatents) is { } other)
            throw new ArgumentException($"Batches keep {activeLatents} and {other.ActiveLatents} latents per row; concatenated rows must keep the same number.", nameof(batches));
        return new SparseCodes(batches.Sum(b => b.Rows), activeLatents, [.. batches.SelectMany(b => b.Values)], [.. batches.SelectMany(b => b.Indices)]);
    }

    /// <summary>The values of one row.</summary>
    public ReadOnlySpan<float> ValuesOf(int row) => Values.AsSpan(row * ActiveLatents, ActiveLatents);

    /// <summary>The indices of one row.</summary>
    public ReadOnlySpan<int> IndicesOf(int row) => Indices.AsSpan(row * ActiveLatents, ActiveLatents);
}
