using System.Security.Cryptography;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Steering;

namespace SaeMl.Examples;

/// <summary>
/// One saved pipeline from text to a steered embedding: EmbedText, then SteerLatents with a sparse autoencoder
/// trained on the spot. The first run trains, saves <c>steered-embedder.zip</c> in the folder and prints the
/// steered vectors; a later run with the same folder loads the zip instead and prints them again, so two runs
/// show that a fresh process gets the same vectors.
/// </summary>
public static class SteerTextExample
{
    public sealed class Passage
    {
        public string Text { get; set; } = "";
    }

    public sealed class SteeredPassage
    {
        public string Text { get; set; } = "";

        public float[] Steered { get; set; } = [];
    }

    private static readonly Passage[] Passages =
    [
        new() { Text = "rain and thunder in the forecast" },
        new() { Text = "simmer the garlic in a saucepan" },
        new() { Text = "storm clouds and drizzle" },
    ];

    public static void Run(string folder)
    {
        var zip = Path.Combine(folder, "steered-embedder.zip");
        var ml = new MLContext(seed: 1);
        var passages = ml.Data.LoadFromEnumerable(Passages);
        ITransformer model;
        if (File.Exists(zip))
        {
            model = ml.Model.Load(zip, out _);
            Console.WriteLine($"loaded {zip}");
        }
        else
        {
            model = Train(ml, folder, passages);
            var temporary = zip + ".tmp";
            ml.Model.Save(model, passages.Schema, temporary);
            File.Move(temporary, zip);
            Console.WriteLine($"saved {zip}");
        }

        // The steered vectors, each with a SHA-256 of its bytes: equal lines mean bitwise equal vectors.
        foreach (var row in ml.Data.CreateEnumerable<SteeredPassage>(model.Transform(passages), reuseRowObject: false))
        {
            var hash = Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.Steered.AsSpan())));
            Console.WriteLine($"{row.Text}: {string.Join(' ', row.Steered.Take(3).Select(v => v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))} … sha256 {hash[..16]}");
        }
    }

    private static ITransformer Train(MLContext ml, string folder, IDataView passages)
    {
        // A demo world stands in for a real model and corpus: its ONNX model embeds, its documents train the autoencoder.
        var worldFolder = Path.Combine(folder, "world");
        if (Directory.Exists(worldFolder))
            Directory.Delete(worldFolder, recursive: true); // left by a run stopped before it saved
        var world = DemoWorld.Generate(new DemoWorldOptions { Documents = 300, Queries = 10 });
        world.Write(worldFolder);
        var (modelPath, vocabularyPath) = (Path.Combine(worldFolder, DemoWorld.ModelFile), Path.Combine(worldFolder, DemoWorld.VocabularyFile));
        var embed = ml.Transforms.EmbedText("Embedding", "Text", modelPath, vocabularyPath, device: ComputeDevice.Cpu);
        var documents = ml.Data.LoadFromEnumerable(world.Documents.Select(d => new Passage { Text = d.Text }));
        var embedder = embed.Fit(documents);
        using var autoencoder = ml.Transforms.SparseAutoencode(new SparseAutoencoderOptions
        {
            LatentSize = 256, ActiveLatents = 8, Epochs = 10, BatchSize = 32, NeighborsPerQuery = 0, KLWeight = 0, Device = ComputeDevice.Cpu,
        }).Fit(embedder.Transform(documents));

        // Amplify latent 0 and switch latent 1 off in every passage's latents, decode, keep the vector unit length.
        var plan = SteeringPlan.Empty.Then(LatentEdit.Add(0, 0.5f)).Then(LatentEdit.Ablate(1));
        return embed.Append(ml.Transforms.SteerLatents(autoencoder.Autoencoder, new LatentSteeringOptions
        {
            OutputColumnName = "Steered", InputColumnName = "Embedding", Plan = plan, Normalize = true,
        })).Fit(passages);
    }
}
