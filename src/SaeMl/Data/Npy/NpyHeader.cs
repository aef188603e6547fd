using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SaeMl.Data.Npy;

/// <summary>
/// What a <c>.npy</c> header says about a 2-D, C-ordered, little-endian array: element type and
/// shape <c>[Rows, Columns]</c>. Reads format versions 1.0, 2.0 and 3.0 and writes any of them.
/// </summary>
/// <remarks>
/// The layout follows NumPy's format description: the magic <c>\x93NUMPY</c>, two version bytes,
/// the header length (2 bytes in version 1, 4 bytes in versions 2 and 3), then a Python dict
/// literal with the keys <c>descr</c>, <c>fortran_order</c> and <c>shape</c>, padded with spaces
/// and ended by a newline so that the data starts on a 64-byte boundary. Version 3 differs from
/// version 2 only in allowing UTF-8 in the header.
/// </remarks>
/// <param name="DataType">The element type.</param>
/// <param name="Rows">The number of rows (the first dimension).</param>
/// <param name="Columns">The number of columns (the second dimension, e.g. the embedding size).</param>
internal sealed record NpyHeader(NpyDataType DataType, long Rows, int Columns)
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private const int Alignment = 64;

    /// <summary>The size of the data section in bytes.</summary>
    public long DataBytes => checked(Rows * Columns * DataType.ElementSize());

    /// <summary>Reads and validates the header at the start of <paramref name="stream"/>.</summary>
    /// <param name="stream">A stream positioned at the start of the file.</param>
    /// <param name="path">The file name used in error messages.</param>
    /// <returns>The header, the format's major version and the offset where the data starts.</returns>
    /// <exception cref="FormatException">The header is malformed or describes an array SaeMl does not read.</exception>
    internal static (NpyHeader Header, int FormatVersion, long DataOffset) Read(Stream stream, string path)
    {
        Span<byte> preamble = stackalloc byte[12];
        var read = stream.ReadAtLeast(preamble[..10], 10, throwOnEndOfStream: false);
        if (read < 10 || !preamble[..6].SequenceEqual(Magic))
            throw Invalid(path, "the file does not start with the .npy magic string \\x93NUMPY");

        int major = preamble[6], minor = preamble[7];
        if (major is < 1 or > 3 || minor != 0)
            throw Invalid(path, $"format version {major}.{minor} is not supported (expected 1.0, 2.0 or 3.0)");

        long headerLength;
        int preambleLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..10]);
            preambleLength = 10;
        }
        else
        {
            if (stream.ReadAtLeast(preamble[10..12], 2, throwOnEndOfStream: false) < 2)
                throw Invalid(path, "the file ends inside the header");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..12]);
            preambleLength = 12;
        }

        if (headerLength > 1 << 20)
            throw Invalid(path, $"the header claims {headerLength} bytes, more than any array header needs");
        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerBytes.Length)
            throw Invalid(path, "the file ends inside the header");

        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        var header = Interpret(HeaderDictionary.Parse(text, path), path);
        return (header, major, preambleLength + headerLength);
    }

    /// <summary>
    /// Encodes the preamble and header. With <paramref name="reserveRowDigits"/> the header is padded
    /// as if the row count had 19 digits, so a streaming writer can rewrite it in place once the final
    /// row count is known.
    /// </summary>
    internal byte[] Encode(int formatVersion, bool reserveRowDigits = false)
    {
        if (formatVersion is < 1 or > 3)
            throw new ArgumentOutOfRangeException(nameof(formatVersion), formatVersion, "The .npy format version must be 1, 2 or 3.");
        ArgumentOutOfRangeException.ThrowIfNegative(Rows);
        ArgumentOutOfRangeException.ThrowIfNegative(Columns);

        var dictionary = DictionaryText(Rows);
        var reservedLength = reserveRowDigits ? DictionaryText(long.MaxValue).Length : dictionary.Length;
        var preambleLength = formatVersion == 1 ? 10 : 12;
        var unpadded = preambleLength + reservedLength + 1; // + the closing newline
        var total = (unpadded + Alignment - 1) / Alignment * Alignment;
        var headerLength = total - preambleLength;
        if (formatVersion == 1 && headerLength > ushort.MaxValue)
            throw new InvalidOperationException("The header is too long for .npy format version 1.");

        var bytes = new byte[total];
        Magic.CopyTo(bytes);
        bytes[6] = (byte)formatVersion;
        bytes[7] = 0;
        if (formatVersion == 1)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerLength);

        var written = Encoding.ASCII.GetBytes(dictionary, bytes.AsSpan(preambleLength));
        bytes.AsSpan(preambleLength + written, total - preambleLength - written - 1).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    private string DictionaryText(long rows) => string.Create(
        CultureInfo.InvariantCulture,
        $"{{'descr': '{DataType.Descriptor()}', 'fortran_order': False, 'shape': ({rows}, {Columns}), }}");

    private static NpyHeader Interpret(IReadOnlyDictionary<string, object> fields, string path)
    {
        foreach (var key in new[] { "descr", "fortran_order", "shape" })
        {
            if (!fields.ContainsKey(key))
                throw Invalid(path, $"the header has no '{key}' entry");
        }

        var dataType = fields["descr"] switch
        {
            string descriptor => ParseDescriptor(descriptor, path),
            _ => throw Invalid(path, "structured (record) dtypes are not supported; expected a plain '<f4', '<f2', '<i8' or '<i4' array"),
        };

        if (fields["fortran_order"] is not bool fortranOrder)
            throw Invalid(path, "'fortran_order' must be True or False");
        if (fortranOrder)
            throw Invalid(path, "the array is stored in Fortran (column-major) order; save it in C order, e.g. with numpy.ascontiguousarray");

        if (fields["shape"] is not IReadOnlyList<object> shape || shape.Any(d => d is not long))
            throw Invalid(path, "'shape' must be a tuple of integers");
        if (shape.Count != 2)
            throw Invalid(path, $"the array has {shape.Count} dimension(s) {FormatShape(shape)}; expected a 2-D array [rows, dim]");

        var rows = (long)shape[0];
        var columns = (long)shape[1];
        if (rows < 0 || columns < 0)
            throw Invalid(path, $"the shape {FormatShape(shape)} has a negative dimension");
        if (columns > int.MaxValue)
            throw Invalid(path, $"the row width {columns} is larger than SaeMl supports ({int.MaxValue})");
        if (columns > 0 && rows > long.MaxValue / columns / dataType.ElementSize())
            throw Invalid(path, $"the shape {FormatShape(shape)} describes more bytes than a file can hold");
        return new NpyHeader(dataType, rows, (int)columns);
    }

    private static NpyDataType ParseDescriptor(string descriptor, string path)
    {
        switch (descriptor)
        {
            case "<f4": return NpyDataType.Float32;
            case "<f2": return NpyDataType.Float16;
            case "<i8": return NpyDataType.Int64;
            case "<i4": return NpyDataType.Int32;
        }

        var kind = descriptor.TrimStart('<', '>', '|', '=');
        if (kind.StartsWith('O'))
            throw Invalid(path, $"dtype '{descriptor}' holds Python objects (pickled data), which SaeMl never loads");
        if (descriptor.StartsWith('>'))
            throw Invalid(path, $"dtype '{descriptor}' is big-endian; expected little-endian '<f4', '<f2', '<i8' or '<i4'");
        throw Invalid(path, $"dtype '{descriptor}' is not supported; expected '<f4', '<f2', '<i8' or '<i4'");
    }

    private static string FormatShape(IReadOnlyList<object> shape) =>
        "(" + string.Join(", ", shape.Select(d => Convert.ToString(d, CultureInfo.InvariantCulture))) + (shape.Count == 1 ? ",)" : ")");

    private static FormatException Invalid(string path, string problem) =>
        new($"'{path}' is not a .npy file SaeMl can read: {problem}.");

    /// <summary>
    /// Parses the Python literal of a <c>.npy</c> header: a dict of quoted keys whose values are
    /// strings, booleans, integers, or tuples and lists of those.
    /// </summary>
    private ref struct HeaderDictionary
    {
        private readonly ReadOnlySpan<char> _text;
        private readonly string _path;
        private int _position;

        private HeaderDictionary(ReadOnlySpan<char> text, string path)
        {
            _text = text;
            _path = path;
            _position = 0;
        }

        public static Dictionary<string, object> Parse(string text, string path)
        {
            var parser = new HeaderDictionary(text, path);
            var result = parser.ParseDictionary();
            parser.SkipWhitespace();
            if (parser._position != text.Length)
                throw Invalid(path, "unexpected text after the header dictionary");
            return result;
        }

        private Dictionary<string, object> ParseDictionary()
        {
            Expect('{');
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            while (true)
            {
                SkipWhitespace();
                if (TryConsume('}'))
                    return result;
                var key = ParseString();
                SkipWhitespace();
                Expect(':');
                result[key] = ParseValue();
                SkipWhitespace();
                if (!TryConsume(','))
                {
                    SkipWhitespace();
                    Expect('}');
                    return result;
                }
            }
        }

        private object ParseValue()
        {
            SkipWhitespace();
            if (_position >= _text.Length)
                throw Invalid(_path, "the header dictionary is cut short");
            var c = _text[_position];
            if (c is '\'' or '"')
                return ParseString();
            if (c is '(' or '[')
                return ParseSequence(c == '(' ? ')' : ']');
            if (char.IsDigit(c) || c == '-')
                return ParseInteger();
            if (TryConsumeWord("True"))
                return true;
            if (TryConsumeWord("False"))
                return false;
            throw Invalid(_path, $"unexpected '{c}' in the header dictionary");
        }

        private List<object> ParseSequence(char close)
        {
            _position++;
            var items = new List<object>();
            while (true)
            {
                SkipWhitespace();
                if (TryConsume(close))
                    return items;
                items.Add(ParseValue());
                SkipWhitespace();
                if (!TryConsume(','))
                {
                    Expect(close);
                    return items;
                }
            }
        }

        private long ParseInteger()
        {
            var start = _position;
            if (_text[_position] == '-')
                _position++;
            while (_position < _text.Length && char.IsDigit(_text[_position]))
                _position++;
            if (!long.TryParse(_text[start.._position], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                throw Invalid(_path, $"'{_text[start.._position]}' is not an integer the header can hold");
            if (_position < _text.Length && _text[_position] == 'L')
                _position++; // Python 2 long literal, as written by old NumPy versions
            return value;
        }

        private string ParseString()
        {
            SkipWhitespace();
            if (_position >= _text.Length || _text[_position] is not ('\'' or '"'))
                throw Invalid(_path, "expected a quoted string in the header dictionary");
            var quote = _text[_position++];
            var end = _text[_position..].IndexOf(quote);
            if (end < 0)
                throw Invalid(_path, "unterminated string in the header dictionary");
            var value = _text.Slice(_position, end).ToString();
            _position += end + 1;
            return value;
        }

        private void SkipWhitespace()
        {
            while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
                _position++;
        }

        private bool TryConsume(char c)
        {
            if (_position < _text.Length && _text[_position] == c)
            {
                _position++;
                return true;
            }

            return false;
        }

        private bool TryConsumeWord(string word)
        {
            if (!_text[_position..].StartsWith(word, StringComparison.Ordinal))
                return false;
            _position += word.Length;
            return true;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c))
                throw Invalid(_path, $"expected '{c}' in the header dictionary");
        }
    }
}
