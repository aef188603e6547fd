using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SaeMl.Data.Npy;

/// <summary>
/// Writes a 2-D <c>.npy</c> file row by row, without knowing the row count in advance. Data goes to a
/// temporary file beside the target; <see cref="Commit"/> finalises the header and renames it into
/// place, so an interrupted write never leaves a partial file under the target name.
/// </summary>
/// <example>
/// <code>
/// using var writer = new NpyWriter("corpus.npy", NpyDataType.Float32, columns: 768);
/// foreach (var batch in batches) writer.WriteRows(batch);
/// writer.Commit();
/// </code>
/// </example>
public sealed class NpyWriter : IDisposable
{
    private const int ConversionBlock = 1 << 14;
    private readonly AtomicFile _file;
    private bool _finished;
    private readonly int _formatVersion;
    private bool _closed;

    /// <summary>Starts a new file; nothing appears under <paramref name="path"/> until <see cref="Commit"/>.</summary>
    /// <param name="path">The final file name.</param>
    /// <param name="dataType">The element type stored in the file.</param>
    /// <param name="columns">The number of values per row.</param>
    /// <param name="formatVersion">The <c>.npy</c> format version to write: 1 (NumPy's default), 2 or 3.</param>
    public NpyWriter(string path, NpyDataType dataType, int columns, int formatVersion = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (formatVersion is < 1 or > 3)
            throw new ArgumentOutOfRangeException(nameof(formatVersion), formatVersion, "The .npy format version must be 1, 2 or 3.");
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SaeMl writes .npy files on little-endian machines only.");

        DataType = dataType;
        Columns = columns;
        _formatVersion = formatVersion;
        _file = new AtomicFile(path);
        _file.Stream.Write(new NpyHeader(dataType, 0, columns).Encode(formatVersion, reserveRowDigits: true));
    }

    /// <summary>The final file name.</summary>
    public string Path => _file.Path;

    /// <summary>The file being written until <see cref="Commit"/> renames it to <see cref="Path"/>.</summary>
    public string TemporaryPath => _file.TemporaryPath;

    /// <summary>The element type stored in the file.</summary>
    public NpyDataType DataType { get; }

    /// <summary>The number of values per row.</summary>
    public int Columns { get; }

    /// <summary>The number of rows written so far.</summary>
    public long RowsWritten { get; private set; }

    /// <summary>Appends whole rows of floating-point values (row-major).</summary>
    /// <exception cref="InvalidOperationException">The file stores integers.</exception>
    /// <exception cref="OverflowException">A value is outside the float16 range (±65504) of a float16 file.</exception>
    public void WriteRows(ReadOnlySpan<float> values)
    {
        var rows = CheckWholeRows(values.Length);
        switch (DataType)
        {
            case NpyDataType.Float32:
                _file.Stream.Write(MemoryMarshal.AsBytes(values));
                break;
            case NpyDataType.Float16:
                WriteAsHalf(values);
                break;
            default:
                throw new InvalidOperationException($"'{Path}' stores {DataType} values; write integers to it.");
        }

        RowsWritten += rows;
    }

    /// <summary>Appends whole rows of integer values (row-major).</summary>
    /// <exception cref="InvalidOperationException">The file stores floating-point values.</exception>
    /// <exception cref="OverflowException">A value does not fit the file's 32-bit integers.</exception>
    public void WriteRows(ReadOnlySpan<long> values)
    {
        var rows = CheckWholeRows(values.Length);
        switch (DataType)
        {
            case NpyDataType.Int64:
                _file.Stream.Write(MemoryMarshal.AsBytes(values));
                break;
            case NpyDataType.Int32:
                Span<int> narrow = stackalloc int[256];
                for (var start = 0; start < values.Length; start += narrow.Length)
                {
                    var block = values.Slice(start, Math.Min(narrow.Length, values.Length - start));
                    for (var i = 0; i < block.Length; i++)
                        narrow[i] = checked((int)block[i]);
                    _file.Stream.Write(MemoryMarshal.AsBytes(narrow[..block.Length]));
                }

                break;
            default:
                throw new InvalidOperationException($"'{Path}' stores {DataType} values; write floating-point values to it.");
        }

        RowsWritten += rows;
    }

    /// <summary>
    /// Writes the final header and flushes the file to disk under its temporary name, so that a full disk shows
    /// here; <see cref="Commit"/> then only renames. Writers of several files finish them all before committing any.
    /// </summary>
    public void Finish()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_finished)
            return;
        var header = new NpyHeader(DataType, RowsWritten, Columns).Encode(_formatVersion, reserveRowDigits: true);
        _file.Stream.Position = 0;
        _file.Stream.Write(header);
        _file.Flush();
        _finished = true;
    }

    /// <summary>Finishes the file (<see cref="Finish"/>) and renames it to <see cref="Path"/>, replacing any file there.</summary>
    public void Commit()
    {
        Finish();
        _file.Commit();
        _closed = true;
    }

    /// <summary>Closes the file; without <see cref="Commit"/> the temporary file is deleted and the target left untouched.</summary>
    public void Dispose()
    {
        _closed = true;
        _file.Dispose();
    }

    /// <summary>Writes a whole float array in one call.</summary>
    public static void Write(string path, ReadOnlySpan<float> values, int columns, NpyDataType dataType = NpyDataType.Float32, int formatVersion = 1)
    {
        using var writer = new NpyWriter(path, dataType, columns, formatVersion);
        writer.WriteRows(values);
        writer.Commit();
    }

    /// <summary>
    /// Writes a whole integer array in one call. (Named apart from <see cref="Write"/> so that a
    /// collection of integer literals meant as floats cannot silently become an integer file.)
    /// </summary>
    public static void WriteIntegers(string path, ReadOnlySpan<long> values, int columns, NpyDataType dataType = NpyDataType.Int64, int formatVersion = 1)
    {
        using var writer = new NpyWriter(path, dataType, columns, formatVersion);
        writer.WriteRows(values);
        writer.Commit();
    }

    private long CheckWholeRows(int valueCount)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (Columns == 0)
        {
            if (valueCount != 0)
                throw new ArgumentException($"'{Path}' has rows of width 0; nothing can be written to them.");
            return 0;
        }

        if (valueCount % Columns != 0)
            throw new ArgumentException($"{valueCount} values are not a whole number of rows of {Columns} for '{Path}'.");
        return valueCount / Columns;
    }

    private void WriteAsHalf(ReadOnlySpan<float> values)
    {
        var buffer = new Half[Math.Min(ConversionBlock, values.Length)];
        for (var start = 0; start < values.Length; start += buffer.Length)
        {
            var block = values.Slice(start, Math.Min(buffer.Length, values.Length - start));
            var outside = IndexOutsideHalfRange(block);
            if (outside >= 0)
            {
                var row = RowsWritten + (start + outside) / Columns;
                throw new OverflowException($"Row {row} holds {block[outside]}, outside the float16 range (±65504) of '{Path}'.");
            }

            TensorPrimitives.ConvertToHalf(block, buffer);
            _file.Stream.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, block.Length)));
        }
    }

    /// <summary>The index of the first finite value that float16 cannot hold, or -1.</summary>
    private static int IndexOutsideHalfRange(ReadOnlySpan<float> values)
    {
        const float limit = 65504f;
        var largest = TensorPrimitives.MaxMagnitude(values);
        if (float.IsFinite(largest) && largest <= limit)
            return -1;
        for (var i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i]) && Math.Abs(values[i]) > limit)
                return i;
        }

        return -1;
    }
}
