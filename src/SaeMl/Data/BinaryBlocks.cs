using System.Runtime.InteropServices;

namespace SaeMl.Data;

/// <summary>Arrays of unmanaged values written to and read from a stream as raw little-endian bytes, a block at a time: spans of bytes address at most 2 GiB, and the arrays may be larger.</summary>
internal static class BinaryBlocks
{
    private const int BlockElements = 1 << 20;

    /// <summary>Writes <paramref name="values"/>' bytes.</summary>
    public static void Write<T>(Stream stream, ReadOnlySpan<T> values) where T : unmanaged
    {
        for (var start = 0; start < values.Length; start += BlockElements)
            stream.Write(MemoryMarshal.AsBytes(values.Slice(start, Math.Min(BlockElements, values.Length - start))));
    }

    /// <summary>Fills <paramref name="values"/> from the stream; a stream that ends first throws <see cref="EndOfStreamException"/>.</summary>
    public static void Read<T>(Stream stream, Span<T> values) where T : unmanaged
    {
        for (var start = 0; start < values.Length; start += BlockElements)
            stream.ReadExactly(MemoryMarshal.AsBytes(values.Slice(start, Math.Min(BlockElements, values.Length - start))));
    }
}
