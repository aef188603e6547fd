using SaeMl.Data;
using SaeMl.Data.Npy;

namespace SaeMl.Cli.Demo;

/// <summary>
/// A seeded vector world with planted topics: each topic is a random unit direction, and each
/// document or query is its topic's direction plus Gaussian noise, L2-normalised. A good search
/// returns documents of the query's topic. Labels and vectors come from separate random streams, so
/// the labels of a world whose vectors are already on disk are known without regenerating them.
/// </summary>
internal sealed class PlantedTopicWorld
{
    /// <summary>The norm of the noise added to a topic direction (1 = as long as the direction).</summary>
    private const double NoiseNorm = 1.5;

    private PlantedTopicWorld(int seed, int dimension, int topics, int[] documentTopics, int[] queryTopics)
    {
        Seed = seed;
        Dimension = dimension;
        Topics = topics;
        DocumentTopics = documentTopics;
        QueryTopics = queryTopics;
    }

    public int Seed { get; }

    public int Dimension { get; }

    public int Topics { get; }

    public IReadOnlyList<int> DocumentTopics { get; }

    public IReadOnlyList<int> QueryTopics { get; }

    public static PlantedTopicWorld Create(int seed, int documents, int queries, int dimension, int topics)
    {
        var labels = new Random(seed);
        var documentTopics = Enumerable.Range(0, documents).Select(_ => labels.Next(topics)).ToArray();
        var queryTopics = Enumerable.Range(0, queries).Select(_ => labels.Next(topics)).ToArray();
        return new PlantedTopicWorld(seed, dimension, topics, documentTopics, queryTopics);
    }

    public static string DocumentId(int row) => $"D{row:D6}";

    public static string QueryId(int row) => $"Q{row:D5}";

    public static string CorpusFolder(string folder) => Path.Combine(folder, "corpus");

    public static string QueriesPath(string folder) => Path.Combine(folder, "queries.npy");

    public static string CorpusIdsPath(string folder) => Path.Combine(folder, "corpus-ids.txt");

    public static string QueryIdsPath(string folder) => Path.Combine(folder, "query-ids.txt");

    /// <summary>
    /// Writes the corpus as a 4-shard store, the queries as one .npy file, and both id lists into
    /// <paramref name="folder"/>. Everything goes to a staging folder first, renamed into place at the
    /// end, so an existing world folder is always complete.
    /// </summary>
    public void Write(string folder)
    {
        var staging = $"{Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))}.partial-{Guid.NewGuid():N}";
        try
        {
            WriteFiles(staging);
            Directory.Move(staging, folder);
        }
        catch
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    private void WriteFiles(string folder)
    {
        Directory.CreateDirectory(folder);
        var corpusFolder = CorpusFolder(folder);
        var queriesPath = QueriesPath(folder);
        var random = new Random(unchecked(Seed * 7919 + 1));
        var directions = Enumerable.Range(0, Topics).Select(_ => Normalised(Gaussian(random, Dimension, 1.0))).ToArray();

        using (var corpus = new EmbeddingStoreWriter(corpusFolder, Dimension, rowsPerShard: (DocumentTopics.Count + 3) / 4))
        {
            foreach (var topic in DocumentTopics)
                corpus.WriteRows(Sample(directions[topic], random));
            corpus.Commit();
        }

        using (var queries = new NpyWriter(queriesPath, NpyDataType.Float32, Dimension))
        {
            foreach (var topic in QueryTopics)
                queries.WriteRows(Sample(directions[topic], random));
            queries.Commit();
        }

        IdIndex.Build(Enumerable.Range(0, DocumentTopics.Count).Select(DocumentId), corpusFolder).Save(CorpusIdsPath(folder));
        IdIndex.Build(Enumerable.Range(0, QueryTopics.Count).Select(QueryId), queriesPath).Save(QueryIdsPath(folder));
    }

    private float[] Sample(float[] direction, Random random)
    {
        var vector = Gaussian(random, Dimension, NoiseNorm / Math.Sqrt(Dimension));
        for (var i = 0; i < vector.Length; i++)
            vector[i] += direction[i];
        return Normalised(vector);
    }

    private static float[] Gaussian(Random random, int count, double deviation)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            // Box–Muller: two uniforms in (0, 1] give one standard normal.
            var radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
            values[i] = (float)(deviation * radius * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        return values;
    }

    private static float[] Normalised(float[] vector)
    {
        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        for (var i = 0; i < vector.Length; i++)
            vector[i] /= norm;
        return vector;
    }
}
