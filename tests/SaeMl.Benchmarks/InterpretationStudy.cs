using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Evaluation;
using SaeMl.Interpretation;

namespace SaeMl.Benchmarks;

/// <summary>
/// Interpretation of Table 1's K = 32 autoencoder on the demo world, checked against the planted concepts:
/// pure latents and their labels, label scores and the shuffled control, word saliency and its patterns, Zipf fits.
/// </summary>
internal static class InterpretationStudy
{
    public static Command Create()
    {
        var folder = new Option<string>("--folder") { Description = "The demo's folder; an earlier saeml demo run's is reused", DefaultValueFactory = _ => new DemoExperimentOptions().Folder };
        var latents = new Option<int>("--latents") { Description = "Alive latents interpreted (a random sample; all when larger)", DefaultValueFactory = _ => 300 };
        var atlas = new Option<string?>("--atlas") { Description = "Where to write the feature atlas (none when left out)" };
        var figure = new Option<string?>("--figure") { Description = "Where to write the rank-frequency figure (the paper's Figure 3) as a PNG" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs of the K = 32 autoencoder (trained and cached in the folder unless there)", DefaultValueFactory = _ => new DemoExperimentOptions().Epochs };
        var latentSize = new Option<int>("--latent-size") { Description = "n of the autoencoder", DefaultValueFactory = _ => new DemoExperimentOptions().LatentSize };
        var active = new Option<int>("--k") { Description = "K of the autoencoder", DefaultValueFactory = _ => 32 };
        var activation = new Option<SparseActivation>("--activation") { Description = "TopK or BatchTopK", DefaultValueFactory = _ => SparseActivation.TopK };
        var command = new Command("interpret", "Interpretation of a demo-world autoencoder (default objective; K = 32, n = 4,096 unless told) against the planted concepts") { folder, latents, atlas, epochs, figure, latentSize, active, activation };
        command.SetAction(parse => Run(parse.GetValue(folder)!, parse.GetValue(latents), parse.GetValue(atlas), parse.GetValue(epochs), parse.GetValue(figure), parse.GetValue(latentSize), parse.GetValue(active), parse.GetValue(activation)));
        return command;
    }

    /// <summary>Below this share of the documents a concept is not so common that a latent's top documents carry it by chance.</summary>
    private const double RareConceptShare = 0.1;

    private static int Run(string folder, int latentCount, string? atlasPath, int epochs, string? figurePath, int latentSize, int activeLatents, SparseActivation activation)
    {
        using var experiment = new DemoExperiment(new DemoExperimentOptions { Folder = folder, Device = ComputeDevice.Cpu, Epochs = epochs, LatentSize = latentSize });
        var model = experiment.DefaultObjectiveModel(activeLatents, activation);
        using var transformer = experiment.Prepare(model);
        using var embedder = experiment.CreateEmbedder();
        var autoencoder = transformer.Autoencoder;
        using var corpus = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Corpus));
        var world = experiment.World;
        var clock = Stopwatch.StartNew();
        var result = experiment.Interpret(autoencoder, embedder, latentCount);
        var seconds = clock.Elapsed.TotalSeconds;
        var scan = result.Scan;
        var alive = Enumerable.Range(0, autoencoder.LatentSize).Where(j => scan.Statistics.FireCounts[j] > 0).ToArray();
        var chosen = result.Labels.Keys.Order().ToArray();
        if (atlasPath is not null)
            result.Save(atlasPath);
        DemoConcept? Pure(int latent) => experiment.PlantedConcept(scan, latent);
        if (figurePath is not null)
        {
            DemoPlots.WriteRankFrequencyFigure(
                [("latents", scan.Statistics.FireCounts.ToArray()), (result.BagOfWordsUnit, result.BagOfWordsCounts)],
                figurePath, $"Document frequency by rank: the demo world, {model.Label}, {epochs} epochs");
        }

