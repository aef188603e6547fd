using System.Buffers.Binary;
using System.Text;
using SaeMl.Data.Npy;

namespace SaeMl.Tests.Data;

public sealed class NpyTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>
    /// Bytes of a .npy file as NumPy lays it out: magic, version, little-endian header length (2 bytes
    /// in version 1, 4 in versions 2 and 3), the dict literal padded with spaces to a 64-byte boundary
    /// and ended with a newline, then the raw data.
    /// </summary>
    private static byte[] NpyBytes(string dictionary, byte[] data, int major = 1, int alignment = 64)
    {
        var preamble = major == 1 ? 10 : 12;
        var headerText = Encoding.UTF8.GetBytes(dictionary);
        var total = (preamble + headerText.Length + 1 + alignment - 1) / alignment * alignment;
        var bytes = new byte[total + data.Length];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = (byte)major;
        bytes[7] = 0;
        if (major == 1)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(total - preamble));
        else
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)(total - preamble));
        headerText.CopyTo(bytes.AsSpan(preamble));
        bytes.AsSpan(preamble + headerText.Length, total - preamble - headerText.Length - 1).Fill((byte)' ');
        bytes[total - 1] = (byte)'\n';
        data.CopyTo(bytes.AsSpan(total));
        return bytes;
    }

    private static byte[] Float32Bytes(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    private string WriteFile(string name, byte[] bytes)
    {
        var path = _folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Reads_a_float32_file_laid_out_as_numpy_writes_it(int major)
    {
        var path = WriteFile("a.npy", NpyBytes(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            Float32Bytes(1.5f, -2f, 0f, 3.25f, 1e-3f, -7f),
            major));

        using var file = NpyFile.Open(path);

        file.Header.Should().Be(new NpyHeader(NpyDataType.Float32, 2, 3));
        file.FormatVersion.Should().Be(major);
        file.DataOffset.Should().Be(128, "a 60-character dict after a 10- or 12-byte preamble pads to two 64-byte blocks");
        file.ReadAllSingles().Should().Equal(1.5f, -2f, 0f, 3.25f, 1e-3f, -7f);
    }

    [Fact]
    public void Reads_float16_bit_patterns_as_their_float_values()
    {
        // IEEE half: 0x3C00 = 1, 0xC000 = -2, 0x3800 = 0.5, 0x7BFF = 65504 (largest finite), 0x0001 = 2^-24.
        var data = new byte[] { 0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x00 };
        var path = WriteFile("h.npy", NpyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", data));

        using var file = NpyFile.Open(path);

        file.Header.DataType.Should().Be(NpyDataType.Float16);
        file.ReadAllSingles().Should().Equal(1f, -2f, 0.5f, 65504f, MathF.Pow(2, -24), 0f);
    }

    [Fact]
    public void Reads_headers_with_old_alignment_key_order_and_python2_longs()
    {
        // NumPy before 1.14 padded to 16 bytes; Python 2 wrote 3L; key order is not fixed.
        var path = WriteFile("old.npy", NpyBytes(
            "{'shape': (1L, 2L), 'fortran_order': False, 'descr': '<f4'}",
            Float32Bytes(4f, 5f),
            alignment: 16));

        using var file = NpyFile.Open(path);

        file.Header.Should().Be(new NpyHeader(NpyDataType.Float32, 1, 2));
        file.ReadAllSingles().Should().Equal(4f, 5f);
    }

    [Fact]
    public void Reads_int32_and_int64_ids()
    {
        var int32 = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(int32, 7);
        BinaryPrimitives.WriteInt32LittleEndian(int32.AsSpan(4), -1);
        var path = WriteFile("i4.npy", NpyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", int32));

        using var file = NpyFile.Open(path);

        file.ReadAllInt64().Should().Equal(7L, -1L);
        file.Invoking(f => f.ReadAllSingles()).Should().Throw<InvalidOperationException>().WithMessage("*Int32*not floating-point*");
    }

    [Theory]
    [InlineData(NpyDataType.Float32, 1)]
    [InlineData(NpyDataType.Float32, 2)]
    [InlineData(NpyDataType.Float32, 3)]
    [InlineData(NpyDataType.Float16, 1)]
    [InlineData(NpyDataType.Float16, 2)]
    [InlineData(NpyDataType.Float16, 3)]
    public void Floats_round_trip_through_every_format_version(NpyDataType type, int version)
    {
        // Multiples of 1/8 below 2048 are exact in float16, so both types must round-trip exactly.
        var values = Enumerable.Range(0, 5 * 7).Select(i => (i - 17) / 8f).ToArray();
        var path = _folder.File("rt.npy");

        NpyWriter.Write(path, values, columns: 7, type, version);
        using var file = NpyFile.Open(path);

        file.Header.Should().Be(new NpyHeader(type, 5, 7));
        file.FormatVersion.Should().Be(version);
        (file.DataOffset % 64).Should().Be(0);
        file.ReadAllSingles().Should().Equal(values);
    }

    [Fact]
    public void Float16_rounds_to_the_nearest_half_value()
    {
        var path = _folder.File("round.npy");

        NpyWriter.Write(path, [0.1f, 1f / 3f], columns: 2, NpyDataType.Float16);
        using var file = NpyFile.Open(path);

        file.ReadAllSingles().Should().Equal((float)(Half)0.1f, (float)(Half)(1f / 3f));
    }

    [Fact]
    public void Int64_round_trips_and_int32_rejects_values_it_cannot_hold()
    {
        var path = _folder.File("ids.npy");
        NpyWriter.WriteIntegers(path, [0L, long.MaxValue, -5L, 42L], columns: 2);
        using (var file = NpyFile.Open(path))
            file.ReadAllInt64().Should().Equal(0L, long.MaxValue, -5L, 42L);

        var narrow = _folder.File("narrow.npy");
        var write = () => NpyWriter.WriteIntegers(narrow, [1L, 1L << 40], columns: 2, NpyDataType.Int32);
        write.Should().Throw<OverflowException>();
        File.Exists(narrow).Should().BeFalse();
    }

    [Fact]
    public void Streaming_writer_sets_the_row_count_in_the_header_on_commit()
    {
        var path = _folder.File("stream.npy");
        using (var writer = new NpyWriter(path, NpyDataType.Float32, columns: 2))
        {
            writer.WriteRows([1f, 2f]);
            writer.WriteRows([3f, 4f, 5f, 6f]);
            File.Exists(path).Should().BeFalse("nothing appears under the target name before Commit");
            writer.Commit();
        }

        using var file = NpyFile.Open(path);
        file.Rows.Should().Be(3);
        file.ReadAllSingles().Should().Equal(1f, 2f, 3f, 4f, 5f, 6f);
        _folder.FileNames().Should().Equal("stream.npy");
    }

    [Fact]
    public void An_abandoned_write_leaves_the_previous_file_untouched_and_no_temporary_file()
    {
        var path = _folder.File("keep.npy");
        NpyWriter.Write(path, [9f, 9f], columns: 2);

        using (var writer = new NpyWriter(path, NpyDataType.Float32, columns: 2))
            writer.WriteRows([1f, 2f]);

        using var file = NpyFile.Open(path);
        file.ReadAllSingles().Should().Equal(9f, 9f);
        _folder.FileNames().Should().Equal("keep.npy");
    }

    [Fact]
    public void Writing_float16_rejects_values_beyond_its_range()
    {
        var path = _folder.File("big.npy");

        var write = () => NpyWriter.Write(path, [1f, 2f, 3f, 70000f], columns: 2, NpyDataType.Float16);

        write.Should().Throw<OverflowException>().WithMessage("Row 1 holds 70000*float16*");
        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void Reads_rows_from_the_middle_without_touching_the_rest()
    {
        var values = Enumerable.Range(0, 40).Select(i => (float)i).ToArray();
        var path = _folder.File("mid.npy");
        NpyWriter.Write(path, values, columns: 4);
        using var file = NpyFile.Open(path);

        var rows = new float[8];
        file.ReadRows(3, rows);

        rows.Should().Equal(12f, 13f, 14f, 15f, 16f, 17f, 18f, 19f);
        file.Invoking(f => f.ReadRows(9, new float[8])).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*outside*10 rows*");
        file.Invoking(f => f.ReadRows(0, new float[6])).Should().Throw<ArgumentException>().WithMessage("*not a whole number of rows of 4*");
    }

    [Fact]
    public void Rejects_a_truncated_file_naming_it_and_the_missing_bytes()
    {
        var bytes = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", Float32Bytes(new float[12]));
        var path = WriteFile("cut.npy", bytes[..^5]);

        var open = () => NpyFile.Open(path);

        open.Should().Throw<FormatException>().WithMessage($"'{path}' is truncated*4 × 3 Float32*48 bytes*only 43 bytes*");
    }

    [Fact]
    public void Rejects_bytes_after_the_declared_data()
    {
        var bytes = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", Float32Bytes(1f, 2f));
        var path = WriteFile("long.npy", bytes);

        var open = () => NpyFile.Open(path);

        open.Should().Throw<FormatException>().WithMessage($"'{path}' has 4 bytes after*");
    }

    [Fact]
    public void Rejects_a_file_cut_inside_its_header()
    {
        var bytes = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", Float32Bytes(1f));
        var path = WriteFile("head.npy", bytes[..30]);

        var open = () => NpyFile.Open(path);

        open.Should().Throw<FormatException>().WithMessage($"'{path}'*ends inside the header*");
    }

    [Fact]
    public void Rejects_a_wrong_magic_string()
    {
        var bytes = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", Float32Bytes(1f));
        bytes[1] = (byte)'X';
        var path = WriteFile("magic.npy", bytes);

        var open = () => NpyFile.Open(path);

        open.Should().Throw<FormatException>().WithMessage($"'{path}'*magic string*");
    }

    [Theory]
    [InlineData("{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }", "*'|O'*Python objects (pickled data)*")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "*Fortran (column-major) order*")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", "*3 dimension(s) (2, 2, 2); expected a 2-D array*")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", "*1 dimension(s) (4,); expected a 2-D array*")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", "*'>f4' is big-endian*")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", "*'<f8' is not supported*")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "*structured (record) dtypes*")]
    [InlineData("{'descr': '<f4', 'shape': (2, 2), }", "*no 'fortran_order' entry*")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 768), }", "*shape (4611686018427387904, 768) describes more bytes than a file can hold*")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2) ", "*expected '}'*")]
    public void Rejects_arrays_it_does_not_read_with_the_reason(string dictionary, string expectedMessage)
    {
        var path = WriteFile("bad.npy", NpyBytes(dictionary, new byte[64]));

        var open = () => NpyFile.Open(path);

        open.Should().Throw<FormatException>().WithMessage($"'{path}'{expectedMessage}");
    }

    [Fact]
    public void Rejects_format_versions_it_does_not_know()
    {
        var path = WriteFile("v4.npy", NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", Float32Bytes(1f), major: 4));

        var open = () => NpyFile.Open(path);

        open.Should().Throw<FormatException>().WithMessage("*format version 4.0 is not supported*");
    }
}
