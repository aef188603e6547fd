namespace SaeMl.Data.Npy;

/// <summary>The element types SaeMl reads and writes in <c>.npy</c> files (all little-endian).</summary>
public enum NpyDataType
{
    /// <summary>32-bit float, NumPy <c>'&lt;f4'</c>: embeddings and scores.</summary>
    Float32,

    /// <summary>16-bit float, NumPy <c>'&lt;f2'</c>: embeddings at half the disk size; read back as 32-bit floats.</summary>
    Float16,

    /// <summary>64-bit signed integer, NumPy <c>'&lt;i8'</c>: row ids (neighbor lists).</summary>
    Int64,

    /// <summary>32-bit signed integer, NumPy <c>'&lt;i4'</c>: row ids; read back as 64-bit integers.</summary>
    Int32,
}

/// <summary>Facts about <see cref="NpyDataType"/> values: NumPy descriptor and element size.</summary>
internal static class NpyDataTypes
{
    /// <summary>The NumPy <c>descr</c> string, e.g. <c>&lt;f4</c>.</summary>
    public static string Descriptor(this NpyDataType type) => type switch
    {
        NpyDataType.Float32 => "<f4",
        NpyDataType.Float16 => "<f2",
        NpyDataType.Int64 => "<i8",
        NpyDataType.Int32 => "<i4",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown .npy data type."),
    };

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this NpyDataType type) => type switch
    {
        NpyDataType.Float32 or NpyDataType.Int32 => 4,
        NpyDataType.Float16 => 2,
        NpyDataType.Int64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown .npy data type."),
    };

    /// <summary>Whether the type holds floating-point values (embeddings, scores).</summary>
    public static bool IsFloatingPoint(this NpyDataType type) => type is NpyDataType.Float32 or NpyDataType.Float16;
}
