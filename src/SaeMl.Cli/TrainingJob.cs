using System.Globalization;
using SaeMl.Autoencoder;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Runs sparse autoencoder training with a progress bar (loss per step; validation FVU, L0, dead share and KL
/// per epoch) and prints each epoch's validation: what <c>saeml train</c> and <c>saeml demo</c> share.
/// </summary>
internal static class TrainingJob
{
    /// <summary>Runs <paramref name="train"/>, which reports to the progress it is given, and prints the steps, the time and the validation history.</summary>
    /// <returns>The training steps of the whole run (those of a resumed run included).</returns>
    public static long Run(IAnsiConsole console, Action<IProgress<SaeTrainingProgress>> train)
    {
        var history = new List<SaeValidationMetrics>();
        var temperature = double.NaN;
        var (steps, epochs) = (0L, 0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProgressBars.Run(console, "Training", (ProgressBar bar) =>
        {
            train(new CallbackProgress<SaeTrainingProgress>(p =>
            {
                bar.Report(p.Step, p.TotalSteps);
                (steps, epochs) = (p.TotalSteps, p.Epochs);
                temperature = p.Temperature;
                if (p.Validation is { } v)
                    history.Add(v);
                bar.Status(p.Validation is { } metrics
                    ? string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs}: FVU {metrics.Fvu:F4}, L0 {metrics.L0:F1}, dead {metrics.DeadFraction:P1}, KL {metrics.Kld:F4}")
                    : string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F5}"));
            }));
            return 0;
        });

        if (steps > 0)
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"The run has {steps:N0} steps ({steps / Math.Max(1, epochs):N0} an epoch); this session took {clock.Elapsed.TotalSeconds:F1} s."));
        if (!double.IsNaN(temperature))
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"The KL terms' temperature τ was {temperature:G4}."));
        foreach (var (epoch, metrics) in history.Select((m, i) => (i + 1, m)))
            console.MarkupLine(Markup.Escape($"epoch {epoch}: validation {metrics}"));
        return steps;
    }

    /// <summary>Says where a model zip was written and what its columns are.</summary>
    public static void Wrote(IAnsiConsole console, string target) =>
        console.MarkupLine($"Wrote [link]{Markup.Escape(target)}[/] (input column '{SaeColumnNames.Embedding}', latents '{SaeColumnNames.Latent}', reconstruction '{SaeColumnNames.Reconstruction}').");
}
