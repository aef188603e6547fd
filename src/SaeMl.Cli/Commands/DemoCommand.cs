using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Cli.Reports;
using SaeMl.Compute;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Evaluation;
using SaeMl.Interpretation;
using SaeMl.Search;
using SaeMl.Steering;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml demo</c>: the end-to-end run on built-in data, with no arguments. It generates the seeded
/// demo world (texts with planted concepts, its ONNX model and vocabulary), embeds corpus, queries and
/// training queries with EmbedText's engine, runs exact search and prints what a few queries found, then
/// reproduces the paper's Table 1 on the world: it trains sparse autoencoders at K = 32, 64 and 128 (and
/// the MSE-only ablation at K = 128) on the training queries and their nearest documents, and evaluates
/// the original embeddings, each model's sparse latents and its reconstructions against the qrels.
/// Everything already computed in the output folder (world, embeddings, neighbors, models) is reused.
/// </summary>
internal static class DemoCommand
{
    private const int ShownQueries = 3;
    private const int ShownResults = 5;

    public static Command Create(IAnsiConsole console)
    {
        var output = new Option<string>("--output") { Description = "Folder for the demo's files", DefaultValueFactory = _ => new DemoExperimentOptions().Folder };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated world", DefaultValueFactory = _ => 42 };
        var documents = CliOptions.PositiveInt("--documents", "Documents in the generated corpus", new DemoWorldOptions().Documents);
        var queries = CliOptions.PositiveInt("--queries", "Generated queries", new DemoWorldOptions().Queries);
        var dimension = CliOptions.PositiveInt("--dimension", "Embedding dimension of the world's model", new DemoWorldOptions().Dimension);
        var k = CliOptions.PositiveInt("--k", "Documents shown per query", 10);
        var worldKind = new Option<string>("--world")
        {
            Description = "standard, or hard: a strong common direction, correlated concepts, short noisy queries and one judged document per query",
            DefaultValueFactory = _ => "standard",
        };
        worldKind.AcceptOnlyFromAmong("standard", "hard");
        var defaults = new DemoExperimentOptions();
        var trainingQueries = CliOptions.PositiveInt("--training-queries", "Generated training queries for the autoencoders", defaults.TrainingQueries);
        var latents = CliOptions.PositiveInt("--latents", "n, the latents of each autoencoder", defaults.LatentSize);
        var epochs = CliOptions.PositiveInt("--epochs", "Training epochs of each autoencoder", defaults.Epochs);
        var device = CliOptions.Device();

        var command = new Command("demo", "Runs SaeMl end to end on the built-in demo world: search, train sparse autoencoders, print Table 1")
        {
            output, worldKind, seed, documents, queries, dimension, k, trainingQueries, latents, epochs, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            if (parse.GetValue(latents) < DemoExperiment.LargestActiveLatents)
                throw new UsageException($"--latents ({parse.GetValue(latents)}) must be at least {DemoExperiment.LargestActiveLatents}: Table 1 trains autoencoders with K up to {DemoExperiment.LargestActiveLatents}.");
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            if (File.Exists(parse.GetValue(output)))
                throw new ArgumentException($"--output '{parse.GetValue(output)}' is a file; the demo needs a folder (it creates it if needed).");
            using var files = new CommandFiles().Writes(parse.GetValue(output), "--output", resumable: _ => true).Check(overwrite: false); // a folder the demo reuses, locked for the run
            using var experiment = new DemoExperiment(new DemoExperimentOptions
            {
                Folder = parse.GetValue(output)!,
                World = (parse.GetValue(worldKind) == "hard" ? DemoWorldOptions.Hard(parse.GetValue(documents), parse.GetValue(seed)) : DemoWorldOptions.ForCorpus(parse.GetValue(documents), parse.GetValue(seed))) with
                {
                    Queries = parse.GetValue(queries),
                    Dimension = parse.GetValue(dimension),
                },
                TrainingQueries = parse.GetValue(trainingQueries),
                LatentSize = parse.GetValue(latents),
                Epochs = parse.GetValue(epochs),
                Device = computeDevice,
            });
            var world = experiment.World;
            var folder = experiment.WorldFolder;
            console.MarkupLine($"[bold]SaeMl demo[/]: {world.Documents.Count:N0} documents, {world.Queries.Count:N0} queries and {world.Concepts.Count} planted concepts, "
                + $"embedded to dimension {world.Options.Dimension}; seed {world.Options.Seed}.");
            console.MarkupLine(experiment.WriteWorld()
                ? $"Wrote the world (BEIR files, model.onnx, vocab.txt, concepts.json) to [link]{Markup.Escape(folder)}[/]."
                : $"Reusing the world in [link]{Markup.Escape(folder)}[/].");

            using var embedder = experiment.CreateEmbedder(message => console.MarkupLine($"[yellow]{Markup.Escape(message)}[/]"));
            Embed(console, experiment, DemoTexts.Corpus, embedder, cancellationToken);
            Embed(console, experiment, DemoTexts.Queries, embedder, cancellationToken);

            using var corpus = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Corpus));
            using var queryStore = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Queries));
            var searchOptions = new ExactSearchOptions { K = parse.GetValue(k), Device = computeDevice };
            var stopwatch = Stopwatch.StartNew();
            var results = ProgressBars.Run(console, "Exact search", report => ExactSearch.Search(
                queryStore, corpus, searchOptions, new CallbackProgress<SearchProgress>(p => report(p.ScannedRows, p.TotalRows)), cancellationToken));
            console.MarkupLine($"Exact search of the top {results.K}: {stopwatch.Elapsed.TotalSeconds:F2} s.");

            var runPath = Path.Combine(folder, "exact.trec");
            results.WriteTrecRun(runPath, queryStore.LoadIds(), corpus.LoadIds(), "exact");

            // Queries about a hand-picked concept read best ("weather", not a generated word).
            var grades = world.Judgements.ToLookup(j => j.QueryId);
            var shown = Enumerable.Range(0, results.QueryCount)
                .OrderBy(q => world.Queries[q].Concepts.Any(c => world.Concepts[c].HandPicked) ? 0 : 1)
                .Take(ShownQueries);
            foreach (var query in shown)
                console.Write(ResultTable(world, results, query, grades[world.Queries[query].Id].ToDictionary(j => j.DocumentId, j => j.Grade)));

            var relevantShare = Enumerable.Range(0, results.QueryCount).Average(q =>
            {
                var relevant = grades[world.Queries[q].Id].Select(j => j.DocumentId).ToHashSet();
                return results.RowsOf(q).ToArray().Count(row => relevant.Contains(world.Documents[(int)row].Id)) / (double)results.K;
            });
            console.MarkupLine($"Relevant documents among the top {results.K}, averaged over {results.QueryCount:N0} queries: [bold]{relevantShare:P1}[/]");
            console.MarkupLine($"Wrote the run to [link]{Markup.Escape(runPath)}[/].");

            Embed(console, experiment, DemoTexts.TrainingQueries, embedder, cancellationToken);
            var found = ProgressBars.Run(console, "Training neighbors", report => experiment.FindTrainingNeighbors(
                new CallbackProgress<SearchProgress>(p => report(p.ScannedRows, p.TotalRows)), cancellationToken));
            if (!found)
                console.MarkupLine($"Reusing the training neighbors in [link]{Markup.Escape(experiment.TrainingNeighborsPaths.Rows)}[/].");

            var evaluations = new List<(string Model, RetrievalEvaluation Evaluation)>();
            foreach (var model in experiment.Table1Models())
            {
                if (File.Exists(model.Path))
                {
                    console.MarkupLine($"Reusing the autoencoder [link]{Markup.Escape(model.Path)}[/].");
                }
                else
                {
                    var o = model.Options;
                    console.MarkupLine($"Training the autoencoder {Markup.Escape(model.Label)} (n = {o.LatentSize:N0}, λ = {o.KLWeight}, r = {o.LatentKLRatio}, τ = {o.RelativeTemperature} × score spread) "
                        + $"on {experiment.Options.TrainingQueries:N0} training queries with their {o.NeighborsPerQuery} nearest documents.");
                    TrainingJob.Run(console, progress => experiment.Train(model, progress, cancellationToken));
                    TrainingJob.Wrote(console, model.Path);
                }

                using var transformer = SparseAutoencoderTransformer.Load(model.Path, computeDevice);
                evaluations.Add((model.Label, EvaluationJob.Run(console, model.Label,
                    progress => experiment.Evaluate(transformer.Autoencoder, progress: progress, cancellationToken: cancellationToken))));
            }

            EvaluationJob.Report(console, new RetrievalReport(evaluations), experiment.Table1Title(), experiment.Table1Folder);
            Steering(console, experiment, embedder, computeDevice, cancellationToken);
            Interpretation(console, experiment, embedder, computeDevice, cancellationToken);
            return 0;
        }));
        return command;
    }

    private static void Embed(IAnsiConsole console, DemoExperiment experiment, DemoTexts texts, TextEmbedder embedder, CancellationToken cancellationToken)
    {
        var folder = experiment.StorePath(texts);
        if (experiment.IsEmbedded(texts))
        {
            console.MarkupLine($"Reusing the embeddings in [link]{Markup.Escape(folder)}[/].");
            return;
        }

        EmbeddingJob.Run(console, embedder, experiment.Records(texts).Count, folder,
            progress =>
            {
                experiment.Embed(texts, embedder, progress, cancellationToken);
                return 0;
            });
    }

    /// <summary>The paper's steering studies with the K = 32 model: Figure 4 (written beside Table 1) and one two-concept query steered each way.</summary>
    private static void Steering(IAnsiConsole console, DemoExperiment experiment, TextEmbedder embedder, ComputeDevice device, CancellationToken cancellationToken)
    {
        var model = experiment.Table1Models()[0];
        using var transformer = SparseAutoencoderTransformer.Load(model.Path, device);
        var points = ProgressBars.Run(console, "Steering study", (ProgressBar _) => experiment.Control(transformer.Autoencoder, cancellationToken: cancellationToken));
        var figure = Path.Combine(experiment.Table1Folder, "figure4.png");
        DemoPlots.WriteControlFigure(points, figure, $"Steering one latent: the demo world ({model.Label})");
        var table = new Table().Title(Markup.Escape($"Steering one latent ({model.Label}, reconstructions): MRR@10 by α"))
            .AddColumns("α", "document side", "query side");
        foreach (var point in points.Where((_, i) => i % 3 == 0 || i == points.Count - 1))
        {
            table.AddRow(point.Alpha.ToString("G3", CultureInfo.InvariantCulture), point.DocumentSide.MeanReciprocalRankAtCutoff.ToString("F4", CultureInfo.InvariantCulture),
                point.QuerySide.MeanReciprocalRankAtCutoff.ToString("F4", CultureInfo.InvariantCulture));
        }

        console.Write(table);
        console.MarkupLine($"Wrote [link]{Markup.Escape(figure)}[/] (the paper's Figure 4 for the demo world).");

        var (query, cases) = experiment.SteerTwoConcepts(transformer.Autoencoder, embedder, cancellationToken);
        if (cases.Count == 0)
        {
            console.MarkupLine("This world is too small for the two-concept steering example (no weather or finance documents).");
            return;
        }

        foreach (var steered in cases)
        {
            var side = steered.TowardFirst ? "weather" : "finance";
            console.MarkupLine($"\"{Markup.Escape(query)}\" amplified toward {side}: {side} documents in the top 5 {steered.Before} → {steered.After}, "
                + $"the other concept's {steered.OtherBefore} → {steered.OtherAfter}.");
        }
    }

    /// <summary>The interpretation of the K = 32 model: the atlas written beside Table 1, five labelled latents and one explained query.</summary>
    private static void Interpretation(IAnsiConsole console, DemoExperiment experiment, TextEmbedder embedder, ComputeDevice device, CancellationToken cancellationToken)
    {
        var model = experiment.Table1Models()[0];
        using var transformer = SparseAutoencoderTransformer.Load(model.Path, device);
        var autoencoder = transformer.Autoencoder;
        var query = experiment.World.Queries[0];
        using var corpus = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Corpus));
        var queryVector = new float[embedder.Dimension];
        embedder.Embed([query.Text], queryVector);
        var top = ExactSearch.Search(queryVector, corpus, new ExactSearchOptions { K = 1, Device = device }, cancellationToken: cancellationToken).RowsOf(0)[0];
        var pair = new float[2 * corpus.Dimension];
        queryVector.CopyTo(pair, 0);
        corpus.ReadRows(top, pair.AsSpan(corpus.Dimension));
        var codes = autoencoder.Encode(pair);
        var terms = ScoreExplanation.LatentScore(codes, 0, codes, 1);

        var result = ProgressBars.Run(console, "Interpreting latents", (ProgressBar bar) => experiment.Interpret(autoencoder, embedder, DemoLatents, terms.Select(t => t.Latent),
            new CallbackProgress<InterpretationProgress>(p =>
            {
                bar.Status(p.Stage);
                bar.Report(p.Done, p.Total);
            }), cancellationToken));
        var atlas = Path.Combine(experiment.Table1Folder, "atlas.sqlite");
        result.Save(atlas);

        var pure = result.Labels.Values.Where(l => l.Succeeded).Select(l => (Label: l, Concept: experiment.PlantedConcept(result.Scan, l.Latent)))
            .Where(p => p.Concept is not null).OrderByDescending(p => result.Scores.TryGetValue(p.Label.Latent, out var s) ? s.EmbeddingScore : 0).Take(5).ToList();
        var table = new Table().Title(Markup.Escape($"Five labelled latents ({model.Label}), with the planted concept most of their top documents carry"))
            .AddColumns("latent", "documents", "label (local)", "planted concept", "label score");
        foreach (var (label, concept) in pure)
        {
            table.AddRow(label.Latent.ToString(CultureInfo.InvariantCulture), result.Scan.Statistics.Frequency(label.Latent).ToString("P2", CultureInfo.InvariantCulture),
                Markup.Escape(label.Text), Markup.Escape($"{concept!.Name}: {string.Join(", ", concept.Words.Take(4))}…"),
                result.Scores.TryGetValue(label.Latent, out var score) ? score.EmbeddingScore.ToString("F3", CultureInfo.InvariantCulture) : "–");
        }

        console.Write(table);
        var latentScore = terms.Sum(t => t.Contribution);
        string Concepts(IEnumerable<int> ids) => string.Join(", ", ids.Select(c => experiment.World.Concepts[c].Name));
        var document = experiment.World.Documents[(int)top];
        var explained = new Table().Title(Markup.Escape($"Why \"{query.Text}\" ({Concepts(query.Concepts)}) retrieves {document.Id} ({Concepts(document.Concepts)}) first: "
            + $"its latent score {latentScore:F4}, term by term"))
            .AddColumns("latent", "label", "query × document", "share");
        foreach (var term in terms.Take(5))
        {
            explained.AddRow(term.Latent.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(result.Labels.TryGetValue(term.Latent, out var label) && label.Succeeded ? label.Text : ""),
                string.Create(CultureInfo.InvariantCulture, $"{term.QueryValue:F3} × {term.DocumentValue:F3} = {term.Contribution:F4}"),
                (term.Contribution / latentScore).ToString("P1", CultureInfo.InvariantCulture));
        }

        console.Write(explained);
        console.MarkupLine("Labels name what each latent's top documents share; at the demo's training budget many latents are not yet tied to one concept "
            + "(docs/results.md, Interpretation, compares 4 and 40 epochs).");
        console.MarkupLine($"Wrote the feature atlas of {result.Labels.Count} latents to [link]{Markup.Escape(atlas)}[/] (saeml features --atlas … --find WORDS).");

        // The HTML report: every interpreted latent, with Table 1 and Figure 4 from the same folder and a steering preview of the explained query.
        var records = experiment.Records(DemoTexts.Corpus);
        var preview = SteeringPreview.Compute(query.Text, queryVector, autoencoder, corpus,
            result.Labels.Keys.ToDictionary(j => j, result.Scan.Statistics.MaxActivation), 5, device, cancellationToken);
        var report = Path.Combine(experiment.Table1Folder, "report");
        using var written = FeatureAtlas.Open(atlas);
        ProgressBars.Run(console, "Writing the report", (Action<double, double> progress) =>
        {
            FeatureReport.Write(report, written, [.. records.Select(r => r.Id)], [.. records.Select(r => r.EmbeddingText)], preview, experiment.Table1Folder, progress);
            return 0;
        });
        console.MarkupLine($"Wrote the feature report: open [link]{Markup.Escape(Path.Combine(report, FeatureReport.IndexFile))}[/] in a browser.");
    }

    /// <summary>Latents the demo interprets (a seeded sample), besides those of its explained query.</summary>
    private const int DemoLatents = 200;

    private static Table ResultTable(DemoWorld world, SearchResults results, int query, Dictionary<string, int> grades)
    {
        var asked = world.Queries[query];
        var concepts = string.Join(", ", asked.Concepts.Select(c => world.Concepts[c].Name));
        var table = new Table()
            .Title($"{asked.Id} \"{Markup.Escape(asked.Text)}\" (concepts: {Markup.Escape(concepts)})")
            .AddColumns("rank", "document", "score", "grade", "title");
        var rows = results.RowsOf(query);
        var scores = results.ScoresOf(query);
        for (var rank = 0; rank < Math.Min(ShownResults, results.K); rank++)
        {
            var document = world.Documents[(int)rows[rank]];
            var grade = grades.GetValueOrDefault(document.Id);
            table.AddRow(
                (rank + 1).ToString(),
                document.Id,
                scores[rank].ToString("F4"),
                grade > 0 ? $"[green]{grade}[/]" : "0",
                Markup.Escape(document.Title));
        }

        return table;
    }
}
