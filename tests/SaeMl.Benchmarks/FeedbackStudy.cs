using System.CommandLine;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Evaluation;
using SaeMl.Steering;

namespace SaeMl.Benchmarks;

/// <summary>Latent relevance feedback on the demo world with Table 1's K = 32 autoencoder: MRR before and after pseudo and explicit feedback.</summary>
internal static class FeedbackStudy
{
    public static Command Create()
    {
        var folder = new Option<string>("--folder") { Description = "The demo's folder; an earlier saeml demo run's is reused", DefaultValueFactory = _ => new DemoExperimentOptions().Folder };
        var command = new Command("feedback", "Latent relevance feedback (pseudo and explicit) on the demo world") { folder };
        command.SetAction(parse => Run(parse.GetValue(folder)!));
        return command;
    }

    private static int Run(string folder)
    {
        using var experiment = new DemoExperiment(new DemoExperimentOptions { Folder = folder, Device = ComputeDevice.Cpu });
        var model = experiment.Table1Models()[0];
        using var transformer = experiment.Prepare(model);
        using var queries = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Queries));
        using var corpus = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Corpus));
        var qrels = Qrels.ReadTsv(Path.Combine(experiment.WorldFolder, DemoWorld.QrelsFile));

        Console.WriteLine($"### Latent relevance feedback on the demo world: {model.Label}, reconstructions, depth 100, feedback on the top 10");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}. h′ = max(0, h + β · mean of the liked documents' latents (8 strongest) − γ · mean of the disliked ones'), decoded.");
        Console.WriteLine();
        Console.WriteLine("| β | γ | setting | MRR@10 | MRR | P@10 | R@10 |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (beta, gamma) in new[] { (0.25f, 0.125f), (0.5f, 0.25f), (1f, 0.5f) })
        {
            var result = FeedbackExperiment.Run(transformer.Autoencoder, queries, queries.LoadIds(), corpus, corpus.LoadIds(), qrels, beta: beta, gamma: gamma,
                device: ComputeDevice.Cpu, workingFolder: experiment.WorldFolder);
            foreach (var (setting, metrics) in new[] { ("before", result.Before), ("pseudo feedback", result.PseudoFeedback), ("explicit feedback", result.ExplicitFeedback) })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {beta} | {gamma} | {setting} | {metrics.MeanReciprocalRankAtCutoff:F4} | {metrics.MeanReciprocalRank:F4} | {metrics.PrecisionAt(10):F4} | {metrics.RecallAt(10):F4} |"));
            }
        }

        return 0;
    }
}
