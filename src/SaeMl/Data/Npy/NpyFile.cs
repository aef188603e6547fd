using System.IO.MemoryMappedFiles;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SaeMl.Data.Npy;

/// <summary>
/// A 2-D <c>.npy</c> file opened for reading through a memory map: rows are copied out on demand,
/// so a file far larger than memory (8.8M × 768 floats is 27 GB) is never loaded whole.
/// </summary>
/// <remarks>
/// Reading is safe from several threads at once; disposing while another thread reads is not.
/// Float16 data is widened to <see cref="float"/> and Int32 data to <see cref="long"/> as it is read.
/// </remarks>
public sealed unsafe class NpyFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private bool _disposed;

    private NpyFile(string path, NpyHeader header, int formatVersion, long dataOffset, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        Path = path;
        Header = header;
        FormatVersion = formatVersion;
        DataOffset = dataOffset;
        _map = map;
        _view = view;
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        _data = start + view.PointerOffset + dataOffset;
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>Element type and shape.</summary>
    internal NpyHeader Header { get; }

    /// <summary>The major version of the <c>.npy</c> format the file uses (1, 2 or 3).</summary>
    public int FormatVersion { get; }

    /// <summary>The byte offset where the data section starts.</summary>
    public long DataOffset { get; }

    /// <summary>The element type of the array.</summary>
    public NpyDataType DataType => Header.DataType;

    /// <summary>The number of rows.</summary>
    public long Rows => Header.Rows;

    /// <summary>The number of values per row.</summary>
    public int Columns => Header.Columns;

    /// <summary>Opens a file and validates its header and size.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">
    /// The file is not a 2-D, C-ordered, little-endian float32/float16/int64/int32 array, or its size
    /// does not match its header (truncated, or with bytes after the data).
    /// </exception>
    public static NpyFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SaeMl reads .npy files on little-endian machines only.");

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        try
        {
            var (header, version, dataOffset) = NpyHeader.Read(stream, path);
            var expected = dataOffset + header.DataBytes;
            if (stream.Length < expected)
            {
                throw new FormatException(
                    $"'{path}' is truncated: its header declares {header.Rows} × {header.Columns} {header.DataType} values "
                    + $"({header.DataBytes} bytes of data) but the file holds only {Math.Max(0, stream.Length - dataOffset)} bytes of data.");
            }

            if (stream.Length > expected)
            {
                throw new FormatException(
                    $"'{path}' has {stream.Length - expected} bytes after the {header.Rows} × {header.Columns} {header.DataType} values "
                    + "its header declares; the file is corrupt or its header is wrong.");
            }

            var map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                return new NpyFile(path, header, version, dataOffset, map, view);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies rows starting at <paramref name="firstRow"/> into <paramref name="destination"/>, whose
    /// length (a multiple of <see cref="Columns"/>) says how many rows to read. Float16 is widened.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file holds integers, not floats.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows are not all inside the file.</exception>
    public void ReadRows(long firstRow, Span<float> destination)
    {
        var source = RawRows(firstRow, destination.Length, "float");
        switch (Header.DataType)
        {
            case NpyDataType.Float32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case NpyDataType.Float16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            default:
                throw new InvalidOperationException($"'{Path}' holds {Header.DataType} values, not floating-point values.");
        }
    }

    /// <summary>
    /// Copies rows starting at <paramref name="firstRow"/> into <paramref name="destination"/>, whose
    /// length (a multiple of <see cref="Columns"/>) says how many rows to read. Int32 is widened.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file holds floats, not integers.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows are not all inside the file.</exception>
    public void ReadRows(long firstRow, Span<long> destination)
    {
        var source = RawRows(firstRow, destination.Length, "integer");
        switch (Header.DataType)
        {
            case NpyDataType.Int64:
                MemoryMarshal.Cast<byte, long>(source).CopyTo(destination);
                break;
            case NpyDataType.Int32:
                var narrow = MemoryMarshal.Cast<byte, int>(source);
                for (var i = 0; i < narrow.Length; i++)
                    destination[i] = narrow[i];
                break;
            default:
                throw new InvalidOperationException($"'{Path}' holds {Header.DataType} values, not integers.");
        }
    }

    /// <summary>Reads the whole array as floats, row-major. Meant for small files.</summary>
    public float[] ReadAllSingles()
    {
        var values = new float[checked(Rows * Columns)];
        ReadRows(0, values);
        return values;
    }

    /// <summary>Reads the whole array as 64-bit integers, row-major. Meant for small files.</summary>
    public long[] ReadAllInt64()
    {
        var values = new long[checked(Rows * Columns)];
        ReadRows(0, values);
        return values;
    }

    private ReadOnlySpan<byte> RawRows(long firstRow, int valueCount, string wanted)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Columns == 0)
        {
            if (valueCount != 0)
                throw new ArgumentException($"'{Path}' has rows of width 0; the destination must be empty.", nameof(valueCount));
            return ReadOnlySpan<byte>.Empty;
        }

        if (valueCount % Columns != 0)
            throw new ArgumentException($"The destination holds {valueCount} {wanted} values, not a whole number of rows of {Columns}.");
        var rowCount = valueCount / Columns;
        if (firstRow < 0 || firstRow > Rows - rowCount)
            throw new ArgumentOutOfRangeException(nameof(firstRow), firstRow, $"Rows {firstRow}..{firstRow + rowCount - 1} are outside '{Path}', which has {Rows} rows.");

        var elementSize = Header.DataType.ElementSize();
        var offset = firstRow * Columns * elementSize;
        return new ReadOnlySpan<byte>(_data + offset, checked(valueCount * elementSize));
    }

    /// <summary>Releases the memory map and the file handle.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
