using System.CommandLine;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Steering;

namespace SaeMl.Benchmarks;

/// <summary>
/// The paper's controllability study (its Figure 4) on the demo world, with Table 1's K = 32 autoencoder:
/// MRR@10, MRR and P@10 by α on the document side and the query side, printed as Markdown and drawn as a PNG.
/// A folder of an earlier <c>saeml demo</c> run is reused (world, embeddings and model).
/// </summary>
internal static class ControlStudy
{
    public static Command Create()
    {
        var folder = new Option<string>("--folder") { Description = "The demo's folder; an earlier saeml demo run's is reused", DefaultValueFactory = _ => new DemoExperimentOptions().Folder };
        var plot = new Option<string?>("--plot") { Description = "Where to write the figure (PNG)" };
        var steps = new Option<int>("--steps") { Description = "α values after 0: 0.0004 doubling", DefaultValueFactory = _ => 13 };
        var command = new Command("control", "The controllability study (Figure 4) on the demo world") { folder, plot, steps };
        command.SetAction(parse => Run(parse.GetValue(folder)!, parse.GetValue(plot), parse.GetValue(steps)));
        return command;
    }

    private static int Run(string folder, string? plotPath, int steps)
    {
        using var experiment = new DemoExperiment(new DemoExperimentOptions { Folder = folder, Device = ComputeDevice.Cpu });
        var model = experiment.Table1Models()[0];
        using var transformer = experiment.Prepare(model);
        var points = experiment.Control(transformer.Autoencoder);

        Console.WriteLine($"### Controllability on the demo world: {model.Label}, n = {model.Options.LatentSize:N0}, reconstructions, depth 1,000");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}. Model: {Path.GetFileName(model.Path)}.");
        Console.WriteLine();
        Console.WriteLine("| α | document side MRR@10 | MRR | P@10 | query side MRR@10 | MRR | P@10 |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var p in points)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.Alpha:G4} | {p.DocumentSide.MeanReciprocalRankAtCutoff:F4} | {p.DocumentSide.MeanReciprocalRank:F4} | {p.DocumentSide.PrecisionAt(10):F4} | "
                + $"{p.QuerySide.MeanReciprocalRankAtCutoff:F4} | {p.QuerySide.MeanReciprocalRank:F4} | {p.QuerySide.PrecisionAt(10):F4} |"));
        }

        if (plotPath is not null)
        {
            DemoPlots.WriteControlFigure(points, plotPath, $"Steering one latent: the demo world ({model.Label})");
            Console.WriteLine();
            Console.WriteLine($"Wrote {plotPath}");
        }

        return 0;
    }
}
