using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Evaluation;
using SaeMl.Search;

namespace SaeMl.Tests.Autoencoder;

/// <summary>
/// The paper's method from texts in one ML.NET pipeline (EmbedText → SparseAutoencode, no neighbors column)
/// against the store-based trainer that <c>saeml train</c> runs, on the demo world, scored as Table 1.
/// </summary>
public sealed class TextPipelineTrainingTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const int EvaluationQueries = 200;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    [Fact]
    public void A_text_pipeline_without_a_neighbors_column_keeps_what_the_store_based_trainer_keeps()
    {
        var world = DemoWorld.Generate(new DemoWorldOptions { Documents = 2000, Queries = EvaluationQueries + 1200, Dimension = 64, Concepts = 100, MaxRelevantPerQuery = 50 });
        var worldFolder = _folder.File("world");
        world.Write(worldFolder);
        var (model, vocabulary) = (Path.Combine(worldFolder, DemoWorld.ModelFile), Path.Combine(worldFolder, DemoWorld.VocabularyFile));
        using var embedder = TextEmbedder.Create(new TextEmbedderOptions { ModelPath = model, VocabularyPath = vocabulary, Device = ComputeDevice.Cpu });
        string Embed(string name, IEnumerable<TextRecord> records)
        {
            var list = records.ToList();
            embedder.EmbedToStoreFolder(list, IdIndex.Build(list, name), _folder.File(name), name);
            File.WriteAllLines(Path.Combine(_folder.File(name), EmbeddingStore.IdsFileName), list.Select(r => r.Id));
            return _folder.File(name);
        }

        var corpusPath = Embed("corpus", world.Documents.Select((d, i) => new TextRecord(d.Id, d.Title, d.Text, i + 1)));
        var evaluationPath = Embed("evaluation", world.Queries.Take(EvaluationQueries).Select((q, i) => new TextRecord(q.Id, "", q.Text, i + 1)));
        var trainingTexts = world.Queries.Skip(EvaluationQueries).Select(q => q.Text).ToList();
        var trainingPath = Embed("training", world.Queries.Skip(EvaluationQueries).Select((q, i) => new TextRecord(q.Id, "", q.Text, i + 1)));
        var evaluationIds = world.Queries.Take(EvaluationQueries).Select(q => q.Id).ToHashSet();
        var qrels = Qrels.FromJudgements(world.Judgements.Where(j => evaluationIds.Contains(j.QueryId)));

        SparseAutoencoderOptions Options(float klWeight) => new()
        {
            LatentSize = 1024, ActiveLatents = 32, Epochs = 4, BatchSize = 128, LearningRate = 2e-3f, KLWeight = klWeight, Seed = 2,
            NeighborCorpusPath = corpusPath, Device = ComputeDevice.Cpu,
        };

        // The pipeline: texts in, the corpus searched for each training text's M nearest documents (the default M).
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var texts = ml.Data.LoadFromEnumerable(trainingTexts.Select(t => new TextRow { Text = t }));
        TransformerChain<SparseAutoencoderTransformer> FitPipeline(float klWeight) =>
            ml.Transforms.EmbedText("Embedding", "Text", model, vocabulary, device: ComputeDevice.Cpu)
                .Append(ml.Transforms.SparseAutoencode(Options(klWeight))).Fit(texts);
        using var fromTexts = FitPipeline(SparseAutoencoderOptions.Defaults.KLWeight);
        using var ablation = FitPipeline(0);

        // The store-based trainer, as saeml neighbors and saeml train run it.
        using (var training = EmbeddingStore.Open(trainingPath))
        using (var corpus = EmbeddingStore.Open(corpusPath))
            ExactSearch.Search(training, corpus, new ExactSearchOptions { K = SparseAutoencoderOptions.Defaults.NeighborsPerQuery, Device = ComputeDevice.Cpu }).SaveNpy(_folder.File("neighbors.ids.npy"), _folder.File("neighbors.scores.npy"));
        using var data = SaeTrainingData.OpenStores(trainingPath, corpusPath, _folder.File("neighbors.ids.npy"));
        using var fromStores = new SparseAutoencoderTrainer(Options(SparseAutoencoderOptions.Defaults.KLWeight)).Train(data);

        (double Latent, double Reconstructed) Retention(SparseAutoencoder autoencoder)
        {
            using var queries = EmbeddingStore.Open(evaluationPath);
            using var corpus = EmbeddingStore.Open(corpusPath);
            var evaluation = DenseRetrievalEvaluator.EvaluateAutoencoder(autoencoder, queries, queries.LoadIds(), corpus, corpus.LoadIds(), qrels,
                new RetrievalEvaluationOptions { Depth = 100, Device = ComputeDevice.Cpu });
            var original = evaluation[RetrievalEvaluation.Original].Metrics.MeanReciprocalRankAtCutoff;
            return (evaluation[RetrievalEvaluation.Latent].Metrics.MeanReciprocalRankAtCutoff / original,
                evaluation[RetrievalEvaluation.Reconstructed].Metrics.MeanReciprocalRankAtCutoff / original);
        }

        var pipeline = Retention(fromTexts.LastTransformer.Autoencoder);
        var stores = Retention(fromStores);
        var mseOnly = Retention(ablation.LastTransformer.Autoencoder);

        output.WriteLine($"MRR@10 kept, latent / reconstructed: pipeline {pipeline.Latent:P2} / {pipeline.Reconstructed:P2}; stores {stores.Latent:P2} / {stores.Reconstructed:P2}; MSE only {mseOnly.Latent:P2} / {mseOnly.Reconstructed:P2}");
        pipeline.Latent.Should().BeApproximately(stores.Latent, 0.01, "the pipeline trains the paper's method on the same neighbors");
        pipeline.Reconstructed.Should().BeApproximately(stores.Reconstructed, 0.01);
        (pipeline.Latent, pipeline.Reconstructed).Should().NotBe(mseOnly, "KLWeight = 0 trains the ablation, another model");
        messages.Should().ContainSingle(m => m.Contains($"objective: FVU + 1 × (KL (the paper's) + 10 × latent-score KL) over each row's {SparseAutoencoderOptions.Defaults.NeighborsPerQuery} neighbor documents at temperature 1 × their score spread", StringComparison.Ordinal)
            && m.Contains($"neighbors by exact search over '{corpusPath}' (2,000 documents)", StringComparison.Ordinal));
        messages.Should().ContainSingle(m => m.Contains("objective: MSE only (the ablation; no KL term)", StringComparison.Ordinal));
    }
}
