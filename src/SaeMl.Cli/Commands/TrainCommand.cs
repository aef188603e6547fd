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
    /// <summary>Below this many steps a run is short enough to say how to train further (the demo worlds' FVU falls by half between 96 and 2,856 steps).</summary>
    private const long FewSteps = 500;

    /// <summary>The smallest batch the hint suggests: the smallest measured in results.md that kept the retrieval.</summary>
    private const int SmallestSuggestedBatch = 16;

    public static Command Create(IAnsiConsole console)
    {
        var queries = new Option<string>("--queries") { Description = "Query embeddings: a .npy file or a store folder", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a .npy file or a store folder", Required = true };
        var neighbors = new Option<string>("--neighbors") { Description = "The queries' neighbor rows: <prefix>.ids.npy as written by saeml neighbors (or the prefix)", Required = true };
        var output = new Option<string>("--output") { Description = "The model zip to write", Required = true };
        var defaults = new SparseAutoencoderOptions();
        var latents = CliOptions.PositiveInt("--latents", "n, the number of latents", defaults.LatentSize);
        var k = CliOptions.PositiveInt("--k", "K, the latents active per vector (with --activation batchtopk, per vector on average)", defaults.ActiveLatents);
        var activation = new Option<SparseActivation>("--activation")
        {
            Description = "topk: exactly K latents per vector (the paper's); batchtopk: K per vector on average, each batch keeping its largest activations, the trained model those above a learnt threshold",
            DefaultValueFactory = _ => defaults.Activation,
        };
        var maxActive = new Option<int?>("--max-active") { Description = "With --activation batchtopk, the most latents one vector may keep (default 2K)" };
        var epochs = CliOptions.PositiveInt("--epochs", "Passes over the training queries", defaults.Epochs);
        var batchSize = CliOptions.OptionalPositiveInt("--batch-size", "Queries per step (default: 16,384 / K, from 128 to 512: 512 up to K = 32, 256 at 64, 128 from 128)");
        var neighborsPerQuery = CliOptions.NonNegativeInt("--neighbors-per-query", "M, documents per query in the KL term (at least 2; with --kl-weight 0 they are not used)", defaults.NeighborsPerQuery);
        var learningRate = CliOptions.Float("--lr", "Adam's initial learning rate (cosine schedule to 0)", defaults.LearningRate, v => v > 0, "a positive number");
        var lambda = CliOptions.Float("--kl-weight", "λ, the KL term's weight; 0 gives the MSE-only ablation", defaults.KLWeight, v => v >= 0, "0 or a positive number");
        var latentRatio = CliOptions.Float("--latent-kl-ratio", "r: the KL term on latent scores z_q · z_d (not in the paper) weighs λ·r; 0 leaves it out", defaults.LatentKLRatio, v => v >= 0, "0 or a positive number");
        var tau = new Option<string>("--temperature")
        {
            Description = "τ, the softmax temperature of the KL terms: a positive number, or auto (--relative-temperature times the neighbors' score spread)",
            DefaultValueFactory = _ => "auto",
        };
        tau.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!string.Equals(value, "auto", StringComparison.OrdinalIgnoreCase) && !(float.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) && number > 0 && float.IsFinite(number)))
                result.AddError($"--temperature must be auto or a positive number; got '{value}'.");
        });
        var relativeTau = CliOptions.Float("--relative-temperature", "τ in units of the neighbors' score spread, with --temperature auto", defaults.RelativeTemperature, v => v > 0, "a positive number");
        var auxWeight = CliOptions.Float("--auxk-weight", "The AuxK term's weight", defaults.AuxKWeight, v => v >= 0, "0 or a positive number");
        var validation = CliOptions.Float("--validation", "Share of queries held out for validation", defaults.ValidationFraction, v => v is >= 0 and < 1, "at least 0 and below 1");
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, split and shuffling", DefaultValueFactory = _ => defaults.Seed };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint file, written after every epoch (and every --checkpoint-every steps)" };
        var checkpointEvery = CliOptions.NonNegativeInt("--checkpoint-every", "Also write the checkpoint every this many steps", 0);
        var resume = new Option<bool>("--resume") { Description = "Continue from --checkpoint when it exists" };
        var overwrite = CliOptions.Overwrite();
        var device = CliOptions.Device();

        var command = new Command("train", "Trains a sparse autoencoder on embeddings and their neighbors and saves it as an ML.NET model zip")
        {
            queries, corpus, neighbors, output, latents, k, activation, maxActive, epochs, batchSize, neighborsPerQuery, learningRate, lambda, latentRatio, tau, relativeTau, auxWeight, validation, seed, checkpoint, checkpointEvery, resume, overwrite, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var target = parse.GetValue(output)!;
            if (parse.GetValue(k) > parse.GetValue(latents))
                throw new UsageException($"--k ({parse.GetValue(k)}) must not exceed --latents ({parse.GetValue(latents)}).");
            if (parse.GetValue(maxActive) is { } most && (most <= parse.GetValue(k) || most > parse.GetValue(latents)))
                throw new UsageException($"--max-active ({most}) must be above --k ({parse.GetValue(k)}) and at most --latents ({parse.GetValue(latents)}).");
            if (parse.GetValue(maxActive) is not null && parse.GetValue(activation) != SparseActivation.BatchTopK)
                throw new UsageException("--max-active applies to --activation batchtopk only.");
            if (parse.GetValue(lambda) > 0 && parse.GetValue(neighborsPerQuery) < 2)
                throw new UsageException($"--neighbors-per-query ({parse.GetValue(neighborsPerQuery)}) must be at least 2 while --kl-weight is above 0: the KL terms compare score distributions over each query's neighbors. Pass --kl-weight 0 for the MSE-only ablation.");
            if (parse.GetValue(resume) && parse.GetValue(checkpoint) is null)
                throw new UsageException("--resume needs --checkpoint: the file to continue from.");
            var neighborRows = parse.GetValue(neighbors)!;
            if (!neighborRows.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                neighborRows += ".ids.npy";
            using var files = new CommandFiles()
                .Reads(parse.GetValue(queries), "--queries").Reads(parse.GetValue(corpus), "--corpus").Reads(neighborRows, "--neighbors")
                .Writes(target, "--output")
                .Writes(parse.GetValue(checkpoint), "--checkpoint", resumable: _ => parse.GetValue(resume))
                .Check(parse.GetValue(overwrite));

            var options = new SparseAutoencoderOptions
            {
                ReconstructionColumnName = SaeColumnNames.Reconstruction,
                LatentSize = parse.GetValue(latents),
                ActiveLatents = parse.GetValue(k),
                Activation = parse.GetValue(activation),
                MaxActiveLatents = parse.GetValue(maxActive),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                NeighborsPerQuery = parse.GetValue(neighborsPerQuery),
                LearningRate = parse.GetValue(learningRate),
                KLWeight = parse.GetValue(lambda),
                LatentKLRatio = parse.GetValue(latentRatio),
                Temperature = string.Equals(parse.GetValue(tau), "auto", StringComparison.OrdinalIgnoreCase) ? null : float.Parse(parse.GetValue(tau)!, System.Globalization.CultureInfo.InvariantCulture),
                RelativeTemperature = parse.GetValue(relativeTau),
                AuxKWeight = parse.GetValue(auxWeight),
                ValidationFraction = parse.GetValue(validation),
                Seed = parse.GetValue(seed),
                CheckpointPath = parse.GetValue(checkpoint),
                CheckpointEverySteps = parse.GetValue(checkpointEvery),
                Resume = parse.GetValue(resume),
                Device = ComputeDevice.Parse(parse.GetValue(device)!),
            };

            using var data = SaeTrainingData.OpenStores(parse.GetValue(queries)!, parse.GetValue(corpus)!, neighborRows);
            if (options.NeighborsPerQuery > data.NeighborsAvailable)
                throw new ArgumentException($"--neighbors-per-query is {options.NeighborsPerQuery}, but --neighbors '{neighborRows}' holds {data.NeighborsAvailable} neighbors per query.");
            console.MarkupLine($"Training a sparse autoencoder (n = {options.LatentSize:N0}, K = {options.ActiveLatents}{(options.Activation == SparseActivation.BatchTopK ? $" on average, BatchTopK, at most {options.MaxActiveLatents?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "2K"}" : "")}) on {data.QueryCount:N0} queries "
                + $"with {options.NeighborsPerQuery} neighbors each (dimension {data.Dimension}), {options.EffectiveBatchSize} queries a step{(options.BatchSize is null ? " (the default at this K)" : "")}, on [bold]{options.Device.Resolve()}[/]; λ = {options.KLWeight}, r = {options.LatentKLRatio}, τ = {(options.Temperature is { } t ? t.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{options.RelativeTemperature} × the neighbors' score spread")}.");
            var steps = TrainingJob.Run(console, progress =>
            {
                using var transformer = new MLContext().Transforms
                    .SparseAutoencode(options, progress)
                    .Fit(data, cancellationToken);
                transformer.Save(target);
            });
            TrainingJob.Wrote(console, target);
            if (steps is > 0 and < FewSteps)
            {
                var smaller = options.EffectiveBatchSize > SmallestSuggestedBatch ? $"fewer queries a step (--batch-size {Math.Max(SmallestSuggestedBatch, options.EffectiveBatchSize / 4)}) or " : "";
                console.MarkupLine(Markup.Escape($"Only {steps} steps: on a training set this small, {smaller}more epochs train further, at a lower validation FVU (docs/results.md, \"Smaller batches\")."));
            }
            return 0;
        }));
        return command;
    }
}
