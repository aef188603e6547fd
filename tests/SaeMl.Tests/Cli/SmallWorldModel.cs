using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;

namespace SaeMl.Tests.Cli;

/// <summary>A small demo world in <c>world/</c>, its corpus embedded into <c>store/</c> and a small autoencoder over it in <c>sae.zip</c>, as saeml embed and train write them.</summary>
internal static class SmallWorldModel
{
    public static readonly DemoWorldOptions Options = new() { Documents = 300, Queries = 20, Dimension = 16, Concepts = 40, MaxRelevantPerQuery = 40 };

    public static (string Store, string Model) Prepare(TempFolder folder, int epochs = 2)
    {
        var world = folder.File("world");
        DemoWorld.Generate(Options).Write(world);
        using var embedder = TextEmbedder.Create(new TextEmbedderOptions
        {
            ModelPath = Path.Combine(world, DemoWorld.ModelFile), VocabularyPath = Path.Combine(world, DemoWorld.VocabularyFile), Device = ComputeDevice.Cpu,
        });
        var records = BeirReader.ReadCorpus(world).ToList();
        embedder.EmbedToStoreFolder(records, IdIndex.Build(records, world), folder.File("store"), "corpus");
        var selfNeighbors = folder.File("self.ids.npy");
        SaeMl.Data.Npy.NpyWriter.WriteIntegers(selfNeighbors, Enumerable.Range(0, Options.Documents).Select(i => (long)i).ToArray(), 1);
        using var data = SaeTrainingData.OpenStores(folder.File("store"), folder.File("store"), selfNeighbors);
        using var sae = new MLContext(seed: 1).Transforms.SparseAutoencode(new SparseAutoencoderOptions
        {
            LatentSize = 64, ActiveLatents = 4, Epochs = epochs, BatchSize = 32, NeighborsPerQuery = 0, KLWeight = 0, Device = ComputeDevice.Cpu,
        }).Fit(data);
        sae.Save(folder.File("sae.zip"));
        return (folder.File("store"), folder.File("sae.zip"));
    }
}
