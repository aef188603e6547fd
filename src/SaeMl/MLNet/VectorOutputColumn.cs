using Microsoft.ML.Data;

namespace SaeMl.MLNet;

/// <summary>
/// An output column of float vectors of <see cref="Length"/> values: dense, or sparse with at most
/// <see cref="MaxNonZeros"/> explicit values per row.
/// </summary>
internal sealed record VectorOutputColumn(string Name, int Length, int MaxNonZeros)
{
    public static VectorOutputColumn Dense(string name, int length) => new(name, length, length);

    public static VectorOutputColumn Sparse(string name, int length, int maxNonZeros) => new(name, length, maxNonZeros);

    public bool IsSparse => MaxNonZeros < Length;

    public VectorDataViewType Type { get; } = new(NumberDataViewType.Single, Length);
}

/// <summary>
/// One batch of values of one <see cref="VectorOutputColumn"/>, filled by a transformer's batch
/// computation and served row by row as <see cref="VBuffer{T}"/>.
/// </summary>
internal sealed class VectorOutputBatch
{
    public VectorOutputBatch(VectorOutputColumn column, int capacityRows)
    {
        Column = column;
        Values = new float[(long)capacityRows * column.MaxNonZeros];
        if (column.IsSparse)
        {
            Indices = new int[(long)capacityRows * column.MaxNonZeros];
            Counts = new int[capacityRows];
        }
    }

    public VectorOutputColumn Column { get; }

    /// <summary>Dense: <c>[rows, Length]</c>. Sparse: <c>[rows, MaxNonZeros]</c>, the first <see cref="Counts"/> of each row used.</summary>
    public float[] Values { get; }

    /// <summary>Sparse only: the column of each value, strictly increasing within a row.</summary>
    public int[]? Indices { get; }

    /// <summary>Sparse only: explicit values per row.</summary>
    public int[]? Counts { get; }

    public Span<float> ValuesOf(int row) => Values.AsSpan(row * Column.MaxNonZeros, Column.MaxNonZeros);

    public Span<int> IndicesOf(int row) => Indices.AsSpan(row * Column.MaxNonZeros, Column.MaxNonZeros);

    /// <summary>Copies one row into an ML.NET vector, reusing its buffers.</summary>
    public void Get(int row, ref VBuffer<float> destination)
    {
        if (!Column.IsSparse)
        {
            var dense = VBufferEditor.Create(ref destination, Column.Length);
            ValuesOf(row).CopyTo(dense.Values);
            destination = dense.Commit();
            return;
        }

        var count = Counts![row];
        var sparse = VBufferEditor.Create(ref destination, Column.Length, count, requireIndicesOnDense: true);
        ValuesOf(row)[..count].CopyTo(sparse.Values);
        IndicesOf(row)[..count].CopyTo(sparse.Indices);
        destination = sparse.Commit();
    }
}
