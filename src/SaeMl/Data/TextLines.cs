using System.Text;

namespace SaeMl.Data;

/// <summary>Reads a UTF-8 text file (with or without a byte-order mark) as numbered, non-blank lines; bytes that are not UTF-8 are an error naming the line.</summary>
internal static class TextLines
{
    /// <summary>
    /// Checks now that <paramref name="path"/> exists, so a wrong name fails at the call, and streams
    /// its lines with 1-based numbers on each enumeration, skipping empty and whitespace-only lines.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">While enumerating: a line is not valid UTF-8.</exception>
    public static IEnumerable<(long Number, string Text)> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Could not find the data file '{path}'.", path);
        return Iterate(path);
    }

    private static IEnumerable<(long Number, string Text)> Iterate(string path)
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var chunk = new byte[1 << 16];
        var line = new MemoryStream();
        var number = 0L;
        var first = true;
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            var start = 0;
            if (first && read >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF)
                start = 3; // a byte-order mark
            first = false;
            for (var i = start; i < read; i++)
            {
                if (chunk[i] != (byte)'\n')
                    continue;
                line.Write(chunk, start, i - start);
                start = i + 1;
                if (Decode(line, ++number) is { } text)
                    yield return (number, text);
            }

            line.Write(chunk, start, read - start);
        }

        if (line.Length > 0 && Decode(line, ++number) is { } last)
            yield return (number, last);

        string? Decode(MemoryStream bytes, long lineNumber)
        {
            var span = bytes.GetBuffer().AsSpan(0, (int)bytes.Length);
            if (span.Length > 0 && span[^1] == (byte)'\r')
                span = span[..^1];
            string text;
            try
            {
                text = strict.GetString(span);
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException($"'{path}' line {lineNumber} is not valid UTF-8 text.");
            }

            bytes.SetLength(0);
            return string.IsNullOrWhiteSpace(text) ? null : text;
        }
    }
}
