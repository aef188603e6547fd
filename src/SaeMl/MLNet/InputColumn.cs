using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Data;

namespace SaeMl.MLNet;

/// <summary>
/// The input column of a batched transformer: its name, the type it must have, and how one row's
/// value is read and copied out of a cursor (so a batch can outlive the cursor's buffers).
/// </summary>
/// <typeparam name="TInput">The copied value: <see cref="string"/> for text, <c>float[]</c> for vectors.</typeparam>
internal abstract class InputColumn<TInput>(string name)
{
    public string Name { get; } = name;

    /// <summary>The expected type as ML.NET prints it, for messages.</summary>
    public abstract string ExpectedType { get; }

    public abstract bool Accepts(DataViewType type);

    public abstract bool Accepts(SchemaShape.Column column);

    /// <summary>Returns a function that copies the value of <paramref name="row"/>'s current position.</summary>
    public abstract Func<TInput> CreateReader(DataViewRow row, DataViewSchema.Column column);

    public void Check(DataViewSchema schema)
    {
        var column = ColumnChecks.Find(schema, Name);
        if (!Accepts(column.Type))
            throw ColumnChecks.Mismatch(Name, ExpectedType, column.Type.ToString() ?? "unknown");
    }

    public void Check(SchemaShape schema)
    {
        var column = ColumnChecks.Find(schema, Name);
        if (!Accepts(column))
            throw ColumnChecks.Mismatch(Name, ExpectedType, ColumnChecks.Describe(column));
    }
}

/// <summary>A text column; a missing value reads as the empty string.</summary>
internal sealed class TextInputColumn(string name) : InputColumn<string>(name)
{
    public override string ExpectedType => "Text";

    public override bool Accepts(DataViewType type) => type is TextDataViewType;

    public override bool Accepts(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType is TextDataViewType;

    public override Func<string> CreateReader(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> value = default;
        return () =>
        {
            getter(ref value);
            return value.ToString();
        };
    }
}

/// <summary>A float vector column of a known length; every value must be finite.</summary>
internal sealed class VectorInputColumn(string name, int length) : InputColumn<float[]>(name)
{
    public int Length { get; } = length;

    public override string ExpectedType => Length > 0 ? $"Vector<Single, {Length}>" : "Vector<Single>";

    public override bool Accepts(DataViewType type) =>
        type is VectorDataViewType { ItemType: NumberDataViewType single, Size: var size } && single == NumberDataViewType.Single && size == Length;

    public override bool Accepts(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Vector && column.ItemType == NumberDataViewType.Single;

    public override Func<float[]> CreateReader(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        return () =>
        {
            getter(ref value);
            var dense = new float[Length];
            value.CopyTo(dense);
            if (FiniteValues.FirstNonFiniteRow(dense, Length) >= 0)
                throw new ArgumentException($"Row {row.Position} of input column '{Name}' holds NaN or infinity; vectors must be finite.");
            return dense;
        };
    }
}
