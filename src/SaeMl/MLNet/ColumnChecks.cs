using Microsoft.ML;
using Microsoft.ML.Data;

namespace SaeMl.MLNet;

/// <summary>Input-column validation with ML.NET's wording, for data view schemas and schema shapes.</summary>
internal static class ColumnChecks
{
    /// <summary>The column named <paramref name="name"/>, or an error in ML.NET's words.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column.</exception>
    public static DataViewSchema.Column Find(DataViewSchema schema, string name) =>
        schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}'");

    /// <summary>The column shape named <paramref name="name"/>, or an error in ML.NET's words.</summary>
    public static SchemaShape.Column Find(SchemaShape schema, string name) =>
        schema.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).FirstOrDefault() ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}'");

    /// <summary>The error for a column of the wrong type.</summary>
    public static ArgumentOutOfRangeException Mismatch(string name, string expected, string actual) =>
        new(nameof(name), $"Schema mismatch for input column '{name}': expected {expected}, got {actual}");

    /// <summary>The input shape with Single vector columns of the given names set (added, or replacing same-named ones).</summary>
    public static SchemaShape WithVectorColumns(SchemaShape input, IEnumerable<string> names)
    {
        var columns = input.ToDictionary(c => c.Name);
        foreach (var name in names)
            columns[name] = MLNetInternals.SingleVectorColumn(name);
        return new SchemaShape(columns.Values);
    }

    /// <summary>Describes a column shape as ML.NET prints types (Text, Vector&lt;Single&gt;, …).</summary>
    public static string Describe(SchemaShape.Column column) => column.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => column.ItemType.ToString() ?? "unknown",
        SchemaShape.Column.VectorKind.Vector => $"Vector<{column.ItemType}>",
        _ => $"VarVector<{column.ItemType}>",
    };
}
