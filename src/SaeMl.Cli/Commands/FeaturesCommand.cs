using System.CommandLine;
using System.Globalization;
using SaeMl.Interpretation;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary><c>saeml features</c>: latents looked up in a feature atlas by label words or by number, printed as cards.</summary>
internal static class FeaturesCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var atlas = new Option<string>("--atlas") { Description = "A feature atlas (saeml interpret)", Required = true };
        var find = new Option<string?>("--find") { Description = "Words to look for in the labels, e.g. \"weather storm\"" };
        var latents = new Option<int[]>("--latent") { Description = "A latent to show (repeatable)", DefaultValueFactory = _ => [] };
        var top = CliOptions.PositiveInt("--top", "Cards shown for --find", 5);
        var documents = CliOptions.PositiveInt("--documents", "Top documents shown per card", 5);
        var command = new Command("features", "Looks latents up in a feature atlas by label words or number and prints their cards") { atlas, find, latents, top, documents };
        command.SetAction(CommandAction.Guarded(console, (parse, _) =>
        {
            var words = parse.GetValue(find);
            var numbers = parse.GetValue(latents)!;
            if ((words is null) == (numbers.Length == 0))
                throw new UsageException("Name what to show: --find WORDS or --latent N (repeatable), one of the two.");
            using var opened = FeatureAtlas.Open(parse.GetValue(atlas)!);
            IReadOnlyList<int> shown = numbers;
            if (words is not null)
            {
                var found = opened.FindByLabel(words);
                if (found.Count == 0)
                {
                    console.MarkupLine($"No label of '{Markup.Escape(opened.Path)}' holds any of the words \"{Markup.Escape(words)}\".");
                    return 0;
                }

                console.MarkupLine(found.Count == 1
                    ? $"1 latent has a label with \"{Markup.Escape(words)}\":"
                    : $"{found.Count:N0} latents have labels with \"{Markup.Escape(words)}\"; the {Math.Min(found.Count, parse.GetValue(top))} best matches:");
                shown = [.. found.Take(parse.GetValue(top)).Select(f => f.Latent)];
            }

            foreach (var latent in shown)
            {
                if (latent < 0 || latent >= opened.LatentSize)
                    throw new ArgumentException($"--latent {latent} is outside the atlas's latents 0..{opened.LatentSize - 1}.");
                Print(console, opened.Card(latent), parse.GetValue(documents));
            }

            return 0;
        }));
        return command;
    }

    private static void Print(IAnsiConsole console, FeatureCard card, int documents)
    {
        var grid = new Grid().AddColumn().AddColumn();
        string Line(string text) => Markup.Escape(text);
        grid.AddRow("label", card.Label is { } label ? Line($"{label.Text}  ({label.Labeler})") : "[grey]none[/]");
        if (card.Scores.FirstOrDefault() is { } score)
            grid.AddRow("label score", Line(string.Create(CultureInfo.InvariantCulture, $"AUROC {score.EmbeddingScore:F3} (hard negatives {score.HardNegativeScore:F3}, random {score.RandomNegativeScore:F3})")));
        grid.AddRow("fires in", Line(string.Create(CultureInfo.InvariantCulture, $"{card.FireCount:N0} documents ({card.Frequency:P2}), {card.Group}; mean activation {card.MeanActivation:F3}, max {card.MaxActivation:F3}")));
        grid.AddRow("family", Line(card.FamilyRoot == card.Latent && card.FamilyParent < 0 ? "root of its family" : $"root {card.FamilyRoot}, parent {card.FamilyParent}"));
        if (card.Neighbors.Count > 0)
            grid.AddRow("decoder neighbours", Line(string.Join(", ", card.Neighbors.Take(5).Select(n => string.Create(CultureInfo.InvariantCulture, $"{n.Latent} ({n.Cosine:F2})")))));
        if (card.Patterns.Count > 0)
            grid.AddRow("salient patterns", Line(string.Join(", ", card.Patterns.Take(8).Select(p => p.Pattern))
                + (card.PatternPrecision is { } precision ? string.Create(CultureInfo.InvariantCulture, $"  (held-out precision {precision:F2}, recall {card.PatternRecall:F2})") : "")));
        foreach (var example in card.TopDocuments.Take(documents))
        {
            grid.AddRow(Line(example.Activation.ToString("F3", CultureInfo.InvariantCulture)),
                Line(example.DocumentId + (example.SalientWords.Count > 0 ? $"  salient: {string.Join(", ", example.SalientWords.Select(w => w.Word))}" : "")));
        }

        console.Write(new Panel(grid).Header(Line($"latent {card.Latent}")));
    }
}
