using System.CommandLine;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml encode</c>: runs a saved sparse autoencoder over an embedding store, streaming: writes the
/// latents as an <c>.npy</c> pair (values float32 and indices int64, each <c>[rows, K]</c>, indices
/// ascending) and, when asked, the reconstructions as a store.
/// </summary>
internal static class EncodeCommand
{
    private const int BlockRows = 4096;

    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model") { Description = "A model zip holding a SparseAutoencode transform (as saeml train writes)", Required = true };
        var input = new Option<string>("--input") { Description = "Embeddings: a .npy file or a store folder", Required = true };
        var latents = new Option<string?>("--latents") { Description = "Path prefix for <prefix>.latent-values.npy and <prefix>.latent-indices.npy" };
        var reconstruction = new Option<string?>("--reconstruction") { Description = "A store folder for the reconstructions" };
        var overwrite = CliOptions.Overwrite();
        var device = CliOptions.Device();
        var command = new Command("encode", "Encodes embeddings with a saved sparse autoencoder: latents and reconstructions")
        {
            model, input, latents, reconstruction, overwrite, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var latentsPrefix = parse.GetValue(latents);
            var reconstructionFolder = parse.GetValue(reconstruction);
            if (latentsPrefix is null && reconstructionFolder is null)
                throw new UsageException("Name an output: --latents, --reconstruction or both.");

            var (valuesPath, indicesPath) = (latentsPrefix + ".latent-values.npy", latentsPrefix + ".latent-indices.npy");
            using var files = new CommandFiles()
                .Reads(parse.GetValue(model), "--model").Reads(parse.GetValue(input), "--input")
                .Writes(latentsPrefix is null ? null : valuesPath, "--latents").Writes(latentsPrefix is null ? null : indicesPath, "--latents")
                .Writes(reconstructionFolder, "--reconstruction", foreign: StoreFolder.ForeignEntry)
                .Check(parse.GetValue(overwrite));

            using var transformer = SparseAutoencoderTransformer.Load(parse.GetValue(model)!, ComputeDevice.Parse(parse.GetValue(device)!));
            var autoencoder = transformer.Autoencoder;
            using var store = EmbeddingStore.Open(parse.GetValue(input)!);
            using var values = latentsPrefix is null ? null : new NpyWriter(valuesPath, NpyDataType.Float32, autoencoder.ActiveLatents);
            using var indices = latentsPrefix is null ? null : new NpyWriter(indicesPath, NpyDataType.Int64, autoencoder.ActiveLatents);

            // The reconstructions go to a staging folder beside the target and replace it only when whole.
            var staging = reconstructionFolder is null ? null : AtomicFile.TemporaryPathOf(reconstructionFolder);
            using var reconstructions = staging is null ? null : new EmbeddingStoreWriter(staging, autoencoder.Dimension, job: $"reconstruction of {store.Name}");
            try
            {
                ProgressBars.Run(console, "Encoding", report =>
                {
                    foreach (var (input, codes, reconstruction) in autoencoder.EncodeStore(store, BlockRows, reconstruct: reconstructions is not null, cancellationToken))
                    {
                        values?.WriteRows(codes.Values);
                        indices?.WriteRows(Array.ConvertAll(codes.Indices, i => (long)i));
                        reconstructions?.WriteRows(reconstruction!);
                        report(input.FirstRow + input.RowCount, store.RowCount);
                    }

                    return 0;
                });
                reconstructions?.Commit();
                values?.Finish();
                indices?.Finish();
                values?.Commit();
                indices?.Commit();
                if (staging is not null)
                    StagedFolder.Replace(reconstructionFolder!, staging);
            }
            catch
            {
                reconstructions?.Dispose();
                if (staging is not null && Directory.Exists(staging))
                    Directory.Delete(staging, recursive: true);
                throw;
            }

            console.MarkupLine($"Encoded {store.RowCount:N0} vectors (n = {autoencoder.LatentSize:N0}, {ModelText.Sparsity(autoencoder)}).");
            return 0;
        }));
        return command;
    }
}
