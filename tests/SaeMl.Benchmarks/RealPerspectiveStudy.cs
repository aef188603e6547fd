using System.CommandLine;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;
using SaeMl.Steering;

namespace SaeMl.Benchmarks;

/// <summary>
/// The binary-perspective study (the paper's Table 4) on real text with a real model: queries written by hand, each
/// with two perspectives named by label words; each perspective's latent is the labelled latent those words find
/// in the feature atlas, and a document has the perspective when that latent is among its active latents.
/// </summary>
internal static class RealPerspectiveStudy
{
    public static Command Create()
    {
        var set = new Option<string>("--set") { Description = "The BEIR folder (corpus.jsonl; model/ as real-set extracts it)", Required = true };
        var store = new Option<string>("--corpus") { Description = "The corpus embedding store of that folder's corpus, by the same model", Required = true };
        var model = new Option<string>("--model") { Description = "The autoencoder's model zip", Required = true };
        var atlas = new Option<string>("--atlas") { Description = "The autoencoder's labelled feature atlas (saeml interpret --latents all)", Required = true };
        var queries = new Option<string>("--queries") { Description = "Tab-separated: query text, label words of one perspective, label words of the other", Required = true };
        var realModel = new Option<string>("--embedder") { Description = "The real model that embedded the corpus", DefaultValueFactory = _ => RealModel.ArcticXs.Name };
        var alphas = new Option<string>("--alphas") { Description = "Amounts added to the amplified latent, comma-separated; the first one's top documents are listed", DefaultValueFactory = _ => "0.2,0.1,0.4" };
        var command = new Command("perspectives-real", "The binary-perspective study (Table 4) on real text, perspectives chosen by label") { set, store, model, atlas, queries, realModel, alphas };
        command.SetAction(parse => Run(parse.GetValue(set)!, parse.GetValue(store)!, parse.GetValue(model)!, parse.GetValue(atlas)!, parse.GetValue(queries)!,
            RealModel.Named(parse.GetValue(realModel)!), [.. parse.GetValue(alphas)!.Split(',').Select(a => float.Parse(a, CultureInfo.InvariantCulture))]));
        return command;
    }

    private static int Run(string setFolder, string storePath, string modelPath, string atlasPath, string queriesPath, RealModel realModel, float[] alphas)
    {
        using var transformer = SparseAutoencoderTransformer.Load(modelPath, ComputeDevice.Cpu);
        var autoencoder = transformer.Autoencoder;
        using var features = FeatureAtlas.Open(atlasPath);
        if (features.ModelIdentity != FeatureAtlas.IdentityOf(autoencoder))
            throw new ArgumentException($"--atlas '{atlasPath}' describes another model than --model '{modelPath}'.");
        using var corpus = EmbeddingStore.Open(storePath);
        var records = BeirReader.ReadCorpus(setFolder).ToList();
        var labels = features.Labels();

        var written = File.ReadLines(queriesPath).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t')).ToList();
        var bad = written.FirstOrDefault(f => f.Length != 3);
        if (bad is not null)
            throw new FormatException($"--queries '{queriesPath}': '{string.Join('\t', bad)}' is not query<TAB>label words<TAB>label words.");
        int LatentFor(string words) => features.FindByLabel(words) is [var best, ..] ? best.Latent
            : throw new ArgumentException($"No label in --atlas '{atlasPath}' holds any of '{words}'.");
        var chosen = written.Select(f => (Text: f[0], First: LatentFor(f[1]), Second: LatentFor(f[2]))).ToList();

        // A document has a perspective when the perspective's latent is among its active latents.
        var wanted = chosen.SelectMany(c => new[] { c.First, c.Second }).ToHashSet();
        var documentsOf = wanted.ToDictionary(j => j, _ => new HashSet<long>());
        long row = 0;
        foreach (var batch in autoencoder.EncodeStore(corpus))
        {
            for (var r = 0; r < batch.Codes.Rows; r++, row++)
            {
                var values = batch.Codes.ValuesOf(r);
                var indices = batch.Codes.IndicesOf(r);
                for (var i = 0; i < indices.Length; i++)
                {
                    if (values[i] > 0 && documentsOf.TryGetValue(indices[i], out var documents))
                        documents.Add(row);
                }
            }
        }

        using var embedder = realModel.CreateEmbedder(Path.Combine(setFolder, "model"), query: true);
        var embedded = embedder.Embed([.. chosen.Select(c => c.Text)]);
        var perspectiveQueries = chosen.Select((c, i) => new PerspectiveQuery(c.Text,
            Enumerable.Range(0, autoencoder.Dimension).Select(j => embedded[i, j]).ToArray(),
            new Perspective(c.First, documentsOf[c.First]), new Perspective(c.Second, documentsOf[c.Second]))).ToList();
        var runs = alphas.Select(alpha => (Alpha: alpha, Cases: PerspectiveExperiment.Run(autoencoder, corpus, perspectiveQueries, alpha, k: 5,
            device: ComputeDevice.Cpu, workingFolder: Path.GetDirectoryName(Path.GetFullPath(storePath))))).ToList();

        string Label(int latent) => labels.TryGetValue(latent, out var label) ? label.Text : "(unlabelled)";
        string Alpha(float alpha) => alpha.ToString(CultureInfo.InvariantCulture);
        string Document(long r)
        {
            var text = records[(int)r].Text.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal);
            return $"`{records[(int)r].Id}` {(text.Length > 70 ? text[..70] + "…" : text)}";
        }

