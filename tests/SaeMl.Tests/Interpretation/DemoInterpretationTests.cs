using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Interpretation;
using Xunit.Abstractions;

namespace SaeMl.Tests.Interpretation;

/// <summary>Interpretation checked against the demo world's planted concepts, the ground truth.</summary>
public sealed class DemoInterpretationTests(DemoInterpretationFixture demo, ITestOutputHelper output) : IClassFixture<DemoInterpretationFixture>
{
    [Fact]
    public void Labels_of_pure_latents_are_their_concept_words()
    {
        var pure = demo.Alive.Select(j => (Latent: j, Concept: demo.PureConcept(j))).Where(p => p.Concept is not null).ToList();
        var correct = pure.Count(p => LabelWords(p.Latent).Take(3).All(p.Concept!.Words.Contains));
        output.WriteLine($"{pure.Count} of {demo.Alive.Length} alive latents are pure; {correct} of them carry only their concept's words in the first three label words");
        pure.Count.Should().BeGreaterThan(demo.Alive.Length / 3, "most latents of an SAE on planted concepts are tied to one concept");
        correct.Should().BeGreaterThanOrEqualTo((int)Math.Ceiling(0.9 * pure.Count));
    }

    [Fact]
    public void Label_embedding_scores_are_high_and_fall_to_chance_when_labels_are_shuffled()
    {
        var scores = demo.Result.Scores.Values.Select(s => s.EmbeddingScore).ToList();
        var (lower, median, upper, count) = LabelScorer.Distribution(scores);
        output.WriteLine($"embedding score over {count} labelled latents: quartiles {lower:F3} / {median:F3} / {upper:F3}");
        count.Should().BeGreaterThan(demo.Alive.Length / 2);
        median.Should().BeGreaterThanOrEqualTo(0.7, "labels separate where a latent fires from where it does not (docs/results.md records the demo's distribution)");

        var labels = demo.Result.Labels.Values.Where(l => l.Succeeded && demo.Result.Scores.ContainsKey(l.Latent)).OrderBy(l => l.Latent).ToList();
        var shuffled = labels.Select((l, i) => l with { Latent = labels[(i + labels.Count / 2) % labels.Count].Latent }).ToList();
        var scorer = LabelScorer.Create(demo.Autoencoder, demo.Corpus, demo.Scan, [.. labels.Select(l => l.Latent)]);
        var control = LabelScorer.Distribution(scorer.EmbeddingScores(demo.Embedder, shuffled).Select(s => s.EmbeddingScore));
        output.WriteLine($"shuffled labels: median {control.Median:F3}");
        control.Median.Should().BeInRange(0.4, 0.6, "a label scored against another latent's documents is at chance");
        median.Should().BeGreaterThan(control.Median + 0.15);
    }

    [Fact]
    public void Salient_words_of_pure_latents_are_their_concept_words_and_the_patterns_predict_firing()
    {
        var (salient, conceptWords) = (0, 0);
        foreach (var latent in demo.Alive)
        {
            if (demo.PureConcept(latent) is not { } concept || !demo.Result.Saliency.TryGetValue(latent, out var saliency))
                continue;
            var words = saliency.SalientWords.Values.SelectMany(w => w).Select(w => w.Word).ToList();
            salient += words.Count;
            conceptWords += words.Count(concept.Words.Contains);
        }

        var precision = (double)conceptWords / salient;
        var patterns = demo.Result.Saliency.Values.Where(s => !double.IsNaN(s.Precision)).ToList();
        var (_, patternPrecision, _, _) = LabelScorer.Distribution(patterns.Select(s => s.Precision));
        var (_, patternRecall, _, _) = LabelScorer.Distribution(patterns.Select(s => s.Recall));
        output.WriteLine($"salient words of pure latents: {conceptWords} of {salient} are concept words ({precision:P1}); held-out pattern precision median {patternPrecision:F3}, recall median {patternRecall:F3}");
        salient.Should().BeGreaterThan(100);
        precision.Should().BeGreaterThanOrEqualTo(0.85, "salient words are the concept's words (92 % at the demo's size, docs/results.md)");
        patternPrecision.Should().BeGreaterThan(0.7, "where a pattern matches, the latent fires");
    }

    [Fact]
    public async Task A_thresholded_autoencoder_s_atlas_keeps_its_threshold_and_a_TopK_atlas_holds_zero()
    {
        using var thresholded = SparseAutoencoder.FromWeights(demo.Autoencoder.GetWeights(), 2 * DemoInterpretationFixture.ActiveLatents, 0.05f, ComputeDevice.Cpu);
        var interpreter = new FeatureInterpreter(thresholded, demo.Corpus, demo.Texts, demo.Ids);
        var result = await interpreter.InterpretAsync(interpreter.Scan(), [.. demo.Alive.Take(3)], new LocalLabeler(interpreter.Words));
        var (withThreshold, topK) = (Path.Combine(demo.Folder, "thresholded.sqlite"), Path.Combine(demo.Folder, "topk.sqlite"));
        result.Save(withThreshold);
        demo.Result.Save(topK);

        string Report(string atlasPath)
        {
            using var atlas = FeatureAtlas.Open(atlasPath);
            var folder = atlasPath + "-report";
            SaeMl.Cli.Reports.FeatureReport.Write(folder, atlas, demo.Ids, demo.Texts, preview: null, resultsFolder: null);
            return File.ReadAllText(Path.Combine(folder, "index.html"));
        }

        using (var atlas = FeatureAtlas.Open(withThreshold))
            (atlas.ActiveLatents, atlas.ActivationThreshold, atlas.ModelIdentity).Should().Be((16, 0.05f, FeatureAtlas.IdentityOf(thresholded)));
        using (var atlas = FeatureAtlas.Open(topK))
            (atlas.ActiveLatents, atlas.ActivationThreshold).Should().Be((DemoInterpretationFixture.ActiveLatents, 0f), "the control: a TopK autoencoder has no threshold");
        Report(withThreshold).Should().Contain("active per document<b>at most K = 16 above θ = 0.05</b>");
        Report(topK).Should().Contain("active per document<b>K = 8</b>").And.NotContain("θ");
    }

