using System.Globalization;
using System.Text;

namespace SaeMl.Data;

/// <summary>
/// Writes a TREC run file, one query's ranking at a time: lines
/// <c>query-id Q0 document-id rank score tag</c> with ranks from 1 and scores in round-trip precision.
/// The file is written under a temporary name and renamed by <see cref="Commit"/>.
/// </summary>
public sealed class TrecRunWriter : IDisposable
{
    private readonly AtomicFile _file;
    private readonly StreamWriter _writer;
    private readonly HashSet<string> _queries = new(StringComparer.Ordinal);
    private bool _closed;

    /// <summary>Starts a run file; nothing appears under <paramref name="path"/> until <see cref="Commit"/>.</summary>
    /// <param name="path">The final file name.</param>
    /// <param name="tag">The run tag written in the last column (no whitespace).</param>
    public TrecRunWriter(string path, string tag = "saeml")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RequireToken(tag, "run tag");
        Tag = tag;
        _file = new AtomicFile(path);
        _writer = new StreamWriter(_file.Stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16, leaveOpen: true);
    }

    /// <summary>The final file name.</summary>
    public string Path => _file.Path;

    /// <summary>The run tag.</summary>
    public string Tag { get; }

    /// <summary>Writes one query's ranking, best first, with ranks 1, 2, ….</summary>
    /// <exception cref="ArgumentException">An id is empty or holds whitespace, the query was already written, or a document repeats.</exception>
    public void WriteRanking(string queryId, IEnumerable<(string DocumentId, float Score)> ranking)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        RequireToken(queryId, "query id");
        ArgumentNullException.ThrowIfNull(ranking);
        if (!_queries.Add(queryId))
            throw new ArgumentException($"Query '{queryId}' was already written to run '{Path}'.", nameof(queryId));

        var documents = new HashSet<string>(StringComparer.Ordinal);
        var rank = 0;
        foreach (var (documentId, score) in ranking)
        {
            RequireToken(documentId, "document id");
            if (!documents.Add(documentId))
                throw new ArgumentException($"Document '{documentId}' appears twice in the ranking of query '{queryId}'.", nameof(ranking));
            if (!float.IsFinite(score))
                throw new ArgumentException($"Document '{documentId}' of query '{queryId}' has score {score}; scores must be finite.", nameof(ranking));
            rank++;
            _writer.Write(string.Create(CultureInfo.InvariantCulture, $"{queryId} Q0 {documentId} {rank} {score} {Tag}\n"));
        }
    }

    /// <summary>Flushes the file to disk and renames it to <see cref="Path"/>, replacing any file there.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _writer.Dispose();
        _file.Commit();
        _closed = true;
    }

    /// <summary>Closes the file; without <see cref="Commit"/> the temporary file is deleted.</summary>
    public void Dispose()
    {
        if (_closed)
            return;
        _closed = true;
        _writer.Dispose();
        _file.Dispose();
    }

    private static void RequireToken(string value, string what)
    {
        if (string.IsNullOrEmpty(value) || value.Any(char.IsWhiteSpace))
            throw new ArgumentException($"The {what} '{value}' is empty or holds whitespace, which the TREC run format cannot hold.");
    }
}
