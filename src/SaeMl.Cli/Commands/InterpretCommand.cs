using System.ClientModel;
using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.AI;
using OpenAI;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Cli.Reports;
using SaeMl.Interpretation;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml interpret</c>: a model zip, a corpus store and its texts → the feature atlas (statistics, top
/// documents, saliency, labels, label scores, families, neighbours). A second run on the same model reuses
/// the atlas's labels.
/// </summary>
internal static class InterpretCommand
{
    /// <summary>The environment variable that holds the LLM endpoint's key unless --llm-key-env names another.</summary>
    public const string DefaultKeyVariable = "OPENAI_API_KEY";

    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model") { Description = "A model zip holding a SparseAutoencode transform (as saeml train writes)", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a store folder (with ids.txt) or a .npy file (with --corpus-ids)", Required = true };
        var corpusIds = new Option<string?>("--corpus-ids") { Description = "Document ids, one per line in row order; without it, the store folder's ids.txt" };
        var texts = new Option<string>("--texts") { Description = "The corpus texts: MS MARCO .tsv, BEIR .jsonl or BEIR folder", Required = true };
        var output = new Option<string>("--output") { Description = "The feature atlas to write (SQLite); an atlas of the same model is resumed: its labels are kept", Required = true };
        var latents = new Option<string>("--latents") { Description = "Which latents: all, sample:N, head:N, torso:N, tail:N (random ones of a frequency group) or list:1,2,3", DefaultValueFactory = _ => "sample:500" };
        var labeler = new Option<string>("--labeler") { Description = "local (distinctive words, no network) or llm (--llm-endpoint)", DefaultValueFactory = _ => "local" }.AcceptOnlyFromAmong("local", "llm");
        var stopWords = new Option<string>("--stop-words") { Description = "Words the local labeler never uses: english (its function words), none, or a file of words, one a line", DefaultValueFactory = _ => "english" };
        var endpoint = new Option<string?>("--llm-endpoint") { Description = "An OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1" };
        var llmModel = new Option<string>("--llm-model") { Description = "The model the endpoint serves", DefaultValueFactory = _ => "gpt-4o-mini" };
        var keyVariable = new Option<string>("--llm-key-env") { Description = "The environment variable holding the endpoint's key (never logged or saved)", DefaultValueFactory = _ => DefaultKeyVariable };
        var topDocuments = CliOptions.PositiveInt("--top-documents", "Exact top documents kept per latent", new FeatureScanOptions().TopDocuments);
        var saliency = CliOptions.NonNegativeInt("--saliency-documents", "Top documents per latent whose word saliency is computed (needs an embedding model; 0: none). Each embeds the document about 50 times: with a real model on 2 CPU cores 1.5 to 3 documents a second", new InterpretationOptions().SaliencyDocuments);
        var report = new Option<string?>("--report") { Description = "Also write the HTML feature report into this folder (opens offline in any browser)" };
        var previewQuery = new Option<string?>("--preview-query") { Description = "A sample query for the report's steering previews: its top documents before and after amplifying each latent (needs an embedding model)" };
        var results = new Option<string?>("--results") { Description = "A folder of retrieval results for the report (table.md as saeml evaluate writes it, figure4.png)" };
        var textModel = new TextModelOptions();
        var overwrite = CliOptions.Overwrite();
        var device = CliOptions.Device();
        var command = new Command("interpret", "Interprets an autoencoder's latents over a corpus and writes the feature atlas")
        {
            model, corpus, corpusIds, texts, output, latents, labeler, stopWords, endpoint, llmModel, keyVariable, topDocuments, saliency, report, previewQuery, results, overwrite, device,
        };
        foreach (var option in textModel.All)
            command.Options.Add(option);
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            textModel.Validate(parse);
            var selection = LatentSelection.Parse(parse.GetValue(latents)!);
            var stopWordList = StopWords(parse.GetValue(stopWords)!);
            var useLlm = parse.GetValue(labeler) == "llm";
            if (useLlm && parse.GetValue(endpoint) is null)
                throw new UsageException("--labeler llm needs --llm-endpoint: the OpenAI-compatible endpoint to ask.");
            if (parse.GetValue(topDocuments) < new InterpretationOptions().LabelingDocuments)
                throw new UsageException($"--top-documents must be at least {new InterpretationOptions().LabelingDocuments}: the labeler reads that many.");
            if (parse.GetValue(previewQuery) is not null && !textModel.Given(parse))
                throw new UsageException("--preview-query needs an embedding model (--embedder, or --onnx with --vocab) to embed it.");
            if ((parse.GetValue(previewQuery) is not null || parse.GetValue(results) is not null) && parse.GetValue(report) is null)
                throw new UsageException("--preview-query and --results shape the report: give --report FOLDER too.");
            var target = parse.GetValue(output)!;
            var reportFolder = parse.GetValue(report);
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);

            using var transformer = SparseAutoencoderTransformer.Load(parse.GetValue(model)!, computeDevice);
            var autoencoder = transformer.Autoencoder;
            selection.Check(autoencoder.LatentSize);
            var identity = FeatureAtlas.IdentityOf(autoencoder);
            var files = new CommandFiles().Reads(parse.GetValue(model), "--model").Reads(parse.GetValue(corpus), "--corpus")
                .Reads(parse.GetValue(corpusIds), "--corpus-ids").Reads(parse.GetValue(texts), "--texts").Reads(parse.GetValue(results), "--results");
            foreach (var (path, flag) in textModel.Inputs(parse))
                files.Reads(path, flag);
            if (parse.GetValue(stopWords) is not ("english" or "none"))
                files.Reads(parse.GetValue(stopWords), "--stop-words");
            using var locks = files.Writes(target, "--output", resumable: path => IsAtlasOf(path, identity))
                .Writes(reportFolder, "--report", foreign: FeatureReport.ForeignEntry).Check(parse.GetValue(overwrite));

            using var store = EmbeddingStore.Open(parse.GetValue(corpus)!);
            var ids = store.LoadIds(parse.GetValue(corpusIds));
            var documentTexts = console.Status().Start("Reading texts…", _ => TextsByRow(parse.GetValue(texts)!, ids, store));
            var embedders = textModel.Given(parse) ? textModel.Create(parse, computeDevice) : default;
            var checkpointPath = target + CheckpointSuffix;
            using var checkpoint = OpenCheckpoint(console, checkpointPath);
            using var owner = embedders.Owner;
            var interpreter = new FeatureInterpreter(autoencoder, store, documentTexts, ids.Ids, new InterpretationOptions
            {
                Scan = new FeatureScanOptions { TopDocuments = parse.GetValue(topDocuments) },
                SaliencyDocuments = parse.GetValue(saliency),
            })
            {
                DocumentEmbedder = embedders.Documents,
                QueryEmbedder = embedders.Queries,
                Checkpoint = checkpoint,
            };
            if (interpreter.ResumesCheckpoint())
            {
                var (saliencies, labels, scores) = checkpoint.Counts;
                console.MarkupLine($"Resuming the interrupted run kept in [link]{Markup.Escape(checkpointPath)}[/]: {(checkpoint.HasScan ? "the corpus scan, " : "")}"
                    + $"{saliencies:N0} word saliencies, {labels:N0} labels and {scores:N0} label scores are not computed again.");
            }

            using var previous = File.Exists(target) && IsAtlasOf(target, identity) ? FeatureAtlas.Open(target) : null;
            using var chat = useLlm ? ChatClient(parse.GetValue(endpoint)!, parse.GetValue(llmModel)!, parse.GetValue(keyVariable)!) : null;
            IFeatureLabeler chosenLabeler = chat is null ? new LocalLabeler(interpreter.Words, stopWords: stopWordList) : new ChatLabeler(chat, parse.GetValue(llmModel));
            var scan = ProgressBars.Run(console, "Scanning the corpus", (Action<double, double> report) =>
                interpreter.Scan(new CallbackProgress<InterpretationProgress>(p => report(p.Done, p.Total)), cancellationToken));
            var chosen = selection.Choose(scan.Statistics);
            var reused = previous?.Labels(chosenLabeler.Name).Count(l => l.Value.Succeeded && chosen.Contains(l.Key)) ?? 0;
            console.MarkupLine($"{scan.Statistics.DeadLatents().Count:N0} of {autoencoder.LatentSize:N0} latents never fire; interpreting {chosen.Count:N0} with the {Markup.Escape(chosenLabeler.Name)} labeler"
                + (reused > 0 ? $", reusing {reused:N0} labels of '{Markup.Escape(target)}'." : "."));
            var result = ProgressBars.Run(console, "Interpreting", (ProgressBar bar) =>
                interpreter.InterpretAsync(scan, chosen, chosenLabeler, previous, new CallbackProgress<InterpretationProgress>(p =>
                {
                    bar.Status(p.Stage);
                    bar.Report(p.Done, p.Total);
                }), cancellationToken).GetAwaiter().GetResult());
            previous?.Dispose();
            result.Save(target);

            Summarize(console, result, chosen);
            console.MarkupLine($"Wrote [link]{Markup.Escape(target)}[/]: open it with saeml features, or any SQLite tool.");
            if (reportFolder is not null)
            {
                var preview = parse.GetValue(previewQuery) is { } sample
                    ? SteeringPreview.Compute(sample, embedders.Queries!.Embed([sample]).Cast<float>().ToArray(), autoencoder, store,
                        chosen.Where(j => scan.Statistics.FireCounts[j] > 0).ToDictionary(j => j, scan.Statistics.MaxActivation), 5, computeDevice, cancellationToken)
                    : null;
                using var atlas = FeatureAtlas.Open(target);
                ProgressBars.Run(console, "Writing the report", (Action<double, double> progress) =>
                {
                    FeatureReport.Write(reportFolder, atlas, ids.Ids, documentTexts, preview, parse.GetValue(results), progress);
                    return 0;
                });
                console.MarkupLine($"Wrote the report: open [link]{Markup.Escape(Path.Combine(reportFolder, FeatureReport.IndexFile))}[/] in a browser.");
            }

            checkpoint.Dispose();
            InterpretationCheckpoint.Delete(checkpointPath); // the run is complete: nothing is left to resume
            return 0;
        }));
        return command;
    }

    /// <summary>What the checkpoint of a run writing atlas A is named: A.partial, beside it, deleted when the run completes.</summary>
    private const string CheckpointSuffix = ".partial";

    /// <summary>The run's checkpoint; one that cannot be read is replaced, with a warning, rather than blocking every later run.</summary>
    private static InterpretationCheckpoint OpenCheckpoint(IAnsiConsole console, string path)
    {
        try
        {
            return InterpretationCheckpoint.Open(path);
        }
        catch (FormatException e)
        {
            console.MarkupLine($"[yellow]warning:[/] {Markup.Escape(e.Message)}; starting afresh.");
            InterpretationCheckpoint.Delete(path);
            return InterpretationCheckpoint.Open(path);
        }
    }

    /// <summary>The labeler's stop words: null for its English function words, an empty set for none, or a file's lines (the labeler spells them as it spells words).</summary>
    private static HashSet<string>? StopWords(string choice) => choice switch
    {
        "english" => null,
        "none" => [],
        _ when File.Exists(choice) => File.ReadLines(choice).ToHashSet(StringComparer.Ordinal),
        _ => throw new UsageException($"--stop-words '{choice}': expected english, none, or a file of words (one a line) that exists."),
    };

    /// <summary>Whether <paramref name="path"/> is a feature atlas of the autoencoder with <paramref name="identity"/>.</summary>
    private static bool IsAtlasOf(string path, string identity)
    {
        try
        {
            using var atlas = FeatureAtlas.Open(path);
            return atlas.ModelIdentity == identity;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Each store row's text, found by the row's id among the texts.</summary>
    private static string[] TextsByRow(string path, IdIndex ids, EmbeddingStore store)
    {
        if (ids.Count != store.RowCount)
            throw new ArgumentException($"--corpus '{store.Name}' holds {store.RowCount:N0} rows but {ids.Count:N0} ids.");
        var texts = new string?[ids.Count];
        foreach (var record in TextInputs.Read(path, "corpus"))
        {
            if (ids.TryGetRow(record.Id, out var row))
                texts[row] = record.EmbeddingText;
        }

        if (Array.FindIndex(texts, t => t is null) is var missing and >= 0)
            throw new ArgumentException($"--texts '{path}' has no text for document '{ids[missing]}' (row {missing} of --corpus '{store.Name}').");
        return texts!;
    }

    /// <summary>An OpenAI-compatible chat client; the key comes from the environment and goes nowhere else.</summary>
    private static IChatClient ChatClient(string endpoint, string model, string keyVariable)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new UsageException($"--llm-endpoint '{endpoint}' is not an http(s) address.");
        var key = Environment.GetEnvironmentVariable(keyVariable) is { Length: > 0 } value ? value : "none";
        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = uri }).AsIChatClient();
    }

    private static void Summarize(IAnsiConsole console, FeatureInterpretation result, IReadOnlyList<int> chosen)
    {
        var labelled = result.Labels.Values.Count(l => l.Succeeded);
        var failed = result.Labels.Values.Where(l => !l.Succeeded).ToList();
        console.MarkupLine($"{labelled:N0} of {chosen.Count:N0} latents labelled" + (failed.Count > 0 ? $"; {failed.Count:N0} without a label, e.g. latent {failed[0].Latent}: {Markup.Escape(failed[0].Error ?? "")}" : "."));
        if (result.Scores.Count > 0)
        {
            var (lower, median, upper, count) = LabelScorer.Distribution(result.Scores.Values.Select(s => s.EmbeddingScore));
            console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"Label embedding scores (AUROC, 0.5 is chance) over {count:N0} latents: quartiles {lower:F3} / {median:F3} / {upper:F3}."));
            var unscored = result.Labels.Values.Count(l => l.Succeeded && !result.Scores.ContainsKey(l.Latent));
            if (unscored > 0)
            {
                console.MarkupLine($"{unscored:N0} labelled {(unscored == 1 ? "latent has" : "latents have")} no score: every document of {(unscored == 1 ? "its" : "their")} sample of firings is among the top documents "
                    + "the label was made from, so none is left to check it on (a lower --top-documents leaves some).");
            }
        }

        var table = new Table().AddColumns("latent", "documents", "label", "score");
        foreach (var label in result.Labels.Values.Where(l => l.Succeeded).OrderByDescending(l => result.Scores.TryGetValue(l.Latent, out var s) ? s.EmbeddingScore : 0).Take(5))
        {
            table.AddRow(label.Latent.ToString(CultureInfo.InvariantCulture), result.Scan.Statistics.Frequency(label.Latent).ToString("P2", CultureInfo.InvariantCulture),
                Markup.Escape(label.Text), result.Scores.TryGetValue(label.Latent, out var score) ? score.EmbeddingScore.ToString("F3", CultureInfo.InvariantCulture) : "–");
        }

        console.Write(table);
    }
}
