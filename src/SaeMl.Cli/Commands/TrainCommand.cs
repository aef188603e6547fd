using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml train</c>: query and corpus embedding stores plus the queries' neighbor rows → a trained
/// sparse autoencoder saved as an ML.NET model zip, with a progress bar showing the loss and, after
/// each epoch, the validation FVU, L0 and dead share. <c>--resume</c> continues from the checkpoint.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var queries = new Option<string>("--queries") { Description = "Query embeddings: a .npy file or a store folder", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a .npy file or a store folder", Required = true };
        var neighbors = new Option<string>("--neighbors") { Description = "The queries' neighbor rows: <prefix>.ids.npy as written by saeml neighbors (or the prefix)", Required = true };
        var output = new Option<string>("--output") { Description = "The model zip to write", Required = true };
        var defaults = new SparseAutoencoderOptions();
        var latents = CliOptions.PositiveInt("--latents", "n, the number of latents", defaults.LatentSize);
        var k = CliOptions.PositiveInt("--k", "K, the latents active per vector", defaults.ActiveLatents);
        var epochs = CliOptions.PositiveInt("--epochs", "Passes over the training queries", defaults.Epochs);
        var batchSize = CliOptions.PositiveInt("--batch-size", "Queries per step", defaults.BatchSize);
        var neighborsPerQuery = new Option<int>("--neighbors-per-query") { Description = "M, documents per query in the objective (0 for reconstruction only)", DefaultValueFactory = _ => defaults.NeighborsPerQuery };
        var learningRate = new Option<float>("--lr") { Description = "Adam's initial learning rate (cosine schedule to 0)", DefaultValueFactory = _ => defaults.LearningRate };
        var lambda = new Option<float>("--kl-weight") { Description = "λ, the KL term's weight; 0 gives the MSE-only ablation", DefaultValueFactory = _ => defaults.KLWeight };
        var tau = new Option<float>("--temperature") { Description = "τ, the softmax temperature of the KL term", DefaultValueFactory = _ => defaults.Temperature };
        var auxWeight = new Option<float>("--auxk-weight") { Description = "The AuxK term's weight", DefaultValueFactory = _ => defaults.AuxKWeight };
        var validation = new Option<float>("--validation") { Description = "Share of queries held out for validation", DefaultValueFactory = _ => defaults.ValidationFraction };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, split and shuffling", DefaultValueFactory = _ => defaults.Seed };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint file, written after every epoch (and every --checkpoint-every steps)" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Also write the checkpoint every this many steps", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue from --checkpoint when it exists" };
        var device = CliOptions.Device();

        var command = new Command("train", "Trains a sparse autoencoder on embeddings and their neighbors and saves it as an ML.NET model zip")
        {
            queries, corpus, neighbors, output, latents, k, epochs, batchSize, neighborsPerQuery, learningRate, lambda, tau, auxWeight, validation, seed, checkpoint, checkpointEvery, resume, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var target = parse.GetValue(output)!;
            var targetFolder = Path.GetDirectoryName(Path.GetFullPath(target))!;
            if (!Directory.Exists(targetFolder))
                throw new DirectoryNotFoundException($"The output folder '{targetFolder}' does not exist; create it first.");
            if (parse.GetValue(resume) && parse.GetValue(checkpoint) is null)
                throw new ArgumentException("--resume needs --checkpoint: the file to continue from.");

            var options = new SparseAutoencoderOptions
            {
                LatentSize = parse.GetValue(latents),
                ActiveLatents = parse.GetValue(k),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                NeighborsPerQuery = parse.GetValue(neighborsPerQuery),
                LearningRate = parse.GetValue(learningRate),
                KLWeight = parse.GetValue(lambda),
                Temperature = parse.GetValue(tau),
                AuxKWeight = parse.GetValue(auxWeight),
                ValidationFraction = parse.GetValue(validation),
                Seed = parse.GetValue(seed),
                CheckpointPath = parse.GetValue(checkpoint),
                CheckpointEverySteps = parse.GetValue(checkpointEvery),
                Resume = parse.GetValue(resume),
                Device = ComputeDevice.Parse(parse.GetValue(device)!),
            };
            var neighborRows = parse.GetValue(neighbors)!;
            if (!neighborRows.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                neighborRows += ".ids.npy";

            using var data = SaeTrainingData.OpenStores(parse.GetValue(queries)!, parse.GetValue(corpus)!, neighborRows);
            console.MarkupLine($"Training a sparse autoencoder (n = {options.LatentSize:N0}, K = {options.ActiveLatents}) on {data.QueryCount:N0} queries "
                + $"with {options.NeighborsPerQuery} neighbors each (dimension {data.Dimension}) on [bold]{options.Device.Resolve()}[/]; λ = {options.KLWeight}, τ = {options.Temperature}.");
            TrainingJob.Run(console, progress =>
            {
                using var transformer = new MLContext().Transforms
                    .SparseAutoencode(TrainingJob.LatentColumn, TrainingJob.InputColumn, options, TrainingJob.ReconstructionColumn, progress: progress)
                    .Fit(data, cancellationToken);
                transformer.Save(target);
            });
            TrainingJob.Wrote(console, target);
            return 0;
        }));
        return command;
    }
}
