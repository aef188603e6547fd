using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Demo;
using SaeMl.Evaluation;

namespace SaeMl.Benchmarks;

/// <summary>
/// The paper's first claim on the demo world: how much of the original retrieval accuracy (MRR@10 on
/// the world's judged queries) the SAE's reconstructions and sparse latents keep, for several temperatures
/// τ and KL weights λ and the MSE-only ablation, with the reconstruction error each pays. The world, its
/// embeddings and the training neighbors come from the demo's own <see cref="DemoExperiment"/>.
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

    private static int Run(int documentCount, int trainingQueryCount, int latentSize, int k, int epochs, float learningRate, string settings)
    {
        var folder = Directory.CreateTempSubdirectory("saeml-sae-retrieval-");
        try
        {
            using var experiment = new DemoExperiment(new DemoExperimentOptions
            {
                Folder = folder.FullName,
                World = DemoWorldOptions.ForCorpus(documentCount),
                TrainingQueries = trainingQueryCount,
                Device = ComputeDevice.Cpu,
            });
            experiment.WriteWorld();
            using (var embedder = experiment.CreateEmbedder())
            {
                foreach (var texts in Enum.GetValues<DemoTexts>())
                    experiment.Embed(texts, embedder);
            }

            experiment.FindTrainingNeighbors();
            using var data = experiment.OpenTrainingData();
            var evaluationOptions = new RetrievalEvaluationOptions { Depth = 10, Device = ComputeDevice.Cpu, WorkingFolder = folder.FullName };
            double MrrAt10(RetrievalEvaluation result, string setting) => result[setting].Metrics.MeanReciprocalRankAtCutoff;

            var original = MrrAt10(experiment.Evaluate(null, evaluationOptions), RetrievalEvaluation.Original);
            Console.WriteLine($"### SAE retrieval on the demo world: {documentCount:N0} documents, d = {data.Dimension}, {trainingQueryCount:N0} training queries "
                + $"with {experiment.Options.TrainingNeighbors} neighbors, {experiment.World.Queries.Count:N0} evaluation queries");
            Console.WriteLine();
            Console.WriteLine($"Machine: {MachineDescription.Describe()}");
            Console.WriteLine($"n = {latentSize}, K = {k}, {epochs} epochs, batch {SparseAutoencoderOptions.Defaults.BatchSizeFor(k)}, lr {learningRate}, seed 1. Original embeddings: MRR@10 = {original:F4}.");
            Console.WriteLine();
            Console.WriteLine("| λ | τ | val FVU | val KL | val top-10 overlap, reconstructed | latent | MRR@10 reconstructed | kept | MRR@10 latent | kept | train s |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            var rows = new List<(double Overlap, double LatentOverlap, double Kept, double LatentKept)>();
            foreach (var pair in settings.Split(','))
            {
                var parts = pair.Split(':');
                var (lambda, tau) = (float.Parse(parts[0], CultureInfo.InvariantCulture), float.Parse(parts[1], CultureInfo.InvariantCulture));
                var stopwatch = Stopwatch.StartNew();
                var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
                {
                    LatentSize = latentSize, ActiveLatents = k, Epochs = epochs, LearningRate = learningRate, KLWeight = lambda, Temperature = tau,
                    NeighborsPerQuery = experiment.Options.TrainingNeighbors, Seed = 1, Device = ComputeDevice.Cpu,
                });
                using var model = trainer.Train(data);
                var seconds = stopwatch.Elapsed.TotalSeconds;

                var result = experiment.Evaluate(model, evaluationOptions);
                var reconstructed = MrrAt10(result, RetrievalEvaluation.Reconstructed);
                var latent = MrrAt10(result, RetrievalEvaluation.Latent);
                var last = trainer.History[^1];
                Console.WriteLine($"| {lambda} | {tau} | {last.Fvu:F4} | {last.Kld:F4} | {last.Top10Overlap:F3} | {last.LatentTop10Overlap:F3} | {reconstructed:F4} | {reconstructed / original:P1} | {latent:F4} | {latent / original:P1} | {seconds:F0} |");
                rows.Add((last.Top10Overlap, last.LatentTop10Overlap, reconstructed / original, latent / original));
            }

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Spearman rank correlation across the settings, validation top-10 overlap (no judgements) against MRR@10 kept (judged): reconstructions {Spearman([.. rows.Select(r => r.Overlap)], [.. rows.Select(r => r.Kept)]):F3}, "
                + $"latents {Spearman([.. rows.Select(r => r.LatentOverlap)], [.. rows.Select(r => r.LatentKept)]):F3}; FVU against reconstructions kept would be the usual proxy."));

            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Spearman's ρ: the Pearson correlation of the two series' ranks (ties share their mean rank).</summary>
    internal static double Spearman(double[] x, double[] y)
    {
        static double[] Ranks(double[] values)
        {
            var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
            var ranks = new double[values.Length];
            for (var start = 0; start < order.Length;)
            {
                var end = start;
                while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
                    end++;
                for (var i = start; i <= end; i++)
                    ranks[order[i]] = (start + end) / 2.0 + 1;
                start = end + 1;
            }

            return ranks;
        }

        var (rx, ry) = (Ranks(x), Ranks(y));
        var (mx, my) = (rx.Average(), ry.Average());
        var covariance = rx.Zip(ry).Sum(p => (p.First - mx) * (p.Second - my));
        return covariance / Math.Sqrt(rx.Sum(v => (v - mx) * (v - mx)) * ry.Sum(v => (v - my) * (v - my)));
    }
}