        Console.WriteLine($"### Binary perspectives on real text: {Path.GetFileName(modelPath)} over {realModel.Name} embeddings of {corpus.RowCount:N0} documents");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}. Top 5 from the reconstructed corpus; B/A: documents of the amplified perspective in the top 5 before/after; each perspective's latent is the first `FeatureAtlas.FindByLabel` match of its words.");
        Console.WriteLine();
        Console.WriteLine($"| query | amplified perspective (latent: label) | documents with it | {string.Join(" | ", alphas.Select(a => $"B/A at α = {Alpha(a)}"))} | other side B/A at α = {Alpha(alphas[0])} |");
        Console.WriteLine($"|---|---|---|{string.Concat(alphas.Select(_ => "---|"))}---|");
        for (var c = 0; c < runs[0].Cases.Count; c++)
        {
            var first = runs[0].Cases[c];
            var query = perspectiveQueries.Single(q => q.Id == first.QueryId);
            var amplified = first.TowardFirst ? query.First : query.Second;
            Console.WriteLine($"| {first.QueryId} | {amplified.Latent}: {Label(amplified.Latent)} | {amplified.Documents.Count:N0} | "
                + $"{string.Join(" | ", runs.Select(run => $"{run.Cases[c].Before}/{run.Cases[c].After}"))} | {first.OtherBefore}/{first.OtherAfter} |");
        }

        var all = runs.SelectMany(run => run.Cases.Select(c => (run.Alpha, Case: c))).ToList();
        Console.WriteLine();
        foreach (var run in runs)
        {
            var raised = run.Cases.Count(c => c.After > c.Before);
            var lowered = run.Cases.Count(c => c.After < c.Before);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"α = {run.Alpha}: raised in {raised} of {run.Cases.Count} cases, lowered in {lowered}; mean B/A {run.Cases.Average(c => c.Before):F2}/{run.Cases.Average(c => c.After):F2}, other side {run.Cases.Average(c => c.OtherBefore):F2}/{run.Cases.Average(c => c.OtherAfter):F2}."));
            Console.WriteLine();
        }

        Console.WriteLine($"Top 5 before and after at α = {Alpha(alphas[0])} (✓: the document has the amplified perspective):");
        foreach (var c in runs[0].Cases)
        {
            var query = perspectiveQueries.Single(q => q.Id == c.QueryId);
            var amplified = c.TowardFirst ? query.First : query.Second;
            Console.WriteLine();
            Console.WriteLine($"**\"{c.QueryId}\", amplifying {amplified.Latent} ({Label(amplified.Latent)}): B/A {c.Before}/{c.After}**");
            Console.WriteLine();
            Console.WriteLine("| rank | before | after |");
            Console.WriteLine("|---|---|---|");
            for (var rank = 0; rank < c.TopBefore.Count; rank++)
            {
                string Cell(long r) => (amplified.Documents.Contains(r) ? "✓ " : "") + Document(r);
                Console.WriteLine($"| {rank + 1} | {Cell(c.TopBefore[rank])} | {(rank < c.TopAfter.Count ? Cell(c.TopAfter[rank]) : "")} |");
            }
        }

        return 0;
    }
}
