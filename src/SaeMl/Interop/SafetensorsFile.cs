using System.Buffers.Binary;
using System.Text.Json;

namespace SaeMl.Interop;

/// <summary>
/// Reads tensors from a safetensors file: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the data. Tensors are read on request, as floats.
/// </summary>
internal sealed class SafetensorsFile
{
    private const long MaxHeaderBytes = 100_000_000;
    private readonly string _path;
    private readonly long _dataStart;
    private readonly Dictionary<string, (string DType, long[] Shape, long Begin, long End)> _tensors;

    private SafetensorsFile(string path, long dataStart, Dictionary<string, (string, long[], long, long)> tensors)
    {
        _path = path;
        _dataStart = dataStart;
        _tensors = tensors;
    }

    public IEnumerable<string> Names => _tensors.Keys.Order(StringComparer.Ordinal);

    public bool ContainsKey(string name) => _tensors.ContainsKey(name);

    /// <exception cref="FormatException">The file is not safetensors: a header out of range, not JSON, or a tensor whose byte range does not fit its dtype and shape or the file.</exception>
    public static SafetensorsFile Read(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new FormatException($"'{path}' is shorter than a safetensors header.");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > stream.Length - 8)
            throw new FormatException($"'{path}' is not a safetensors file: its first 8 bytes give a header of {headerLength} bytes in a file of {stream.Length}.");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + (long)headerLength;
        var dataLength = stream.Length - dataStart;

        var entries = new List<(string Name, string DType, long[] Shape, long[] Offsets)>();
        try
        {
            using var json = JsonDocument.Parse(header);
            foreach (var entry in json.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                    continue;
                entries.Add((
                    entry.Name,
                    entry.Value.GetProperty("dtype").GetString()!,
                    entry.Value.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray(),
                    entry.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray()));
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"'{path}' has a safetensors header that cannot be read: {e.Message}", e);
        }

        var tensors = new Dictionary<string, (string, long[], long, long)>(StringComparer.Ordinal);
        foreach (var (name, dtype, shape, offsets) in entries)
        {
            var elementSize = ElementSize(dtype, path, name);
            long bytes;
            try
            {
                bytes = shape.Aggregate((long)elementSize, (a, b) => b < 0 ? throw new OverflowException() : checked(a * b));
            }
            catch (OverflowException)
            {
                throw new FormatException($"'{path}': tensor '{name}' has shape [{string.Join(", ", shape)}], which is negative or too large.");
            }

            if (offsets.Length != 2 || offsets[0] < 0 || offsets[0] > offsets[1] || offsets[1] > dataLength || offsets[1] - offsets[0] != bytes)
                throw new FormatException($"'{path}': tensor '{name}' ({dtype}, shape [{string.Join(", ", shape)}]) has byte range [{string.Join(", ", offsets)}], which does not fit its size or the file's {dataLength} data bytes.");
            tensors[name] = (dtype, shape, offsets[0], offsets[1]);
        }

        return new SafetensorsFile(path, dataStart, tensors);
    }

    /// <summary>A 2-D tensor, row-major, with its shape.</summary>
    public (float[] Values, int Rows, int Columns) Matrix(string name)
    {
        var (_, shape, _, _) = Find(name);
        if (shape.Length != 2 || shape[0] > int.MaxValue || shape[1] > int.MaxValue)
            throw new FormatException($"'{_path}': tensor '{name}' has shape [{string.Join(", ", shape)}]; a matrix was expected.");
        return (Values(name), (int)shape[0], (int)shape[1]);
    }

    /// <summary>A 2-D tensor of the given shape.</summary>
    public float[] Matrix(string name, int rows, int columns)
    {
        var (_, shape, _, _) = Find(name);
        if (shape is not [var r, var c] || r != rows || c != columns)
            throw new FormatException($"'{_path}': tensor '{name}' has shape [{string.Join(", ", shape)}]; [{rows}, {columns}] was expected.");
        return Values(name);
    }

    /// <summary>A 1-D tensor of the given length.</summary>
    public float[] Vector(string name, int length)
    {
        var (_, shape, _, _) = Find(name);
        if (shape is not [var l] || l != length)
            throw new FormatException($"'{_path}': tensor '{name}' has shape [{string.Join(", ", shape)}]; [{length}] was expected.");
        return Values(name);
    }

    private (string DType, long[] Shape, long Begin, long End) Find(string name) =>
        _tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new FormatException($"'{_path}' has no tensor '{name}'; it holds {string.Join(", ", Names)}.");

    private float[] Values(string name)
    {
        var (dtype, _, begin, end) = Find(name);
        var bytes = new byte[end - begin];
        using (var stream = File.OpenRead(_path))
        {
            stream.Position = _dataStart + begin;
            stream.ReadExactly(bytes);
        }

        var elementSize = ElementSize(dtype, _path, name);
        var values = new float[bytes.LongLength / elementSize];
        for (long i = 0; i < values.LongLength; i++)
        {
            var at = bytes.AsSpan(checked((int)(i * elementSize)));
            values[i] = dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(at),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(at),
                _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(at) << 16), // BF16: the top half of a float
            };
        }

        return values;
    }

    private static int ElementSize(string dtype, string path, string name) => dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        _ => throw new FormatException($"'{path}': tensor '{name}' is {dtype}; F32, F16 and BF16 are read."),
    };
}
