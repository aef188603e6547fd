using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
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
        var amplify = new Option<string[]>("--amplify") { Description = "FEATURE=α: add α to latent FEATURE (repeatable)", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] };
        var suppress = new Option<string[]>("--suppress") { Description = "FEATURE: switch latent FEATURE off (repeatable)", DefaultValueFactory = _ => [] };
        var k = CliOptions.PositiveInt("--k", "Documents shown before and after", 10);
        var mode = new Option<string>("--mode") { Description = "error-preserving (only the edits move the query) or decode (the paper's: the decoded latents)", DefaultValueFactory = _ => "error-preserving" }
            .AcceptOnlyFromAmong("error-preserving", "decode");
        var json = new Option<bool>("--json") { Description = "Print the result as JSON, for scripts" };
        var device = CliOptions.Device();
        var command = new Command("steer", "Retrieves one query before and after editing its sparse latents")
        {
            model, corpus, corpusIds, texts, amplify, suppress, k, mode, json, device,
        };
        foreach (var option in query.All)
            command.Options.Add(option);
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var plan = Plan(parse.GetValue(amplify)!, parse.GetValue(suppress)!);
            query.Validate(parse);
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);

            using var transformer = SparseAutoencoderTransformer.Load(parse.GetValue(model)!, computeDevice);
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
            console.MarkupLine($"{afterIds.Count(i => !beforeIds.Contains(i))} documents entered the top {parse.GetValue(k)}, {beforeIds.Count(i => !afterIds.Contains(i))} left.");
            return 0;
        }));
        return command;
    }

    /// <summary>One retrieved document.</summary>
    private sealed record Hit(string Id, float Score, string? Title);

    /// <summary>The edits the flags name.</summary>
    private static SteeringPlan Plan(string[] amplify, string[] suppress)
    {
        var plan = SteeringPlan.Empty;
        foreach (var edit in amplify)
        {
            var parts = edit.Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var latent)
                || !float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha) || !float.IsFinite(alpha))
                throw new UsageException($"--amplify '{edit}': expected FEATURE=α, FEATURE a latent number and α a number (--amplify 1234=0.5).");
            plan = plan.Then(LatentEdit.Add(latent, alpha));
        }

        foreach (var edit in suppress)
        {
            if (!int.TryParse(edit, NumberStyles.None, CultureInfo.InvariantCulture, out var latent))
                throw new UsageException($"--suppress '{edit}': expected FEATURE, a latent number (--suppress 1234).");
            plan = plan.Then(LatentEdit.Ablate(latent));
        }

        return plan;
    }
}
