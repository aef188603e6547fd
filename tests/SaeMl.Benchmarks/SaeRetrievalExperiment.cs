using System.CommandLine;
using System.Diagnostics;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Evaluation;
using SaeMl.Search;

namespace SaeMl.Benchmarks;

/// <summary>
/// The paper's first claim on the demo world: how much of the original retrieval accuracy (MRR@10 on
/// held-out queries) the SAE's reconstructions and sparse latents keep, for several temperatures τ and
/// KL weights λ and the MSE-only ablation, with the reconstruction error each pays.
/// </summary>
internal static class SaeRetrievalExperiment
{
    public static Command Create()
    {
        var documents = new Option<int>("--documents") { DefaultValueFactory = _ => 20_000 };
        var trainingQueries = new Option<int>("--training-queries") { DefaultValueFactory = _ => 10_000 };
        var latents = new Option<int>("--latents") { DefaultValueFactory = _ => 4096 };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 32 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 16 };
        var learningRate = new Option<float>("--lr") { DefaultValueFactory = _ => 1e-3f };
        var settings = new Option<string>("--settings") { Description = "λ:τ pairs; λ = 0 is the MSE-only ablation", DefaultValueFactory = _ => "0:1,1:0.05,1:0.1,1:0.5,0.1:0.05,10:0.05" };
        var command = new Command("sae-retrieval", "Retrieval kept by SAE reconstructions and latents on the demo world, by KL weight and temperature")
        { documents, trainingQueries, latents, k, epochs, learningRate, settings };
        command.SetAction(parse => Run(parse.GetValue(documents), parse.GetValue(trainingQueries), parse.GetValue(latents), parse.GetValue(k), parse.GetValue(epochs), parse.GetValue(learningRate), parse.GetValue(settings)!));
        return command;
    }

    private const int EvaluationQueries = 1_000;

    private static int Run(int documentCount, int trainingQueryCount, int latentSize, int k, int epochs, float learningRate, string settings)
    {
        var folder = Directory.CreateTempSubdirectory("saeml-sae-retrieval-");
        try
        {
            // The first 1,000 queries of a world do not depend on how many are drawn: they are the evaluation set.
            var world = DemoWorld.Generate(new DemoWorldOptions { Documents = documentCount, Queries = EvaluationQueries + trainingQueryCount });
            world.Write(Path.Combine(folder.FullName, "world"));
            using var embedder = TextEmbedder.Create(new TextEmbedderOptions
            {
                ModelPath = Path.Combine(folder.FullName, "world", DemoWorld.ModelFile),
                VocabularyPath = Path.Combine(folder.FullName, "world", DemoWorld.VocabularyFile),
                Device = ComputeDevice.Cpu,
            });
            var d = embedder.Dimension;
            var corpusValues = Flatten(embedder.Embed(world.Documents.Select(DemoWorld.EmbeddingText)));
            var queryValues = Flatten(embedder.Embed(world.Queries.Select(q => q.Text)));
            var corpusPath = Path.Combine(folder.FullName, "corpus.npy");
            SaeMl.Data.Npy.NpyWriter.Write(corpusPath, corpusValues, d);
            using var corpus = EmbeddingStore.Open(corpusPath);

            var evaluation = queryValues[..(EvaluationQueries * d)];
            var training = queryValues[(EvaluationQueries * d)..];
            var neighbors = ExactSearch.Search(training, corpus, new ExactSearchOptions { K = 16, Device = ComputeDevice.Cpu });
            var documents = neighbors.Rows.ToArray().SelectMany(row => corpusValues.AsSpan((int)row * d, d).ToArray()).ToArray();
            var data = SaeTrainingData.FromArrays(training, d, documents, 16, "demo training queries");

            var evaluationPath = Path.Combine(folder.FullName, "evaluation-queries.npy");
            SaeMl.Data.Npy.NpyWriter.Write(evaluationPath, evaluation, d);
            using var evaluationStore = EmbeddingStore.Open(evaluationPath);
            var evaluationIds = IdIndex.Build(world.Queries.Take(EvaluationQueries).Select(q => q.Id), "evaluation queries");
            var corpusIds = IdIndex.Build(world.Documents.Select(document => document.Id), "corpus");
            var qrels = Qrels.FromJudgements(world.Judgements, "demo qrels").RestrictTo(evaluationIds, unknownQueries: UnknownIdHandling.Skip); // the training queries' judgements go
            var options = new RetrievalEvaluationOptions { Depth = 10, Device = ComputeDevice.Cpu, WorkingFolder = folder.FullName };
            double MrrAt10(RetrievalEvaluation result, string setting) => result[setting].Metrics.MeanReciprocalRankAtCutoff;

            var original = MrrAt10(DenseRetrievalEvaluator.Evaluate(evaluationStore, evaluationIds, corpus, corpusIds, qrels, options), RetrievalEvaluation.Original);
            Console.WriteLine($"### SAE retrieval on the demo world: {documentCount:N0} documents, d = {d}, {trainingQueryCount:N0} training queries with 16 neighbors, {EvaluationQueries:N0} evaluation queries");
            Console.WriteLine();
            Console.WriteLine($"Machine: {MachineDescription.Describe()}");
            Console.WriteLine($"n = {latentSize}, K = {k}, {epochs} epochs, batch 512, lr {learningRate}, seed 1. Original embeddings: MRR@10 = {original:F4}.");
            Console.WriteLine();
            Console.WriteLine("| λ | τ | val FVU | val KL | MRR@10 reconstructed | kept | MRR@10 latent | kept | train s |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var pair in settings.Split(','))
            {
                var parts = pair.Split(':');
                var (lambda, tau) = (float.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), float.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                var stopwatch = Stopwatch.StartNew();
                var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
                {
                    LatentSize = latentSize, ActiveLatents = k, Epochs = epochs, LearningRate = learningRate, KLWeight = lambda, Temperature = tau, Seed = 1, Device = ComputeDevice.Cpu,
                });
                using var model = trainer.Train(data);
                var seconds = stopwatch.Elapsed.TotalSeconds;

                var result = DenseRetrievalEvaluator.EvaluateAutoencoder(model, evaluationStore, evaluationIds, corpus, corpusIds, qrels, options);
                var reconstructed = MrrAt10(result, RetrievalEvaluation.Reconstructed);
                var latent = MrrAt10(result, RetrievalEvaluation.Latent);
                var last = trainer.History[^1];
                Console.WriteLine($"| {lambda} | {tau} | {last.Fvu:F4} | {last.Kld:F4} | {reconstructed:F4} | {reconstructed / original:P1} | {latent:F4} | {latent / original:P1} | {seconds:F0} |");
            }

            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static float[] Flatten(float[,] matrix) => matrix.Cast<float>().ToArray();
}