    [Fact]
    public async Task The_atlas_reopens_with_the_same_cards_and_a_second_run_asks_the_labeler_nothing_unless_its_settings_changed()
    {
        var path = Path.Combine(demo.Folder, "atlas.sqlite");
        demo.Result.Save(path);
        Directory.GetFiles(demo.Folder, "atlas.sqlite*").Should().Equal([path], "the atlas is written under a temporary name and renamed");
        using (var atlas = FeatureAtlas.Open(path))
        {
            atlas.ModelIdentity.Should().Be(FeatureAtlas.IdentityOf(demo.Autoencoder));
            atlas.CorpusRows.Should().Be(demo.Texts.Count);
            foreach (var latent in new[] { demo.Alive[0], demo.Alive[^1], demo.Alive[demo.Alive.Length / 2] })
            {
                var expected = demo.Result.Card(latent);
                atlas.Card(latent).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering().Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-9)).WhenTypeIs<double>());
            }

            var zipf = atlas.Zipf();
            zipf.Keys.Should().BeEquivalentTo("latents", "wordpiece tokens");
            output.WriteLine($"Zipf: latents s = {zipf["latents"].Exponent:F2} (R² {zipf["latents"].RSquared:F3}); wordpiece tokens s = {zipf["wordpiece tokens"].Exponent:F2} (R² {zipf["wordpiece tokens"].RSquared:F3})");
            var counting = new CountingLabeler(new LocalLabeler(demo.Interpreter.Words));
            atlas.Labels(counting.Name).Should().HaveCount(demo.Result.Labels.Count);
            var again = await demo.Interpreter.InterpretAsync(demo.Scan, demo.Alive, counting, atlas);
            counting.Calls.Should().Be(demo.Result.Labels.Values.Count(l => !l.Succeeded), "only latents without a label are asked again");
            again.Labels.Values.Where(l => l.Succeeded).Should().BeEquivalentTo(demo.Result.Labels.Values.Where(l => l.Succeeded));
            var otherShare = new CountingLabeler(new LocalLabeler(demo.Interpreter.Words, minimumShare: 0));
            otherShare.Name.Should().NotBe(counting.Name);
            await demo.Interpreter.InterpretAsync(demo.Scan, demo.Alive, otherShare, atlas);
            otherShare.Calls.Should().Be(demo.Result.Labels.Count, "labels given under another minimum share are not reused");

            var someLabel = demo.Result.Labels.Values.First(l => l.Succeeded);
            atlas.FindByLabel(someLabel.Text.Split(", ")[0]).Select(f => f.Latent).Should().Contain(someLabel.Latent);
        }

        File.WriteAllText(Path.Combine(demo.Folder, "not-an-atlas.sqlite"), "plain text");
        FluentActions.Invoking(() => FeatureAtlas.Open(Path.Combine(demo.Folder, "not-an-atlas.sqlite"))).Should().Throw<FormatException>().WithMessage("*not-an-atlas.sqlite*");
        FluentActions.Invoking(() => FeatureAtlas.Open(Path.Combine(demo.Folder, "missing.sqlite"))).Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void Top_latents_of_a_concept_query_include_a_latent_labelled_with_that_concept()
    {
        var concept = demo.Alive.Select(j => demo.PureConcept(j)).First(c => c is not null)!;
        var latents = TextLatents.Of(demo.Embedder, demo.Autoencoder, [string.Join(' ', concept.Words.Take(4))])[0];
        latents.Select(l => l.Value).Should().BeInDescendingOrder();
        latents.Take(3).Select(l => demo.PureConcept(l.Latent)).Should().Contain(concept);
    }

    private IEnumerable<string> LabelWords(int latent) =>
        demo.Result.Labels.TryGetValue(latent, out var label) && label.Succeeded ? label.Text.Split(", ") : [];

    private sealed class CountingLabeler(IFeatureLabeler inner) : IFeatureLabeler
    {
        private int _calls;

        /// <summary>Labels asked for; the interpreter asks several at a time, so the count is kept atomically.</summary>
        public int Calls => Volatile.Read(ref _calls);

        public string Name => inner.Name;

        public Task<FeatureLabel> LabelAsync(LabelingExamples examples, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return inner.LabelAsync(examples, cancellationToken);
        }
    }
}