        var pure = chosen.Select(j => (Latent: j, Concept: Pure(j))).Where(p => p.Concept is not null).ToList();
        // A right label: its first three words are all the planted concept's.
        var missed = pure.Where(p => !(result.Labels[p.Latent].Succeeded && result.Labels[p.Latent].Text.Split(", ").Take(3).All(p.Concept!.Words.Contains))).ToList();
        var rightLabels = pure.Count - missed.Count;
        var scores = LabelScorer.Distribution(result.Scores.Values.Select(s => s.EmbeddingScore));
        var hardScores = LabelScorer.Distribution(result.Scores.Values.Select(s => s.HardNegativeScore));
        var randomScores = LabelScorer.Distribution(result.Scores.Values.Select(s => s.RandomNegativeScore));
        var pureScores = LabelScorer.Distribution(pure.Where(p => result.Scores.ContainsKey(p.Latent)).Select(p => result.Scores[p.Latent].EmbeddingScore));
        var labels = result.Labels.Values.Where(l => l.Succeeded && result.Scores.ContainsKey(l.Latent)).OrderBy(l => l.Latent).ToList();
        var scorer = LabelScorer.Create(autoencoder, corpus, scan, [.. labels.Select(l => l.Latent)]);
        var shuffled = LabelScorer.Distribution(scorer.EmbeddingScores(embedder, [.. labels.Select((l, i) => l with { Latent = labels[(i + labels.Count / 2) % labels.Count].Latent })]).Select(s => s.EmbeddingScore));
        // The ceiling of any label: the planted concept itself as the predictor (1 where a document carries it, else 0).
        var oracle = LabelScorer.Distribution(pure.Where(p => scorer.Examples.ContainsKey(p.Latent)).Select(p =>
        {
            var examples = scorer.Examples[p.Latent];
            double Carries(long row) => world.Documents[(int)row].Concepts.Contains(p.Concept!.Id) ? 1 : 0;
            return LabelScorer.Auroc([.. examples.Activating.Select(Carries)], [.. examples.NonActivating.Select(Carries)]);
        }));
        var carrying = pure.Where(p => scorer.Examples.ContainsKey(p.Latent))
            .Average(p => scorer.Examples[p.Latent].Activating.Average(row => world.Documents[(int)row].Concepts.Contains(p.Concept!.Id) ? 1.0 : 0));
        var corpusShare = new double[world.Concepts.Count];
        foreach (var document in world.Documents)
        {
            foreach (var c in document.Concepts)
                corpusShare[c] += 1.0 / world.Documents.Count;
        }

        var (salient, conceptWords) = (0, 0);
        var (rareSalient, rareConceptWords, rareLatents) = (0, 0, 0);
        foreach (var (latent, concept) in pure)
        {
            var words = result.Saliency[latent].SalientWords.Values.SelectMany(w => w).Select(w => w.Word).ToList();
            salient += words.Count;
            conceptWords += words.Count(concept!.Words.Contains);
            if (corpusShare[concept.Id] < RareConceptShare)
                (rareSalient, rareConceptWords, rareLatents) = (rareSalient + words.Count, rareConceptWords + words.Count(concept.Words.Contains), rareLatents + 1);
        }

        var precision = LabelScorer.Distribution(result.Saliency.Values.Select(s => s.Precision));
        var recall = LabelScorer.Distribution(result.Saliency.Values.Select(s => s.Recall));
        var (latentZipf, wordZipf) = (result.LatentZipf, result.BagOfWordsZipf);
        string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
        var originalMrr = experiment.Evaluate(null)[RetrievalEvaluation.Original].Metrics.MeanReciprocalRank;
        var evaluation = experiment.Evaluate(autoencoder);
        double Kept(string setting) => evaluation[setting].Metrics.MeanReciprocalRank / originalMrr;

