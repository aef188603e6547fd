using Microsoft.ML;
using SaeMl.Data;
using SaeMl.Demo;

namespace SaeMl.Examples;

/// <summary>
/// The paper's method from texts in one ML.NET pipeline: EmbedText → SparseAutoencode fitted on a corpus's
/// passages (each passage's 32 nearest passages feed the KL terms, found by exact search), saved and loaded
/// as a model zip, then Table 1's first two rows with <c>mlContext.Ranking.EvaluateRetrieval</c>: retrieval
/// with the original embeddings and with the sparse latents, against relevance judgements.
/// </summary>
public static class TrainAndEvaluateExample
{
    public sealed class Passage
    {
        public string DocumentId { get; set; } = "";

        public string Text { get; set; } = "";
    }

    public sealed class Query
    {
        public string QueryId { get; set; } = "";

        public string Text { get; set; } = "";
    }

    public static void Run()
    {
        var folder = Path.Combine(Path.GetTempPath(), "saeml-example-train-evaluate");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        var world = DemoWorld.Generate(new DemoWorldOptions { Documents = 1000, Queries = 100 });
        world.Write(folder);

        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) =>
        {
            if (e.Message.Contains("objective", StringComparison.Ordinal))
                Console.WriteLine(e.Message);
        };
        var passages = ml.Data.LoadFromEnumerable(world.Documents.Select(d => new Passage { DocumentId = d.Id, Text = DemoWorld.EmbeddingText(d) }));
        var queries = ml.Data.LoadFromEnumerable(world.Queries.Select(q => new Query { QueryId = q.Id, Text = q.Text }));

        // 1. Text → embedding → sparse latents, trained with the KL term (no neighbors column needed).
        var pipeline = ml.Transforms.EmbedText("Embedding", "Text", Path.Combine(folder, DemoWorld.ModelFile), Path.Combine(folder, DemoWorld.VocabularyFile))
            .Append(ml.Transforms.SparseAutoencode("Latent", "Embedding", latentSize: 1024, activeLatents: 32));
        var model = pipeline.Fit(passages);

        // 2. One zip holds both transforms, the ONNX model included.
        var zip = Path.Combine(folder, "pipeline.zip");
        ml.Model.Save(model, passages.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);

        // 3. Retrieval with the original embeddings and with the latents, scored against the judgements.
        var (embeddedQueries, embeddedPassages) = (loaded.Transform(queries), loaded.Transform(passages));
        var qrels = Qrels.Read(Path.Combine(folder, DemoWorld.QrelsFile));
        var original = ml.Ranking.EvaluateRetrieval(embeddedQueries, embeddedPassages, qrels, "Embedding");
        var latent = ml.Ranking.EvaluateRetrieval(embeddedQueries, embeddedPassages, qrels, "Latent");
        Console.WriteLine($"original embeddings: MRR@10 {original.MeanReciprocalRankAtCutoff:F4}, nDCG@10 {original.NdcgAt(10):F4}");
        Console.WriteLine($"sparse latents:      MRR@10 {latent.MeanReciprocalRankAtCutoff:F4}, nDCG@10 {latent.NdcgAt(10):F4} ({latent.MeanReciprocalRankAtCutoff / original.MeanReciprocalRankAtCutoff:P1} of the MRR@10 kept)");
    }
}
