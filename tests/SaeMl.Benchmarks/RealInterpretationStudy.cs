using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;

namespace SaeMl.Benchmarks;

/// <summary>
/// Interpretation on real text with a real model: an autoencoder trained on a real model's embeddings of
/// a BEIR corpus (the Debian set of <c>real-set</c>), its latents labelled locally, the labels scored with
/// the model's query side, and the share of latents whose top documents hang together.
/// </summary>
internal static class RealInterpretationStudy
{
    public static Command Create()
    {
        var set = new Option<string>("--set") { Description = "The BEIR folder (corpus.jsonl; model/ as real-set extracts it)", Required = true };
        var store = new Option<string>("--corpus") { Description = "The corpus embedding store of that folder's corpus, by the same model", Required = true };
        var model = new Option<string>("--model") { Description = "The autoencoder's model zip", Required = true };
        var realModel = new Option<string>("--embedder") { Description = "The real model that embedded the corpus", DefaultValueFactory = _ => RealModel.ArcticXs.Name };
        var latents = new Option<int>("--latents") { Description = "Alive latents interpreted (a random sample, seed 1)", DefaultValueFactory = _ => 200 };
        var saliency = new Option<int>("--saliency") { Description = "Top documents per latent whose word saliency is computed (0: none)", DefaultValueFactory = _ => 0 };
        var atlas = new Option<string?>("--atlas") { Description = "Where to write the feature atlas" };
        var command = new Command("interpret-real", "Interpretation of an autoencoder on a real model's embeddings of real text") { set, store, model, realModel, latents, saliency, atlas };
        command.SetAction(parse => Run(parse.GetValue(set)!, parse.GetValue(store)!, parse.GetValue(model)!, RealModel.Named(parse.GetValue(realModel)!),
            parse.GetValue(latents), parse.GetValue(saliency), parse.GetValue(atlas)));
        return command;
    }