        Console.WriteLine($"### Interpretation on the demo world: {model.Label}, {chosen.Length} of {alive.Length} alive latents (of {autoencoder.LatentSize})");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}. Model: {Path.GetFileName(model.Path)}. Scan of {corpus.RowCount:N0} documents, then saliency, labels, scores and neighbours of {chosen.Length} latents: {seconds:F1} s.");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| MRR kept, reconstructions / latents | {Kept(RetrievalEvaluation.Reconstructed):P1} / {Kept(RetrievalEvaluation.Latent):P1} |");
        Console.WriteLine($"| pure latents (≥ 80 % of the top 50 documents carry one concept) | {pure.Count} of {chosen.Length} ({pure.Count / (double)chosen.Length:P1}) |");
        Console.WriteLine($"| pure latents whose first three label words are all their concept's | {rightLabels} of {pure.Count} ({rightLabels / (double)Math.Max(1, pure.Count):P1}) |");
        Console.WriteLine($"| embedding score (AUROC), all labelled latents: quartiles | {F(scores.LowerQuartile)} / {F(scores.Median)} / {F(scores.UpperQuartile)} (n = {scores.Count}) |");
        Console.WriteLine($"| … against the hard negatives alone | {F(hardScores.LowerQuartile)} / {F(hardScores.Median)} / {F(hardScores.UpperQuartile)} |");
        Console.WriteLine($"| … against the random negatives alone | {F(randomScores.LowerQuartile)} / {F(randomScores.Median)} / {F(randomScores.UpperQuartile)} |");
        Console.WriteLine($"| embedding score, pure latents: quartiles | {F(pureScores.LowerQuartile)} / {F(pureScores.Median)} / {F(pureScores.UpperQuartile)} (n = {pureScores.Count}) |");
        Console.WriteLine($"| ceiling for pure latents, the planted concept as the predictor: quartiles | {F(oracle.LowerQuartile)} / {F(oracle.Median)} / {F(oracle.UpperQuartile)}; held-out activating documents that carry the concept: {carrying:P1} |");
        Console.WriteLine($"| embedding score with shuffled labels: quartiles | {F(shuffled.LowerQuartile)} / {F(shuffled.Median)} / {F(shuffled.UpperQuartile)} |");
        Console.WriteLine($"| salient words of pure latents that are their concept's words | {conceptWords} of {salient} ({conceptWords / (double)Math.Max(1, salient):P1}) |");
        // Per latent: the share of each pure latent's salient words that are its concept's, over the pure latents.
        var perLatent = pure.Select(p => result.Saliency[p.Latent].SalientWords.Values.SelectMany(w => w).Select(w => p.Concept!.Words.Contains(w.Word) ? 1.0 : 0).ToList())
            .Where(flags => flags.Count > 0).Select(flags => flags.Average()).ToList();
        var perLatentPrecision = LabelScorer.Distribution(perLatent);
        Console.WriteLine($"| … per pure latent: quartiles; latents at 0.9 or more | {F(perLatentPrecision.LowerQuartile)} / {F(perLatentPrecision.Median)} / {F(perLatentPrecision.UpperQuartile)}; {perLatent.Count(v => v >= 0.9)} of {perLatent.Count} |");
        Console.WriteLine($"| … of the {rareLatents} pure latents whose concept is in less than {RareConceptShare:P0} of the documents | {rareConceptWords} of {rareSalient} ({rareConceptWords / (double)Math.Max(1, rareSalient):P1}) |");
        // Recall's denominator: each analysed top document's distinct words of the latent's concept, among the words saliency reads.
        var analysedWords = new InterpretationOptions().SaliencyWords;
        var conceptWordsIn = pure.ToDictionary(p => p.Latent, p => result.Saliency[p.Latent].SalientWords.Keys.ToDictionary(row => row,
            row => DemoWorld.EmbeddingText(world.Documents[(int)row]).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Take(analysedWords).Where(p.Concept!.Words.Contains).ToHashSet()));
        foreach (var strength in new[] { 0.5, 0.7, 0.9 })
        {
            var strong = pure.SelectMany(p => result.Saliency[p.Latent].SalientWords.Values.SelectMany(w => w).Where(w => w.Strength >= strength).Select(w => p.Concept!.Words.Contains(w.Word))).ToList();
            var documents = pure.Sum(p => result.Saliency[p.Latent].SalientWords.Count);
            // Recall: of the concept's distinct words among a top document's analysed words, the share found salient.
            var present = conceptWordsIn.Values.Sum(rows => rows.Values.Sum(w => w.Count));
            var found = pure.Sum(p => result.Saliency[p.Latent].SalientWords.Sum(d =>
                d.Value.Where(w => w.Strength >= strength).Select(w => w.Word).Distinct().Count(conceptWordsIn[p.Latent][d.Key].Contains)));
            Console.WriteLine($"| … those at least {strength:P0} as strong as the document's strongest | {strong.Count(c => c)} of {strong.Count} ({strong.Count(c => c) / (double)Math.Max(1, strong.Count):P1}); {strong.Count / (double)Math.Max(1, documents):F1} per document; recall of the concept's words in the document {found} of {present} ({found / (double)Math.Max(1, present):P1}) |");
        }
        {
            // The salient words that are not the concept's: a word of another concept planted in the same document, or a filler word.
            var conceptOf = world.Concepts.SelectMany(c => c.Words.Select(w => (Word: w, c.Id))).DistinctBy(p => p.Word).ToDictionary(p => p.Word, p => p.Id);
            var (coPlanted, filler) = (0, 0);
            foreach (var (latent, concept) in pure)
            {
                foreach (var (row, words) in result.Saliency[latent].SalientWords)
                {
                    foreach (var word in words.Select(w => w.Word).Where(w => !concept!.Words.Contains(w)))
                    {
                        if (!conceptOf.TryGetValue(word, out var other))
                            filler++;
                        else if (world.Documents[(int)row].Concepts.Contains(other))
                            coPlanted++;
                    }
                }
            }
            Console.WriteLine($"| … the others: words of another concept planted in the same document / filler words | {coPlanted} / {filler} |");
        }
        foreach (var least in new[] { 2, 3 })
        {
            var recurring = pure.SelectMany(p => result.Saliency[p.Latent].SalientWords.Values.SelectMany(w => w.Select(x => x.Word).Distinct()).GroupBy(w => w)
                .Where(g => g.Count() >= least).Select(g => p.Concept!.Words.Contains(g.Key))).ToList();
            Console.WriteLine($"| … distinct words salient in at least {least} of a latent's top documents | {recurring.Count(c => c)} of {recurring.Count} ({recurring.Count(c => c) / (double)Math.Max(1, recurring.Count):P1}); {recurring.Count / (double)Math.Max(1, pure.Count):F1} per latent |");
        }
        Console.WriteLine($"| saliency patterns on held-out documents: median precision / recall | {F(precision.Median)} / {F(recall.Median)} |");
        Console.WriteLine($"| Zipf fit of latent document frequencies: exponent, R² | {F(latentZipf.Exponent)}, {F(latentZipf.RSquared)} ({latentZipf.Points} latents) |");
        Console.WriteLine($"| Zipf fit of {result.BagOfWordsUnit} document frequencies: exponent, R² | {F(wordZipf.Exponent)}, {F(wordZipf.RSquared)} ({wordZipf.Points} units) |");
        Console.WriteLine();
        Console.WriteLine("| latent | frequency | planted concept | label | embedding score | salient words (top document) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (latent, concept) in pure.Take(10))
        {
            var top = scan.Top.Of(latent)[0].Row;
            Console.WriteLine($"| {latent} | {scan.Statistics.Frequency(latent):P2} | {concept!.Name} | {result.Labels[latent].Text} | "
                + $"{(result.Scores.TryGetValue(latent, out var s) ? F(s.EmbeddingScore) : "–")} | {string.Join(", ", (result.Saliency[latent].SalientWords.GetValueOrDefault(top) ?? []).Select(w => w.Word))} |");
        }

        if (missed.Count > 0)
        {
            var conceptOfWord = world.Concepts.SelectMany(c => c.Words.Select(w => (w, c.Name))).ToDictionary(p => p.w, p => p.Name);
            Console.WriteLine();
            Console.WriteLine("Pure latents whose first three label words are not all their concept's (each other word with the concept it belongs to, or 'filler'):");
            Console.WriteLine();
            Console.WriteLine("| latent | planted concept | label | other words | concepts of the top 50 documents: share (share of the corpus) |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var (latent, concept) in missed)
            {
                var label = result.Labels[latent];
                var others = (label.Succeeded ? label.Text.Split(", ") : []).Take(3).Where(w => !concept!.Words.Contains(w)).Select(w => $"{w} ({conceptOfWord.GetValueOrDefault(w, "filler")})");
                var top = scan.Top.Of(latent).Take(50).Select(a => world.Documents[(int)a.Row]).ToList();
                var shares = top.SelectMany(d => d.Concepts).GroupBy(c => c).OrderByDescending(g => g.Count()).Take(3)
                    .Select(g => $"{world.Concepts[g.Key].Name} {g.Count() / (double)top.Count:P0} ({corpusShare[g.Key]:P1})");
                Console.WriteLine($"| {latent} | {concept!.Name} | {(label.Succeeded ? label.Text : label.Error)} | {string.Join(", ", others)} | {string.Join(", ", shares)} |");
            }
        }

        return 0;
    }
}
