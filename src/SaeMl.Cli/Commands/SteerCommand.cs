using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;
using SaeMl.Search;
using SaeMl.Steering;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml steer</c>: one query, retrieved before and after editing its sparse latents (amplify or suppress
/// features), the two top-k lists side by side with the documents that entered or left marked.
/// </summary>
internal static class SteerCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model") { Description = "A model zip holding a SparseAutoencode transform (as saeml train writes)", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a .npy file or a store folder", Required = true };
        var corpusIds = new Option<string?>("--corpus-ids") { Description = "Document ids, one per line in row order; without it, the store folder's ids.txt" };
        var texts = new Option<string?>("--texts") { Description = "The corpus texts (MS MARCO .tsv, BEIR .jsonl or folder), to show titles" };
        var query = new QueryInput(new TextModelOptions());
        var amplify = new Option<string[]>("--amplify") { Description = "FEATURE=α: add α to FEATURE, a latent number or (with --atlas) label words; α may be a multiple of the latent's mean activation, 3x (needs --atlas) (repeatable)", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] };
        var suppress = new Option<string[]>("--suppress") { Description = "FEATURE: switch FEATURE off, a latent number or (with --atlas) label words (repeatable)", DefaultValueFactory = _ => [] };
        var atlas = new Option<string?>("--atlas") { Description = "The model's feature atlas (saeml interpret), to name features by label words: the labelled latent matching most of them" };
        var k = CliOptions.PositiveInt("--k", "Documents shown before and after", 10);
        var mode = new Option<string>("--mode") { Description = "error-preserving (only the edits move the query) or decode (the paper's: the decoded latents)", DefaultValueFactory = _ => "error-preserving" }
            .AcceptOnlyFromAmong("error-preserving", "decode");
        var json = new Option<bool>("--json") { Description = "Print the result as JSON, for scripts" };
        var device = CliOptions.Device();
        var command = new Command("steer", "Retrieves one query before and after editing its sparse latents")
        {
            model, corpus, corpusIds, texts, amplify, suppress, atlas, k, mode, json, device,
        };
        foreach (var option in query.All)
            command.Options.Add(option);
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var edits = Edits(parse.GetValue(amplify)!, parse.GetValue(suppress)!);
            query.Validate(parse);
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);

            using var transformer = SparseAutoencoderTransformer.Load(parse.GetValue(model)!, computeDevice);
            using var features = parse.GetValue(atlas) is { } atlasPath ? FeatureAtlas.Open(atlasPath) : null;
            if (features is not null && features.ModelIdentity != FeatureAtlas.IdentityOf(transformer.Autoencoder))
                throw new ArgumentException($"--atlas '{features.Path}' describes another model than --model '{parse.GetValue(model)}'; run saeml interpret on this model.");
            var plan = Plan(edits, features);
            var labels = features?.Labels();
            string? LabelOf(int latent) => labels?.TryGetValue(latent, out var label) == true ? label.Text : null;
            using var corpusStore = EmbeddingStore.Open(parse.GetValue(corpus)!);
            var documentIds = corpusStore.LoadIds(parse.GetValue(corpusIds));
            using var steering = new MLContext().Transforms.SteerLatents(transformer.Autoencoder, new LatentSteeringOptions
            {
                Plan = plan, Mode = parse.GetValue(mode) == "decode" ? SteeringMode.Decode : SteeringMode.ErrorPreserving,
            }).FitWithoutData();
            var before = query.Vector(parse, computeDevice);
            if (before.Length != corpusStore.Dimension)
                throw new ArgumentException($"The query embeds to {before.Length} values, but --corpus '{corpusStore.Name}' holds vectors of {corpusStore.Dimension}.");
            var after = steering.Steer(before);
            var results = ExactSearch.Search((float[])[.. before, .. after], corpusStore, new ExactSearchOptions { K = parse.GetValue(k), Device = computeDevice },
                cancellationToken: cancellationToken);
            var titles = parse.GetValue(texts) is { } textPath ? TextInputs.Titles(textPath) : null;
            var lists = new[] { 0, 1 }.Select(q => results.RowsOf(q).ToArray().Zip(results.ScoresOf(q).ToArray(),
                (row, score) => new Hit(documentIds[row], score, titles?.GetValueOrDefault(documentIds[row]))).ToList()).ToArray();
            var (beforeIds, afterIds) = (lists[0].Select(h => h.Id).ToHashSet(), lists[1].Select(h => h.Id).ToHashSet());

            if (parse.GetValue(json))
            {
                var result = new
                {
                    query = query.Name(parse),
                    plan = plan.ToString(),
                    features = plan.Latents.Select(latent => new { latent, label = LabelOf(latent) }),
                    before = lists[0],
                    after = lists[1],
                    entered = lists[1].Where(h => !beforeIds.Contains(h.Id)).Select(h => h.Id),
                    left = lists[0].Where(h => !afterIds.Contains(h.Id)).Select(h => h.Id),
                };
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true }));
                return 0;
            }

            var table = new Table().Title(Markup.Escape($"\"{query.Name(parse)}\" steered: {plan}"))
                .AddColumns("rank", "before", "score", "after", "score");
            for (var rank = 0; rank < Math.Max(lists[0].Count, lists[1].Count); rank++)
            {
                string Cell(List<Hit> list, HashSet<string> other, string mark) => rank < list.Count
                    ? (other.Contains(list[rank].Id) ? "" : mark) + Markup.Escape(list[rank].Id + (list[rank].Title is { Length: > 0 } t ? $"  {t}" : ""))
                    : "";
                table.AddRow((rank + 1).ToString(CultureInfo.InvariantCulture),
                    Cell(lists[0], afterIds, "[red]− left[/] "), rank < lists[0].Count ? lists[0][rank].Score.ToString("F4", CultureInfo.InvariantCulture) : "",
                    Cell(lists[1], beforeIds, "[green]+ entered[/] "), rank < lists[1].Count ? lists[1][rank].Score.ToString("F4", CultureInfo.InvariantCulture) : "");
            }

            console.Write(table);
            console.MarkupLine(Markup.Escape($"The query was {query.Source(parse)}."));
            if (labels is not null)
            {
                foreach (var latent in plan.Latents)
                    console.MarkupLine(Markup.Escape($"latent {latent}: {LabelOf(latent) ?? "(no label)"}"));
            }

            console.MarkupLine($"{afterIds.Count(i => !beforeIds.Contains(i))} documents entered the top {parse.GetValue(k)}, {beforeIds.Count(i => !afterIds.Contains(i))} left.");
            return 0;
        }));
        return command;
    }

    /// <summary>One retrieved document.</summary>
    private sealed record Hit(string Id, float Score, string? Title);

    /// <summary>One edit as the flags give it: the feature as written (a latent number or label words) and the amount added (or its multiple of the latent's mean activation), or null to switch it off.</summary>
    private sealed record Edit(string Flag, string Feature, float? Alpha, bool Relative);

    /// <summary>The edits the flags name, checked for form before anything is loaded.</summary>
    private static List<Edit> Edits(string[] amplify, string[] suppress)
    {
        var edits = new List<Edit>();
        foreach (var edit in amplify)
        {
            var split = edit.LastIndexOf('=');
            var amount = split < 0 ? "" : edit[(split + 1)..].Trim();
            var relative = amount.EndsWith('x');
            if (split <= 0 || !float.TryParse(relative ? amount[..^1] : amount, NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha) || !float.IsFinite(alpha)
                || string.IsNullOrWhiteSpace(edit[..split]))
                throw new FormatException($"--amplify '{edit}': expected FEATURE=α, FEATURE a latent number or label words and α a finite number, or a multiple of the latent's mean activation such as 3x (--amplify 1234=0.5).");
            edits.Add(new Edit("--amplify", edit[..split].Trim(), alpha, relative));
        }

        foreach (var edit in suppress)
        {
            if (string.IsNullOrWhiteSpace(edit))
                throw new FormatException("--suppress '': expected FEATURE, a latent number or label words (--suppress 1234).");
            edits.Add(new Edit("--suppress", edit.Trim(), null, false));
        }

        return edits;
    }

    /// <summary>The steering plan of <paramref name="edits"/>, features named by label found in <paramref name="features"/>.</summary>
    private static SteeringPlan Plan(List<Edit> edits, FeatureAtlas? features)
    {
        var plan = SteeringPlan.Empty;
        foreach (var edit in edits)
        {
            var latent = Latent(edit, features);
            plan = plan.Then(edit.Alpha is { } alpha ? LatentEdit.Add(latent, edit.Relative ? Multiple(edit, latent, alpha, features) : alpha) : LatentEdit.Ablate(latent));
        }

        return plan;
    }

    /// <summary>α given as a multiple of the latent's mean activation where it fires, as the atlas measured it over the corpus.</summary>
    private static float Multiple(Edit edit, int latent, float multiple, FeatureAtlas? features)
    {
        if (features is null)
            throw new FormatException($"{edit.Flag} '{edit.Feature}={multiple.ToString(CultureInfo.InvariantCulture)}x': α as a multiple of the latent's mean activation needs --atlas, which holds it.");
        if (latent >= features.LatentSize)
            throw new ArgumentException($"{edit.Flag} '{edit.Feature}': the autoencoder has latents 0..{features.LatentSize - 1}.");
        var card = features.Card(latent);
        if (card.FireCount == 0)
            throw new ArgumentException($"{edit.Flag} '{edit.Feature}': latent {latent} fires in no document of the atlas's corpus, so it has no mean activation to multiply.");
        return (float)(multiple * card.MeanActivation);
    }

    private static int Latent(Edit edit, FeatureAtlas? features)
    {
        if (int.TryParse(edit.Feature, NumberStyles.None, CultureInfo.InvariantCulture, out var latent))
            return latent;
        if (int.TryParse(edit.Feature, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            throw new FormatException($"{edit.Flag} '{edit.Feature}': a latent number is 0 or more.");
        if (features is null)
            throw new FormatException($"{edit.Flag} '{edit.Feature}': a feature named by words needs --atlas (the model's feature atlas); otherwise give a latent number.");
        return features.FindByLabel(edit.Feature) is [var best, ..] ? best.Latent
            : throw new ArgumentException($"{edit.Flag} '{edit.Feature}': no label in --atlas '{features.Path}' holds any of these words.");
    }
}