    private static int Run(string setFolder, string storePath, string modelPath, RealModel realModel, int latentCount, int saliencyDocuments, string? atlasPath)
    {
        using var transformer = SparseAutoencoderTransformer.Load(modelPath, ComputeDevice.Cpu);
        var autoencoder = transformer.Autoencoder;
        using var corpus = EmbeddingStore.Open(storePath);
        var records = BeirReader.ReadCorpus(setFolder).ToList();
        using var documents = realModel.CreateEmbedder(Path.Combine(setFolder, "model"), query: false);
        using var queries = realModel.CreateEmbedder(Path.Combine(setFolder, "model"), query: true);
        var interpreter = new FeatureInterpreter(autoencoder, corpus, [.. records.Select(r => r.EmbeddingText)], [.. records.Select(r => r.Id)],
            new InterpretationOptions { SaliencyDocuments = saliencyDocuments })
        {
            DocumentEmbedder = documents,
            QueryEmbedder = queries,
        };

        var clock = Stopwatch.StartNew();
        var scan = interpreter.Scan();
        var scanSeconds = clock.Elapsed.TotalSeconds;
        var statistics = scan.Statistics;
        var alive = Enumerable.Range(0, autoencoder.LatentSize).Where(j => statistics.FireCounts[j] > 0).ToArray();
        var sample = new Random(1);
        var chosen = alive.OrderBy(_ => sample.Next()).Take(latentCount).Order().ToArray();
        clock.Restart();
        var result = interpreter.InterpretAsync(scan, chosen, new LocalLabeler(interpreter.Words)).GetAwaiter().GetResult();
        var interpretSeconds = clock.Elapsed.TotalSeconds;
        if (atlasPath is not null)
            result.Save(atlasPath);

        var scores = result.Scores.Values.ToList();
        var all = LabelScorer.Distribution(scores.Select(s => s.EmbeddingScore));
        var hard = LabelScorer.Distribution(scores.Select(s => s.HardNegativeScore));
        var random = LabelScorer.Distribution(scores.Select(s => s.RandomNegativeScore));
        var labels = result.Labels.Values.Where(l => l.Succeeded && result.Scores.ContainsKey(l.Latent)).OrderBy(l => l.Latent).ToList();
        var scorer = LabelScorer.Create(autoencoder, corpus, scan, [.. labels.Select(l => l.Latent)]);
        var shuffled = LabelScorer.Distribution(scorer.EmbeddingScores(queries, [.. labels.Select((l, i) => l with { Latent = labels[(i + labels.Count / 2) % labels.Count].Latent })]).Select(s => s.EmbeddingScore));

        // Coherence: mean pairwise cosine of a latent's top 10 documents, against the 95th percentile of random groups of 10.
        var d = corpus.Dimension;
        double Coherence(IReadOnlyList<long> rows)
        {
            var vectors = rows.Select(r => { var v = new float[d]; corpus.ReadRows(r, v); return v; }).ToArray();
            var sum = 0.0;
            var pairs = 0;
            for (var i = 0; i < vectors.Length; i++)
            {
                for (var j = i + 1; j < vectors.Length; j++, pairs++)
                    sum += TensorPrimitives.CosineSimilarity(vectors[i], vectors[j]);
            }

            return sum / pairs;
        }

        var groups = new Random(2);
        var baseline = Enumerable.Range(0, 500).Select(_ => Coherence([.. Enumerable.Range(0, 10).Select(_ => groups.NextInt64(corpus.RowCount))])).Order().ToArray();
        var threshold = baseline[(int)(0.95 * baseline.Length)];
        var coherent = chosen.Count(j => scan.Top.Of(j).Length >= 10 && Coherence([.. scan.Top.Of(j).Take(10).Select(a => a.Row)]) > threshold);
        var frequencies = chosen.Select(j => statistics.Frequency(j)).Order().ToArray();

        // Word saliency's speed with the real model: the top 20 documents of the most frequent interpreted latent, one call.
        var busiest = chosen.MaxBy(j => statistics.FireCounts[j]);
        var saliencyTexts = scan.Top.Of(busiest).Take(20).Select(a => records[(int)a.Row].EmbeddingText).ToList();
        var variantsBefore = documents.Statistics.Texts;
        clock.Restart();
        WordSaliency.Compute(documents, autoencoder, busiest, saliencyTexts);
        var saliencySeconds = clock.Elapsed.TotalSeconds;
        var variants = documents.Statistics.Texts - variantsBefore;
        string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

        Console.WriteLine($"### Interpretation on real text: {Path.GetFileName(modelPath)} over {realModel.Name} embeddings of {corpus.RowCount:N0} documents, {chosen.Length} of {alive.Length} alive latents (of {autoencoder.LatentSize:N0}, K = {autoencoder.ActiveLatents})");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}. Scan: {scanSeconds:F1} s; labels, scores{(saliencyDocuments > 0 ? ", saliency" : "")} and neighbours: {interpretSeconds:F1} s.");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| dead latents | {statistics.DeadLatents().Count:N0} of {autoencoder.LatentSize:N0} |");
        Console.WriteLine($"| document frequency of the interpreted latents: quartiles | {frequencies[frequencies.Length / 4]:P2} / {frequencies[frequencies.Length / 2]:P2} / {frequencies[3 * frequencies.Length / 4]:P2} |");
        Console.WriteLine($"| embedding score (AUROC): quartiles | {F(all.LowerQuartile)} / {F(all.Median)} / {F(all.UpperQuartile)} (n = {all.Count}) |");
        Console.WriteLine($"| … against the hard negatives alone | {F(hard.LowerQuartile)} / {F(hard.Median)} / {F(hard.UpperQuartile)} |");
        Console.WriteLine($"| … against the random negatives alone | {F(random.LowerQuartile)} / {F(random.Median)} / {F(random.UpperQuartile)} |");
        Console.WriteLine($"| embedding score with shuffled labels: quartiles | {F(shuffled.LowerQuartile)} / {F(shuffled.Median)} / {F(shuffled.UpperQuartile)} |");
        Console.WriteLine($"| latents whose top 10 documents hang together (mean pairwise cosine above the 95th percentile of random groups of 10, {F(threshold)}) | {coherent} of {chosen.Length} ({coherent / (double)chosen.Length:P1}) |");
        Console.WriteLine($"| word saliency with {realModel.Name} (first 64 words, batches of {new Embedding.TextEmbedderOptions().BatchSize}) | {saliencyTexts.Count / saliencySeconds:F2} documents/s ({variants:N0} variants, {variants / saliencySeconds:F0} texts/s) |");
        Console.WriteLine($"| Zipf fit of latent document frequencies: exponent, R² | {F(result.LatentZipf.Exponent)}, {F(result.LatentZipf.RSquared)} |");
        Console.WriteLine($"| Zipf fit of {result.BagOfWordsUnit} document frequencies: exponent, R² | {F(result.BagOfWordsZipf.Exponent)}, {F(result.BagOfWordsZipf.RSquared)} |");
        Console.WriteLine();
        Console.WriteLine("| latent | frequency | label | embedding score | top documents |");
        Console.WriteLine("|---|---|---|---|---|");
        var byId = records.Select((r, i) => (r, i)).ToDictionary(p => (long)p.i, p => p.r);
        foreach (var latent in chosen.Where(j => result.Scores.ContainsKey(j)).Take(10))
        {
            var top = scan.Top.Of(latent).Take(3).Select(a => $"{byId[a.Row].Id}: {Snippet(byId[a.Row].Text)}");
            Console.WriteLine($"| {latent} | {statistics.Frequency(latent):P2} | {result.Labels[latent].Text} | {F(result.Scores[latent].EmbeddingScore)} | {string.Join("<br>", top)} |");
        }

        return 0;
    }

    private static string Snippet(string text) => (text.Length <= 90 ? text : text[..90] + "…").Replace("|", "\\|", StringComparison.Ordinal);
}
