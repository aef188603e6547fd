using System.Globalization;
using SaeMl.Interpretation;
using SaeMl.Steering;

namespace SaeMl.Demo;

/// <summary>The demo's figures, drawn with ScottPlot.</summary>
public static class DemoPlots
{
    /// <summary>
    /// The controllability study as the paper's Figure 4 draws it: MRR@10 (solid) and P@10 (dashed) of both sides
    /// against α on a log axis (α = 0 left out), written as a PNG.
    /// </summary>
    public static void WriteControlFigure(IReadOnlyList<ControlPoint> points, string path, string title)
    {
        var steered = points.Where(p => p.Alpha > 0).ToList();
        double[] xs = [.. steered.Select(p => Math.Log10(p.Alpha))];
        var plot = new ScottPlot.Plot();
        void Line(IEnumerable<double> ys, string label, ScottPlot.Color color, bool dashed)
        {
            var scatter = plot.Add.Scatter(xs, ys.ToArray(), color);
            scatter.LegendText = label;
            if (dashed)
                scatter.LinePattern = ScottPlot.LinePattern.Dashed;
        }

        Line(steered.Select(p => p.DocumentSide.MeanReciprocalRankAtCutoff), "document side, MRR@10", ScottPlot.Colors.Blue, dashed: false);
        Line(steered.Select(p => p.DocumentSide.PrecisionAt(10)), "document side, P@10", ScottPlot.Colors.Blue, dashed: true);
        Line(steered.Select(p => p.QuerySide.MeanReciprocalRankAtCutoff), "query side, MRR@10", ScottPlot.Colors.OrangeRed, dashed: false);
        Line(steered.Select(p => p.QuerySide.PrecisionAt(10)), "query side, P@10", ScottPlot.Colors.OrangeRed, dashed: true);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = x => Math.Pow(10, x).ToString("G2", CultureInfo.InvariantCulture) };
        plot.XLabel("α (log scale)");
        plot.YLabel("retrieval with reconstructions");
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Alignment.MiddleLeft);
        WritePng(plot, path);
    }

    /// <summary>
    /// Rank against document frequency on log–log axes, with each series' Zipf fit as a dashed line (the
    /// paper's Figure 3: latents against the bag of words of the same corpus), written as a PNG.
    /// </summary>
    public static void WriteRankFrequencyFigure(IReadOnlyList<(string Name, IReadOnlyList<long> Counts)> series, string path, string title)
    {
        var plot = new ScottPlot.Plot();
        ScottPlot.Color[] colors = [ScottPlot.Colors.Blue, ScottPlot.Colors.OrangeRed, ScottPlot.Colors.Green];
        for (var i = 0; i < series.Count; i++)
        {
            var ranked = ZipfFit.RankFrequency(series[i].Counts);
            var fit = ZipfFit.Of(ranked);
            double[] xs = [.. Enumerable.Range(1, ranked.Length).Select(r => Math.Log10(r))];
            var points = plot.Add.ScatterPoints(xs, [.. ranked.Select(c => Math.Log10(c))], colors[i % colors.Length]);
            points.MarkerSize = 3;
            points.LegendText = string.Create(CultureInfo.InvariantCulture, $"{series[i].Name}: Zipf exponent {fit.Exponent:F2}, R² {fit.RSquared:F2}");
            var line = plot.Add.Line(0, fit.Intercept, xs[^1], fit.Intercept - fit.Exponent * xs[^1]);
            line.Color = colors[i % colors.Length];
            line.LinePattern = ScottPlot.LinePattern.Dashed;
        }

        var logLabels = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = x => Math.Pow(10, x).ToString("G3", CultureInfo.InvariantCulture) };
        plot.Axes.Bottom.TickGenerator = logLabels;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = x => Math.Pow(10, x).ToString("G3", CultureInfo.InvariantCulture) };
        plot.XLabel("rank (log scale)");
        plot.YLabel("documents it occurs in (log scale)");
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        WritePng(plot, path);
    }

    /// <summary>
    /// The retention frontier: share of the original MRR kept (reconstructions as circles on solid lines, latents as
    /// squares on dashed lines) against the validation FVU, one pair of series per objective, each point a setting of
    /// a sweep (e.g. of the KL weight), written as a PNG.
    /// </summary>
    public static void WriteFrontierFigure(IReadOnlyList<(string Name, IReadOnlyList<(double Fvu, double ReconstructedKept, double LatentKept)> Points)> series, string path, string title)
    {
        var plot = new ScottPlot.Plot();
        ScottPlot.Color[] colors = [ScottPlot.Colors.Gray, ScottPlot.Colors.Blue, ScottPlot.Colors.OrangeRed, ScottPlot.Colors.Green];
        for (var i = 0; i < series.Count; i++)
        {
            var points = series[i].Points.OrderBy(p => p.Fvu).ToList();
            double[] xs = [.. points.Select(p => p.Fvu)];
            var color = colors[i % colors.Length];
            var reconstructed = plot.Add.Scatter(xs, [.. points.Select(p => 100 * p.ReconstructedKept)], color);
            reconstructed.LegendText = $"{series[i].Name}: reconstructions";
            reconstructed.MarkerShape = ScottPlot.MarkerShape.FilledCircle;
            var latent = plot.Add.Scatter(xs, [.. points.Select(p => 100 * p.LatentKept)], color);
            latent.LegendText = $"{series[i].Name}: latents";
            latent.MarkerShape = ScottPlot.MarkerShape.FilledSquare;
            latent.LinePattern = ScottPlot.LinePattern.Dashed;
        }

        plot.XLabel("validation FVU");
        plot.YLabel("% of the original MRR kept");
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        WritePng(plot, path);
    }

    /// <summary>Writes the plot as an 800 × 500 PNG, under a temporary name and then renamed.</summary>
    private static void WritePng(ScottPlot.Plot plot, string path)
    {
        var png = plot.GetImageBytes(800, 500, ScottPlot.ImageFormat.Png);
        Data.AtomicFile.Write(path, stream => stream.Write(png));
    }
}
