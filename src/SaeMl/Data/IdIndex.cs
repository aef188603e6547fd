using System.Text;

namespace SaeMl.Data;

/// <summary>
/// The dense mapping between string ids (document or query ids, as data sets spell them) and row
/// numbers of an embedding store: row <c>i</c> holds the embedding of <c>this[i]</c>.
/// </summary>
/// <remarks>
/// Ids are unique, non-empty and contain no line break. Saved as UTF-8 text, one id per line in row
/// order, the file written under a temporary name and renamed.
/// </remarks>
public sealed class IdIndex
{
    private readonly List<string> _ids;
    private readonly Dictionary<string, int> _rows;

    private IdIndex(string source, List<string> ids, Dictionary<string, int> rows)
    {
        Source = source;
        _ids = ids;
        _rows = rows;
    }

    /// <summary>Where the ids came from (a file name), for messages.</summary>
    public string Source { get; }

    /// <summary>The number of ids (rows).</summary>
    public long Count => _ids.Count;

    /// <summary>The ids in row order.</summary>
    public IReadOnlyList<string> Ids => _ids;

    /// <summary>The id of a row.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The row is not below <see cref="Count"/>.</exception>
    public string this[long row] => row >= 0 && row < _ids.Count
        ? _ids[(int)row]
        : throw new ArgumentOutOfRangeException(nameof(row), row, $"Row {row} is outside the {_ids.Count} ids of '{Source}'.");

    /// <summary>The row of an id.</summary>
    /// <exception cref="KeyNotFoundException">The id is unknown.</exception>
    public long RowOf(string id) => _rows.TryGetValue(id, out var row)
        ? row
        : throw new KeyNotFoundException($"Unknown id '{id}': it is not among the {_ids.Count} ids of '{Source}'.");

    /// <summary>Looks up the row of an id.</summary>
    public bool TryGetRow(string id, out long row)
    {
        var found = _rows.TryGetValue(id, out var value);
        row = value;
        return found;
    }

    /// <summary>Builds an index from ids in row order.</summary>
    /// <param name="ids">The ids; row <c>i</c> gets the <c>i</c>-th.</param>
    /// <param name="source">What the ids come from, for messages.</param>
    /// <exception cref="FormatException">An id is repeated, empty or holds a line break.</exception>
    public static IdIndex Build(IEnumerable<string> ids, string source)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var builder = new Builder(source);
        foreach (var id in ids)
            builder.Add(id, line: null);
        return builder.ToIndex();
    }

    /// <summary>Builds an index from records in row order; errors name the record's line.</summary>
    /// <inheritdoc cref="Build(IEnumerable{string}, string)"/>
    public static IdIndex Build(IEnumerable<TextRecord> records, string source)
    {
        ArgumentNullException.ThrowIfNull(records);
        var builder = new Builder(source);
        foreach (var record in records)
            builder.Add(record.Id, record.LineNumber);
        return builder.ToIndex();
    }

    /// <summary>Writes one id per line, in row order.</summary>
    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16, leaveOpen: true);
        foreach (var id in _ids)
            writer.Write(id + "\n");
    });

    /// <summary>Reads an index written by <see cref="Save"/> (or any file of one id per line).</summary>
    /// <exception cref="FormatException">An id is repeated, a line is empty, or the file is not UTF-8.</exception>
    public static IdIndex Load(string path)
    {
        var builder = new Builder(path);
        var previous = 0L;
        foreach (var (number, id) in TextLines.Read(path))
        {
            if (number != previous + 1)
                throw new FormatException($"'{path}' line {previous + 1} is empty; every row needs an id.");
            builder.Add(id, number);
            previous = number;
        }

        return builder.ToIndex();
    }

    private sealed class Builder(string source)
    {
        private readonly List<string> _ids = [];
        private readonly Dictionary<string, int> _rows = new(StringComparer.Ordinal);

        public void Add(string id, long? line)
        {
            if (string.IsNullOrEmpty(id))
                throw new FormatException($"Empty id {Where(line)}.");
            if (id.AsSpan().IndexOfAny('\n', '\r') >= 0)
                throw new FormatException($"Id {Where(line)} holds a line break.");
            if (!_rows.TryAdd(id, _ids.Count))
                throw new FormatException($"Duplicate id '{id}' {Where(line)}: it is already row {_rows[id]}. Ids must be unique.");
            _ids.Add(id);
        }

        private string Where(long? line) => line is { } number ? $"at line {number} of '{source}'" : $"at row {_ids.Count} of '{source}'";

        public IdIndex ToIndex() => new(source, _ids, _rows);
    }
}
