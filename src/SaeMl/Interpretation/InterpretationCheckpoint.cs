using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace SaeMl.Interpretation;

/// <summary>
/// What an interpretation run has finished, kept while it runs so that an interrupted run resumes without redoing
/// it: the corpus scan, and each latent's word saliency, label and label score, each committed as soon as it is
/// done. One SQLite file; give it to <see cref="FeatureInterpreter.Checkpoint"/>. Its contents apply only to the
/// same autoencoder, corpus and settings: a run with others empties it first.
/// </summary>
public sealed partial class InterpretationCheckpoint : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly object _gate = new();

    private InterpretationCheckpoint(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Opens the checkpoint at <paramref name="path"/>, creating it when missing.</summary>
    /// <exception cref="FormatException">The file exists but is not an interpretation checkpoint.</exception>
    public static InterpretationCheckpoint Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            connection.Open();
            SqliteStatements.Execute(connection, """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS scan (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS saliency (latent INTEGER PRIMARY KEY, data TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS labels (latent INTEGER NOT NULL, labeler TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (latent, labeler));
                CREATE TABLE IF NOT EXISTS scores (latent INTEGER NOT NULL, label TEXT NOT NULL, embedding_score REAL, detection_score REAL,
                    hard_negative_score REAL, random_negative_score REAL, PRIMARY KEY (latent, label));
                """);
            return new InterpretationCheckpoint(path, connection);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new FormatException($"'{path}' is not an interpretation checkpoint: {e.Message}", e);
        }
    }

    /// <summary>Deletes the checkpoint file at <paramref name="path"/> and SQLite's journal files beside it, once the run it kept is finished.</summary>
    public static void Delete(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            File.Delete(file);
    }

    /// <summary>
    /// Ties the checkpoint to one run's autoencoder, corpus and settings (<paramref name="run"/>): what it holds for
    /// another run is deleted. Returns whether what it holds applies.
    /// </summary>
    internal bool Claim(string run)
    {
        lock (_gate)
        {
            var stored = Scalar("SELECT value FROM meta WHERE key = 'run'") as string;
            if (stored == run)
                return true;
            using var transaction = _connection.BeginTransaction();
            SqliteStatements.Execute(_connection, "DELETE FROM meta; DELETE FROM scan; DELETE FROM saliency; DELETE FROM labels; DELETE FROM scores;", transaction);
            Run("INSERT INTO meta VALUES ('run', $p0)", transaction, run);
            transaction.Commit();
            return false;
        }
    }

    /// <summary>Whether a finished scan is kept.</summary>
    public bool HasScan => (long)Scalar("SELECT COUNT(*) FROM scan")! > 0;

    /// <summary>The number of latents whose saliency, labels and scores are kept.</summary>
    public (int Saliency, int Labels, int Scores) Counts => (
        (int)(long)Scalar("SELECT COUNT(*) FROM saliency")!, (int)(long)Scalar("SELECT COUNT(*) FROM labels")!, (int)(long)Scalar("SELECT COUNT(*) FROM scores")!);

    /// <summary>The kept scan, or null when none is kept or the one kept cannot be read (the run then scans again).</summary>
    internal FeatureScan? LoadScan()
    {
        if (Scalar("SELECT data FROM scan WHERE id = 1") is not byte[] data)
            return null;
        using var stream = new MemoryStream(data, writable: false);
        try
        {
            return FeatureScan.Load(stream);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Keeps a finished scan; one too large for an SQLite value (about 1 GB) or for memory is not kept.</summary>
    internal void SaveScan(FeatureScan scan)
    {
        try
        {
            using var stream = new MemoryStream();
            scan.Save(stream);
            lock (_gate)
                Run("INSERT OR REPLACE INTO scan VALUES (1, $p0)", null, stream.ToArray());
        }
        catch (Exception e) when (e is SqliteException or IOException or OutOfMemoryException or ArgumentException)
        {
        }
    }

    internal LatentSaliency? Saliency(int latent)
    {
        if (Scalar("SELECT data FROM saliency WHERE latent = $p0", latent) is not string json)
            return null;
        var stored = JsonSerializer.Deserialize(json, SaliencyJson.Default.StoredSaliency)!;
        return new LatentSaliency(latent, stored.Documents.ToDictionary(d => d.Row, d => FeatureAtlas.ParseSalientWords(d.Words)),
            [.. stored.Patterns.Select(p => (p.Pattern, p.Documents))], stored.Precision ?? double.NaN, stored.Recall ?? double.NaN);
    }

    internal void Save(LatentSaliency saliency)
    {
        var json = JsonSerializer.Serialize(new StoredSaliency(
            [.. saliency.SalientWords.Select(p => new StoredDocument(p.Key, FeatureAtlas.FormatSalientWords(p.Value)))],
            [.. saliency.Patterns.Select(p => new StoredPattern(p.Pattern, p.Documents))],
            double.IsNaN(saliency.Precision) ? null : saliency.Precision, double.IsNaN(saliency.Recall) ? null : saliency.Recall), SaliencyJson.Default.StoredSaliency);
        lock (_gate)
            Run("INSERT OR REPLACE INTO saliency VALUES ($p0, $p1)", null, saliency.Latent, json);
    }

    /// <summary>The successful labels kept for one labeler, by latent.</summary>
    internal IReadOnlyDictionary<int, FeatureLabel> Labels(string labeler)
    {
        lock (_gate)
        {
            return Query("SELECT latent, label FROM labels WHERE labeler = $p0", labeler)
                .ToDictionary(r => (int)(long)r[0]!, r => new FeatureLabel((int)(long)r[0]!, labeler, (string)r[1]!));
        }
    }

    /// <summary>Keeps a successful label (a failed one is asked for again on resume).</summary>
    internal void Save(FeatureLabel label)
    {
        if (!label.Succeeded)
            return;
        lock (_gate)
            Run("INSERT OR REPLACE INTO labels VALUES ($p0, $p1, $p2)", null, label.Latent, label.Labeler, label.Text);
    }

    internal LabelScore? Score(int latent, string label)
    {
        lock (_gate)
        {
            return Query("SELECT embedding_score, detection_score, hard_negative_score, random_negative_score FROM scores WHERE latent = $p0 AND label = $p1", latent, label)
                .Select(r => new LabelScore(latent, label, r[0] as double? ?? double.NaN, r[1] as double?, r[2] as double? ?? double.NaN, r[3] as double? ?? double.NaN))
                .SingleOrDefault();
        }
    }

    internal void Save(IEnumerable<LabelScore> scores)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            foreach (var score in scores)
            {
                Run("INSERT OR REPLACE INTO scores VALUES ($p0, $p1, $p2, $p3, $p4, $p5)", transaction, score.Latent, score.Label, SqliteStatements.Stored(score.EmbeddingScore), SqliteStatements.Stored(score.DetectionScore),
                    SqliteStatements.Stored(score.HardNegativeScore), SqliteStatements.Stored(score.RandomNegativeScore));
            }

            transaction.Commit();
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _connection.Dispose();

    private sealed record StoredDocument(long Row, string Words);

    private sealed record StoredPattern(string Pattern, int Documents);

    private sealed record StoredSaliency(List<StoredDocument> Documents, List<StoredPattern> Patterns, double? Precision, double? Recall);

    /// <summary>The saliency records' JSON, generated at build time so that trimmed applications keep it working.</summary>
    [JsonSerializable(typeof(StoredSaliency))]
    private sealed partial class SaliencyJson : JsonSerializerContext;

    private void Run(string sql, SqliteTransaction? transaction, params object?[] parameters) => SqliteStatements.Execute(_connection, sql, transaction, parameters);

    private object? Scalar(string sql, params object?[] parameters)
    {
        lock (_gate)
            return SqliteStatements.Scalar(_connection, sql, parameters);
    }

    private List<object[]> Query(string sql, params object?[] parameters) => SqliteStatements.Query(_connection, sql, parameters);
}
