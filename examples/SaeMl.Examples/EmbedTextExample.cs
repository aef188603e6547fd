using Microsoft.ML;
using SaeMl.Compute;
using SaeMl.Demo;
using SaeMl.Embedding;

namespace SaeMl.Examples;

/// <summary>
/// Embeds texts in an ML.NET pipeline with EmbedText, saves the fitted pipeline as a model zip and
/// loads it back. The model is the demo world's, generated on the spot; a real one (an ONNX export of
/// bge-base-en-v1.5 with its vocab.txt) is used the same way.
/// </summary>
public static class EmbedTextExample
{
    public sealed class Passage
    {
        public string Text { get; set; } = "";
    }

    public sealed class EmbeddedPassage
    {
        public string Text { get; set; } = "";

        public float[] Embedding { get; set; } = [];
    }

    public static void Run()
    {
        var folder = Path.Combine(Path.GetTempPath(), "saeml-example-embed-text");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        DemoWorld.Generate(new DemoWorldOptions { Documents = 100, Queries = 10 }).Write(folder);

        var ml = new MLContext(seed: 1);
        var passages = ml.Data.LoadFromEnumerable(new[]
        {
            new Passage { Text = "rain and thunder in the forecast" },
            new Passage { Text = "simmer the garlic in a saucepan" },
            new Passage { Text = "storm clouds and drizzle" },
        });

        // 1. An EmbedText pipeline: text in, a normalised 256-dimensional vector out.
        var pipeline = ml.Transforms.EmbedText(
            outputColumnName: "Embedding",
            inputColumnName: "Text",
            modelPath: Path.Combine(folder, DemoWorld.ModelFile),
            vocabularyPath: Path.Combine(folder, DemoWorld.VocabularyFile),
            device: ComputeDevice.Auto,
            allowCpuFallback: true);
        var model = pipeline.Fit(passages);

        // 2. Save it: the zip carries the ONNX model and the vocabulary, so it alone embeds.
        var zip = Path.Combine(folder, "embedder.zip");
        ml.Model.Save(model, passages.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);

        // 3. Use it: the first and third passages (both about weather) are the most similar pair.
        var rows = ml.Data.CreateEnumerable<EmbeddedPassage>(loaded.Transform(passages), reuseRowObject: false).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            for (var j = i + 1; j < rows.Count; j++)
                Console.WriteLine($"cosine(\"{rows[i].Text}\", \"{rows[j].Text}\") = {rows[i].Embedding.Zip(rows[j].Embedding).Sum(p => p.First * p.Second):F3}");
        }
    }
}
