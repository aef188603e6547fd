using System.Text;

namespace SaeMl.Data;

/// <summary>Reads a UTF-8 text file (with or without a byte-order mark) as numbered, non-blank lines.</summary>
internal static class TextLines
{
    /// <summary>
    /// Checks now that <paramref name="path"/> exists, so a wrong name fails at the call, and streams
    /// its lines with 1-based numbers on each enumeration, skipping empty and whitespace-only lines.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IEnumerable<(long Number, string Text)> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Could not find the data file '{path}'.", path);
        return Iterate(path);
    }

    private static IEnumerable<(long Number, string Text)> Iterate(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var number = 0L;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
                yield return (number, line);
        }
    }
}
