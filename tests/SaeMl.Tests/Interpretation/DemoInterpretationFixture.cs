using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Interpretation;

namespace SaeMl.Tests.Interpretation;

/// <summary>
/// A small demo world, its corpus embedded by the world's own ONNX model, an SAE trained on the
/// documents, and the interpretation of every alive latent with the local labeler: shared by the tests
/// that check interpretation against the planted concepts.
/// </summary>
public sealed class DemoInterpretationFixture : IDisposable
{
    public const int LatentSize = 128, ActiveLatents = 8;
    private readonly TempFolder _folder = new();

    public DemoInterpretationFixture()
    {
        World = DemoWorld.Generate(new DemoWorldOptions { Documents = 3_000, Queries = 10, Dimension = 64, Concepts = 50, MaxRelevantPerQuery = 60 });
        var worldFolder = System.IO.Path.Combine(_folder.Path, "world");
        World.Write(worldFolder);
        Embedder = TextEmbedder.Create(new TextEmbedderOptions
        {
            ModelPath = System.IO.Path.Combine(worldFolder, DemoWorld.ModelFile),
            VocabularyPath = System.IO.Path.Combine(worldFolder, DemoWorld.VocabularyFile),
            Device = ComputeDevice.Cpu,
        });
        Texts = [.. World.Documents.Select(DemoWorld.EmbeddingText)];
        Ids = [.. World.Documents.Select(d => d.Id)];
        var vectors = Embedder.Embed(Texts);
        var flat = new float[vectors.Length];
        Buffer.BlockCopy(vectors, 0, flat, 0, flat.Length * sizeof(float));
        StorePath = _folder.File("corpus.npy");
        NpyWriter.Write(StorePath, flat, Embedder.Dimension);
        Corpus = EmbeddingStore.Open(StorePath);
        using (var data = SaeTrainingData.FromArrays(flat, Embedder.Dimension))
        {
            Autoencoder = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
            {
                LatentSize = LatentSize, ActiveLatents = ActiveLatents, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 30, BatchSize = 128,
                LearningRate = 4e-3f, Seed = 1, Device = ComputeDevice.Cpu,
            }).Train(data);
        }

        Interpreter = new FeatureInterpreter(Autoencoder, Corpus, Texts, Ids, new InterpretationOptions { SaliencyDocuments = 8 })
        {
            DocumentEmbedder = Embedder,
            QueryEmbedder = Embedder,
        };
        Scan = Interpreter.Scan();
        Alive = [.. Enumerable.Range(0, LatentSize).Where(j => Scan.Statistics.FireCounts[j] > 0)];
        Result = Interpreter.InterpretAsync(Scan, Alive, new LocalLabeler(Interpreter.Words)).GetAwaiter().GetResult();
    }

    public DemoWorld World { get; }

    public TextEmbedder Embedder { get; }

    public IReadOnlyList<string> Texts { get; }

    public IReadOnlyList<string> Ids { get; }

    public string StorePath { get; }

    public EmbeddingStore Corpus { get; }

    public SparseAutoencoder Autoencoder { get; }

    public FeatureInterpreter Interpreter { get; }

    public FeatureScan Scan { get; }

    public int[] Alive { get; }

    public FeatureInterpretation Result { get; }

    public string Folder => _folder.Path;

    /// <summary>The concept that at least <paramref name="share"/> of the latent's top 50 documents carry, or null: the latent is then "pure".</summary>
    public DemoConcept? PureConcept(int latent, double share = 0.8)
    {
        var top = Scan.Top.Of(latent).Take(50).Select(a => World.Documents[(int)a.Row]).ToList();
        if (top.Count < 10)
            return null;
        var best = top.SelectMany(d => d.Concepts).GroupBy(c => c).OrderByDescending(g => g.Count()).First();
        return best.Count() >= share * top.Count ? World.Concepts[best.Key] : null;
    }

    public void Dispose()
    {
        Autoencoder.Dispose();
        Corpus.Dispose();
        Embedder.Dispose();
        _folder.Dispose();
    }
}
