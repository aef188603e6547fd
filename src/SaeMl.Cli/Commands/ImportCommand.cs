using System.CommandLine;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Interop;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml import</c>: a TopK sparse autoencoder saved by a Python library (sparsify's or SAELens's
/// safetensors layout) → a model zip that every other command reads.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var safetensors = new Option<string>("--safetensors") { Description = "A folder holding sae.safetensors (sparsify) or sae_weights.safetensors (SAELens) with cfg.json, or the weights file itself", Required = true };
        var output = new Option<string>("--output") { Description = "The model zip to write", Required = true };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("import", "Turns a sparse autoencoder saved by a Python SAE library (safetensors) into a model zip") { safetensors, output, overwrite };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var source = parse.GetValue(safetensors)!;
            var zip = parse.GetValue(output)!;
            // The weights file and the cfg.json beside it: the zip may go next to them, never over them.
            var (weights, config) = SparseAutoencoderSafetensors.FilesOf(source);
            using var files = new CommandFiles().Reads(weights, "--safetensors").Reads(config, "--safetensors").Writes(zip, "--output").Check(parse.GetValue(overwrite));
            using var transformer = SparseAutoencoderTransformer.FromAutoencoder(SparseAutoencoderSafetensors.Load(source, ComputeDevice.Cpu));
            transformer.Save(zip);
            var autoencoder = transformer.Autoencoder;
            console.MarkupLine($"Imported an autoencoder (d = {autoencoder.Dimension}, n = {autoencoder.LatentSize:N0}, K = {autoencoder.ActiveLatents}) into [link]{Markup.Escape(zip)}[/]; "
                + $"it reads column '{SaeColumnNames.Embedding}'.");
            return 0;
        }));
        return command;
    }
}
