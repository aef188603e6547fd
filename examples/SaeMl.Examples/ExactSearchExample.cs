using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Examples;

/// <summary>
/// Writes a small corpus as a sharded embedding store, searches it exactly, and writes a TREC run.
/// The same calls serve a corpus of millions of rows: the store is memory-mapped and streamed.
/// </summary>
public static class ExactSearchExample
{
    public static void Run()
    {
        var folder = Path.Combine(Path.GetTempPath(), "saeml-example-exact-search");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);

        // 1. Embeddings go to disk in shards; in practice they come from an embedding model.
        const int dimension = 4;
        float[][] documents =
        [
            [0.9f, 0.1f, 0.0f, 0.0f], // d0: mostly "weather"
            [0.0f, 0.0f, 1.0f, 0.0f], // d1: "cooking"
            [0.7f, 0.7f, 0.0f, 0.0f], // d2: "weather" and "travel"
            [0.0f, 1.0f, 0.0f, 0.0f], // d3: "travel"
        ];
        using (var writer = new EmbeddingStoreWriter(Path.Combine(folder, "corpus"), dimension, rowsPerShard: 2))
        {
            foreach (var document in documents)
                writer.WriteRows(document);
            writer.Commit();
        }

        IdIndex.Build(["d0", "d1", "d2", "d3"], "example corpus").Save(Path.Combine(folder, "corpus-ids.txt"));

        // 2. Search: queries in memory (or another store), the corpus streamed from disk.
        float[] queries = [1, 0, 0, 0, /* second query */ 0, 1, 0, 0];
        using var corpus = EmbeddingStore.Open(Path.Combine(folder, "corpus"));
        var results = ExactSearch.Search(queries, corpus, new ExactSearchOptions { K = 2, Device = ComputeDevice.Auto });

        // 3. Results: corpus rows and scores per query, best first; ids come from the id index.
        var ids = IdIndex.Load(Path.Combine(folder, "corpus-ids.txt"));
        for (var query = 0; query < results.QueryCount; query++)
        {
            var rows = results.RowsOf(query);
            var scores = results.ScoresOf(query);
            var line = new List<string>();
            for (var i = 0; i < results.K; i++)
                line.Add($"{ids[rows[i]]} ({scores[i]:F2})");
            Console.WriteLine($"query {query}: {string.Join(", ", line)}");
        }

        // 4. Vectors already in memory need no store: the same exact search, the same rows.
        var inMemory = ExactSearch.Search(queries, documents.SelectMany(d => d).ToArray(), dimension, new ExactSearchOptions { K = 2 });
        Console.WriteLine($"in memory: the same rows as from the store: {inMemory.Rows.ToArray().SequenceEqual(results.Rows.ToArray())}");

        var runPath = Path.Combine(folder, "run.trec");
        results.WriteTrecRun(runPath, IdIndex.Build(["weather", "travel"], "example queries"), ids, tag: "example");
        Console.WriteLine($"TREC run written to {runPath}");
    }
}
