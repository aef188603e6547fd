using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Interpretation;

/// <summary>
/// The feature atlas: a <see cref="FeatureInterpretation"/> in one SQLite file that any SQLite tool can query
/// (tables <c>meta</c>, <c>latents</c>, <c>examples</c>, <c>neighbors</c>, <c>labels</c>, <c>label_scores</c>,
/// <c>patterns</c>, <c>zipf</c>), versioned and tied to the autoencoder's identity. Opened read-only; cards
/// are read on demand, so an atlas of any size opens at once.
/// </summary>
public sealed class FeatureAtlas : IDisposable
{
    /// <summary>The file layout version this library writes and reads.</summary>
    public const int FormatVersion = 2;

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, string> _meta;

    private FeatureAtlas(string path, SqliteConnection connection, Dictionary<string, string> meta)
    {
        Path = path;
        _connection = connection;
        _meta = meta;
        BinEdges = [.. meta["bin_edges"].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture))];
        LatentSize = int.Parse(meta["latent_size"], CultureInfo.InvariantCulture);
        ActiveLatents = int.Parse(meta["active_latents"], CultureInfo.InvariantCulture);
        ActivationThreshold = meta.TryGetValue("activation_threshold", out var threshold) ? float.Parse(threshold, CultureInfo.InvariantCulture) : 0;
        CorpusRows = long.Parse(meta["corpus_rows"], CultureInfo.InvariantCulture);
    }

    /// <summary>The atlas file.</summary>
    public string Path { get; }

    /// <summary>Identifies the autoencoder that was interpreted.</summary>
    public string ModelIdentity => _meta["model_identity"];

    /// <summary>n.</summary>
    public int LatentSize { get; }

    /// <summary>K: the latents each document keeps, or with an <see cref="ActivationThreshold"/> the most it may keep.</summary>
    public int ActiveLatents { get; }

    /// <summary>θ, the interpreted autoencoder's activation threshold; 0 for TopK and for atlases written before thresholds existed.</summary>
    public float ActivationThreshold { get; }

    /// <summary>The corpus store's name.</summary>
    public string CorpusName => _meta["corpus_name"];

    /// <summary>The documents scanned.</summary>
    public long CorpusRows { get; }

    /// <summary>The activation histogram's bin edges.</summary>
    public IReadOnlyList<float> BinEdges { get; }

    /// <summary>A fingerprint of an autoencoder: SHA-256 over K and its weights, as hex. Equal weights give equal identities.</summary>
    public static string IdentityOf(SparseAutoencoder autoencoder)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        var weights = autoencoder.GetWeights();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(autoencoder.ActiveLatents));
        if (autoencoder.ActivationThreshold > 0)                                   // a TopK model's identity is what it was before thresholds
            hash.AppendData(BitConverter.GetBytes(autoencoder.ActivationThreshold));
        foreach (var part in new[] { weights.EncoderWeight, weights.EncoderBias, weights.DecoderWeight, weights.DecoderBias })
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(part.AsSpan()));
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>Opens an atlas file read-only.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not a SaeMl feature atlas, or of another format version.</exception>
    public static FeatureAtlas Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Could not find the feature atlas '{path}'.", path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            connection.Open();
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT key, value FROM meta";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                    meta[reader.GetString(0)] = reader.GetString(1);
            }

            if (!meta.TryGetValue("format", out var format) || format != "saeml-feature-atlas")
                throw new FormatException($"'{path}' is an SQLite file but not a SaeMl feature atlas.");
            if (meta.GetValueOrDefault("format_version") != FormatVersion.ToString(CultureInfo.InvariantCulture))
                throw new FormatException($"Feature atlas '{path}' has format version {meta.GetValueOrDefault("format_version")}; this SaeMl reads version {FormatVersion}.");
            if (RequiredMeta.FirstOrDefault(key => !meta.ContainsKey(key)) is { } missing)
                throw new FormatException($"Feature atlas '{path}' lacks its '{missing}' entry: the file is damaged or was not finished.");
            return new FeatureAtlas(path, connection, meta);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new FormatException($"'{path}' is not a SaeMl feature atlas: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static readonly string[] RequiredMeta = ["model_identity", "latent_size", "active_latents", "corpus_name", "corpus_rows", "bin_edges"];

    /// <summary>The Zipf fits recorded: "latents" and the bag-of-words unit.</summary>
    public IReadOnlyDictionary<string, ZipfFit> Zipf()
    {
        var fits = new Dictionary<string, ZipfFit>(StringComparer.Ordinal);
        foreach (var row in Query("SELECT series, exponent, intercept, r_squared, points FROM zipf"))
            fits[(string)row[0]] = new ZipfFit((double)row[1], (double)row[2], (double)row[3], (int)(long)row[4]);
        return fits;
    }

    /// <summary>The latents that were interpreted (labelled, or given to a labeler that failed), in order.</summary>
    public IReadOnlyList<int> InterpretedLatents() => [.. Query("SELECT DISTINCT latent FROM labels ORDER BY latent").Select(r => (int)(long)r[0])];

    /// <summary>How many documents each latent fires in, indexed by latent (every latent, dead ones at 0).</summary>
    public IReadOnlyList<long> FireCounts()
    {
        var counts = new long[LatentSize];
        foreach (var row in Query("SELECT latent, fire_count FROM latents"))
            counts[(int)(long)row[0]] = (long)row[1];
        return counts;
    }

    /// <summary>The labels recorded by one labeler, by latent: the cache a second run reuses.</summary>
    public IReadOnlyDictionary<int, FeatureLabel> Labels(string labeler) => labeler is null
        ? throw new ArgumentNullException(nameof(labeler))
        : Query("SELECT latent, labeler, label, error FROM labels WHERE labeler = $p0", labeler)
            .ToDictionary(r => (int)(long)r[0], r => new FeatureLabel((int)(long)r[0], (string)r[1], (string)r[2], r[3] as string));

    /// <summary>Every labelled latent's successful label, one per latent (of several labelers, the first by name).</summary>
    public IReadOnlyDictionary<int, FeatureLabel> Labels() =>
        Query("SELECT latent, labeler, label FROM labels WHERE error IS NULL AND label <> '' ORDER BY latent, labeler")
            .GroupBy(r => (int)(long)r[0])
            .ToDictionary(g => g.Key, g => new FeatureLabel(g.Key, (string)g.First()[1], (string)g.First()[2]));

    /// <summary>One latent's card, read from the file.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The latent is outside 0..n−1.</exception>
    public FeatureCard Card(int latent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(latent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(latent, LatentSize);
        var row = Query("SELECT fire_count, frequency, mean_activation, max_activation, frequency_group, family_root, family_parent, histogram, pattern_precision, pattern_recall FROM latents WHERE latent = $p0", latent).Single();
        List<AtlasExample> Examples(string kind) =>
            [.. Query("SELECT row, document_id, activation, salient_words FROM examples WHERE latent = $p0 AND kind = $p1 ORDER BY rank", latent, kind)
                .Select(r => new AtlasExample((long)r[0], (string)r[1], (float)(double)r[2], ParseSalientWords((string)r[3])))];
        return new FeatureCard(
            latent,
            (long)row[0],
            (double)row[1],
            (double)row[2],
            (float)(double)row[3],
            Enum.Parse<FrequencyGroup>((string)row[4]),
            (int)(long)row[5],
            (int)(long)row[6],
            ((string)row[7]).Split(',').Select(long.Parse).ToArray(),
            Examples("top"),
            Examples("quantile"),
            [.. Query("SELECT neighbor, cosine FROM neighbors WHERE latent = $p0 ORDER BY rank", latent).Select(r => new LatentNeighbor((int)(long)r[0], (double)r[1]))],
            [.. Query("SELECT latent, labeler, label, error FROM labels WHERE latent = $p0 ORDER BY labeler", latent).Select(r => new FeatureLabel((int)(long)r[0], (string)r[1], (string)r[2], r[3] as string))],
            [.. Query("SELECT label, embedding_score, detection_score, hard_negative_score, random_negative_score FROM label_scores WHERE latent = $p0", latent)
                .Select(r => new LabelScore(latent, (string)r[0], r[1] as double? ?? double.NaN, r[2] as double?, r[3] as double? ?? double.NaN, r[4] as double? ?? double.NaN))],
            [.. Query("SELECT pattern, documents FROM patterns WHERE latent = $p0 ORDER BY rank", latent).Select(r => ((string)r[0], (int)(long)r[1]))],
            row[8] as double?,
            row[9] as double?);
    }

    /// <summary>The labelled latents whose label holds any of the words of <paramref name="query"/>, most words matched first, then the most frequent.</summary>
    public IReadOnlyList<(int Latent, string Label, int Matches)> FindByLabel(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var words = WordCounts.Words(query).Distinct().ToArray();
        if (words.Length == 0)
            return [];
        return [.. Query("SELECT l.latent, l.label, x.frequency FROM labels l JOIN latents x ON x.latent = l.latent WHERE l.error IS NULL")
            .Select(r => (Latent: (int)(long)r[0], Label: (string)r[1], Frequency: (double)r[2], Matches: WordCounts.Words((string)r[1]).Intersect(words).Count()))
            .Where(r => r.Matches > 0)
            .OrderByDescending(r => r.Matches).ThenByDescending(r => r.Frequency).ThenBy(r => r.Latent)
            .Select(r => (r.Latent, r.Label, r.Matches))];
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _connection.Dispose();

    /// <summary>Salient words as stored: "word strength" pairs separated by tabs (words hold no whitespace).</summary>
    internal static string FormatSalientWords(IReadOnlyList<SalientWord> words) =>
        string.Join('\t', words.Select(w => w.Word + " " + w.Strength.ToString("R", CultureInfo.InvariantCulture)));

    internal static IReadOnlyList<SalientWord> ParseSalientWords(string stored) => stored.Length == 0 ? [] :
        [.. stored.Split('\t').Select(pair => pair.LastIndexOf(' ') is var space and > 0
            ? new SalientWord(pair[..space], float.Parse(pair.AsSpan(space + 1), CultureInfo.InvariantCulture))
            : throw new FormatException($"A stored salient word '{pair}' lacks its strength."))];

    /// <summary>Writes <paramref name="interpretation"/> to a temporary file beside <paramref name="path"/> and renames it into place when complete.</summary>
    internal static void Write(string path, FeatureInterpretation interpretation)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(interpretation);
        var target = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(target) is { } folder && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"The folder of the feature atlas '{target}' does not exist; create it first.");
        var temporary = AtomicFile.TemporaryPathOf(target);
        try
        {
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = temporary, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString()))
            {
                connection.Open();
                SqliteStatements.Execute(connection, Schema);
                using var transaction = connection.BeginTransaction();
                WriteContent(connection, transaction, interpretation);
                transaction.Commit();
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
            throw;
        }
    }

    private const string Schema = """
        PRAGMA journal_mode = OFF;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE latents (latent INTEGER PRIMARY KEY, fire_count INTEGER NOT NULL, frequency REAL NOT NULL, mean_activation REAL NOT NULL,
            max_activation REAL NOT NULL, frequency_group TEXT NOT NULL, family_root INTEGER NOT NULL, family_parent INTEGER NOT NULL,
            histogram TEXT NOT NULL, pattern_precision REAL, pattern_recall REAL);
        CREATE TABLE examples (latent INTEGER NOT NULL, kind TEXT NOT NULL, rank INTEGER NOT NULL, row INTEGER NOT NULL, document_id TEXT NOT NULL,
            activation REAL NOT NULL, salient_words TEXT NOT NULL, PRIMARY KEY (latent, kind, rank));
        CREATE TABLE neighbors (latent INTEGER NOT NULL, rank INTEGER NOT NULL, neighbor INTEGER NOT NULL, cosine REAL NOT NULL, PRIMARY KEY (latent, rank));
        CREATE TABLE labels (latent INTEGER NOT NULL, labeler TEXT NOT NULL, label TEXT NOT NULL, error TEXT, PRIMARY KEY (latent, labeler));
        CREATE TABLE label_scores (latent INTEGER NOT NULL, label TEXT NOT NULL, embedding_score REAL, detection_score REAL,
            hard_negative_score REAL, random_negative_score REAL, PRIMARY KEY (latent, label));
        CREATE TABLE patterns (latent INTEGER NOT NULL, rank INTEGER NOT NULL, pattern TEXT NOT NULL, documents INTEGER NOT NULL, PRIMARY KEY (latent, rank));
        CREATE TABLE zipf (series TEXT PRIMARY KEY, exponent REAL NOT NULL, intercept REAL NOT NULL, r_squared REAL NOT NULL, points INTEGER NOT NULL);
        """;

    private static void WriteContent(SqliteConnection connection, SqliteTransaction transaction, FeatureInterpretation interpretation)
    {
        var statistics = interpretation.Scan.Statistics;
        var meta = new Dictionary<string, string>
        {
            ["format"] = "saeml-feature-atlas",
            ["format_version"] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["model_identity"] = interpretation.ModelIdentity,
            ["latent_size"] = statistics.LatentSize.ToString(CultureInfo.InvariantCulture),
            ["active_latents"] = interpretation.ActiveLatents.ToString(CultureInfo.InvariantCulture),
            ["activation_threshold"] = interpretation.ActivationThreshold.ToString("R", CultureInfo.InvariantCulture),
            ["corpus_name"] = interpretation.CorpusName,
            ["corpus_rows"] = statistics.Documents.ToString(CultureInfo.InvariantCulture),
            ["bin_edges"] = string.Join(',', statistics.BinEdges.Select(e => e.ToString("R", CultureInfo.InvariantCulture))),
            ["bag_of_words_unit"] = interpretation.BagOfWordsUnit,
        };
        using var insertMeta = Prepare(connection, transaction, "INSERT INTO meta VALUES ($p0, $p1)", 2);
        foreach (var (key, value) in meta)
            Run(insertMeta, key, value);

        using var insertLatent = Prepare(connection, transaction, "INSERT INTO latents VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10)", 11);
        using var insertExample = Prepare(connection, transaction, "INSERT INTO examples VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6)", 7);
        using var insertNeighbor = Prepare(connection, transaction, "INSERT INTO neighbors VALUES ($p0, $p1, $p2, $p3)", 4);
        using var insertPattern = Prepare(connection, transaction, "INSERT INTO patterns VALUES ($p0, $p1, $p2, $p3)", 4);
        using var insertLabel = Prepare(connection, transaction, "INSERT INTO labels VALUES ($p0, $p1, $p2, $p3)", 4);
        using var insertScore = Prepare(connection, transaction, "INSERT INTO label_scores VALUES ($p0, $p1, $p2, $p3, $p4, $p5)", 6);
        for (var latent = 0; latent < statistics.LatentSize; latent++)
        {
            var card = interpretation.Card(latent);
            Run(insertLatent, latent, card.FireCount, card.Frequency, card.MeanActivation, (double)card.MaxActivation, card.Group.ToString(),
                card.FamilyRoot, card.FamilyParent, string.Join(',', card.Histogram), card.PatternPrecision, card.PatternRecall);
            foreach (var (kind, examples) in new[] { ("top", card.TopDocuments), ("quantile", card.QuantileExamples) })
            {
                for (var rank = 0; rank < examples.Count; rank++)
                    Run(insertExample, latent, kind, rank, examples[rank].Row, examples[rank].DocumentId, (double)examples[rank].Activation, FormatSalientWords(examples[rank].SalientWords));
            }

            for (var rank = 0; rank < card.Neighbors.Count; rank++)
                Run(insertNeighbor, latent, rank, card.Neighbors[rank].Latent, card.Neighbors[rank].Cosine);
            for (var rank = 0; rank < card.Patterns.Count; rank++)
                Run(insertPattern, latent, rank, card.Patterns[rank].Pattern, card.Patterns[rank].Documents);
            foreach (var label in card.Labels)
                Run(insertLabel, latent, label.Labeler, label.Text, label.Error);
            foreach (var score in card.Scores)
                Run(insertScore, latent, score.Label, SqliteStatements.Stored(score.EmbeddingScore), SqliteStatements.Stored(score.DetectionScore), SqliteStatements.Stored(score.HardNegativeScore), SqliteStatements.Stored(score.RandomNegativeScore));
        }

        using var insertZipf = Prepare(connection, transaction, "INSERT INTO zipf VALUES ($p0, $p1, $p2, $p3, $p4)", 5);
        foreach (var (series, counts) in new[] { ("latents", (IReadOnlyList<long>)statistics.FireCounts.ToArray()), (interpretation.BagOfWordsUnit, interpretation.BagOfWordsCounts) })
        {
            if (counts.Count(c => c > 0) >= 2)
            {
                var fit = ZipfFit.Of(counts);
                Run(insertZipf, series, fit.Exponent, fit.Intercept, fit.RSquared, fit.Points);
            }
        }
    }

    private static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction transaction, string sql, int parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        for (var i = 0; i < parameters; i++)
            command.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), null));
        return command;
    }

    private static void Run(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        command.ExecuteNonQuery();
    }

    /// <summary>The rows of a query; a NULL column reads as null.</summary>
    private List<object[]> Query(string sql, params object[] parameters) => SqliteStatements.Query(_connection, sql, parameters);
}
