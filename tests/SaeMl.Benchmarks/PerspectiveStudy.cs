using System.CommandLine;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Steering;

namespace SaeMl.Benchmarks;

/// <summary>
/// The binary-perspective study on the demo world: queries built from two planted concepts, each concept's latent
/// picked from data (the latent that best separates the documents carrying the concept from the rest), each query
/// steered toward each concept with Table 1's K = 32 autoencoder.
/// </summary>
internal static class PerspectiveStudy
{
    public static Command Create()
    {
        var folder = new Option<string>("--folder") { Description = "The demo's folder; an earlier saeml demo run's is reused", DefaultValueFactory = _ => new DemoExperimentOptions().Folder };
        var pairs = new Option<int>("--pairs") { Description = "Two-concept queries", DefaultValueFactory = _ => 120 };
        var alpha = new Option<float>("--alpha") { Description = "Amount added to the amplified latent", DefaultValueFactory = _ => 0.5f };
        var command = new Command("perspectives", "The binary-perspective study (Tables 4, 5) on the demo world") { folder, pairs, alpha };
        command.SetAction(parse => Run(parse.GetValue(folder)!, parse.GetValue(pairs), parse.GetValue(alpha)));
        return command;
    }

    private static int Run(string folder, int pairCount, float alpha)
    {
        using var experiment = new DemoExperiment(new DemoExperimentOptions { Folder = folder, Device = ComputeDevice.Cpu });
        var model = experiment.Table1Models()[0];
        using var transformer = experiment.Prepare(model);
        using var embedder = experiment.CreateEmbedder();
        var autoencoder = transformer.Autoencoder;
        using var corpus = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Corpus));
        var world = experiment.World;

        // Every document's latents, and the documents of each concept broad enough to have two sides worth counting.
        var codes = experiment.CorpusCodes(autoencoder);
        var documentsOf = world.Concepts.ToDictionary(c => c.Id, experiment.DocumentsOf);
        var usable = world.Concepts.Where(c => documentsOf[c.Id].Count is >= 20 and <= 2000).ToList();
        var random = new Random(7);
        var chosen = Enumerable.Range(0, pairCount).Select(_ =>
        {
            var a = usable[random.Next(usable.Count)];
            var b = usable.Where(c => c.Id != a.Id).ElementAt(random.Next(usable.Count - 1));
            return (a, b);
        }).ToList();
        var latentOf = chosen.SelectMany(p => new[] { p.a, p.b }).DistinctBy(c => c.Id)
            .ToDictionary(c => c.Id, c => ConceptLatents.MostSeparating(codes, documentsOf[c.Id], autoencoder.LatentSize));
        var texts = chosen.Select(p => string.Join(' ', p.a.Words.Take(2).Concat(p.b.Words.Take(2)))).ToList();
        var embedded = embedder.Embed(texts);
        var queries = chosen.Select((p, i) => new PerspectiveQuery($"{p.a.Name}+{p.b.Name}",
            Enumerable.Range(0, autoencoder.Dimension).Select(j => embedded[i, j]).ToArray(),
            new Perspective(latentOf[p.a.Id], documentsOf[p.a.Id]), new Perspective(latentOf[p.b.Id], documentsOf[p.b.Id]))).ToList();

        var cases = PerspectiveExperiment.Run(autoencoder, corpus, queries, alpha, k: 5, recallDepth: 10, device: ComputeDevice.Cpu, workingFolder: experiment.WorldFolder);

        var raised = cases.Count(c => c.After > c.Before);
        var open = cases.Count(c => c.Before < 5); // the cases whose count could rise
        var raisedWhereOpen = cases.Count(c => c.Before < 5 && c.After > c.Before);
        var notLowered = cases.Count(c => c.After >= c.Before);
        var recallBefore = cases.Average(c => c.RecallBefore);
        var recallAfter = cases.Average(c => c.RecallAfter);
        Console.WriteLine($"### Binary perspectives on the demo world: {model.Label}, α = {alpha.ToString(CultureInfo.InvariantCulture)}, {queries.Count} two-concept queries, both directions");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}. Model: {Path.GetFileName(model.Path)}. Queries: two words of each concept; each concept's latent is the one whose mean activation over its documents most exceeds that over the rest.");
        Console.WriteLine();
        Console.WriteLine("| cases | raised in the top 5 | raised, of those below 5 before | not lowered | mean B (before) | mean A (after) | other side B → A | recall@10 of either side before → after |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {cases.Count} | {raised} ({raised / (double)cases.Count:P1}) | {raisedWhereOpen} of {open} ({raisedWhereOpen / (double)open:P1}) | {notLowered} ({notLowered / (double)cases.Count:P1}) | "
            + $"{cases.Average(c => c.Before):F2} | {cases.Average(c => c.After):F2} | {cases.Average(c => c.OtherBefore):F2} → {cases.Average(c => c.OtherAfter):F2} | "
            + $"{recallBefore:F3} → {recallAfter:F3} ({(recallAfter - recallBefore) / recallBefore:P1}) |"));
        Console.WriteLine();
        Console.WriteLine("| query | amplified | B/A | other side B/A |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var c in cases.Take(8))
            Console.WriteLine($"| {c.QueryId} | {(c.TowardFirst ? c.QueryId.Split('+')[0] : c.QueryId.Split('+')[1])} | {c.Before}/{c.After} | {c.OtherBefore}/{c.OtherAfter} |");
        return 0;
    }
}
