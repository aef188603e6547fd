using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Data;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Trains a sparse autoencoder with a progress bar (loss per step; validation FVU, L0, dead share and KL
/// per epoch) and saves it as an ML.NET model zip: what <c>saeml train</c> and <c>saeml demo</c> share.
/// </summary>
internal static class TrainingJob
{
    /// <summary>The column names a zip written here reads and writes.</summary>
    public const string InputColumn = "Embedding";

    public const string LatentColumn = "Latent";

    public const string ReconstructionColumn = "Reconstruction";

    public static void Run(IAnsiConsole console, SaeTrainingData data, SparseAutoencoderOptions options, string target, CancellationToken cancellationToken)
    {
        var ml = new MLContext();
        var history = new List<SaeValidationMetrics>();
        using var transformer = ProgressBars.Run(console, "Training", (ProgressBar bar) =>
        {
            var progress = new CallbackProgress<SaeTrainingProgress>(p =>
            {
                bar.Report(p.Step, p.TotalSteps);
                if (p.Validation is { } v)
                    history.Add(v);
                bar.Status(p.Validation is { } metrics
                    ? string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs}: FVU {metrics.Fvu:F4}, L0 {metrics.L0:F1}, dead {metrics.DeadFraction:P1}, KL {metrics.Kld:F4}")
                    : string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F5}"));
            });
            return ml.Transforms.SparseAutoencode(LatentColumn, InputColumn, options, ReconstructionColumn, progress: progress).Fit(data, cancellationToken);
        });

        foreach (var (epoch, metrics) in history.Select((m, i) => (i + 1, m)))
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}: validation FVU {metrics.Fvu:F4}, MSE {metrics.Mse:E2}, L0 {metrics.L0:F1}, dead {metrics.DeadFraction:P1}, KL {metrics.Kld:F4}"));
        var schema = new DataViewSchema.Builder();
        schema.AddColumn(InputColumn, new VectorDataViewType(NumberDataViewType.Single, transformer.Autoencoder.Dimension));
        AtomicFile.Write(target, stream => ml.Model.Save(transformer, schema.ToSchema(), stream)); // a reader never sees a half-written zip
        console.MarkupLine($"Wrote [link]{Markup.Escape(target)}[/] (input column '{InputColumn}', latents '{LatentColumn}', reconstruction '{ReconstructionColumn}').");
    }
}
