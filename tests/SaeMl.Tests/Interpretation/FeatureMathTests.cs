using SaeMl.Interpretation;

namespace SaeMl.Tests.Interpretation;

/// <summary>Zipf fits, families, AUROC, quartiles and the log-odds z-score against hand-computed values.</summary>
public sealed class FeatureMathTests
{
    [Fact]
    public void The_checkpoint_key_changes_with_every_setting_nested_ones_included()
    {
        var key = FeatureInterpreter.SettingsKey(new InterpretationOptions());

        key.Should().Contain("\"LabelingDocuments\":20").And.Contain("\"TopDocuments\":50", "the options are fields, which the key must include");
        FeatureInterpreter.SettingsKey(new InterpretationOptions { LabelingDocuments = 21 }).Should().NotBe(key);
        FeatureInterpreter.SettingsKey(new InterpretationOptions { Scan = new FeatureScanOptions { TopDocuments = 49 } }).Should().NotBe(key);
        FeatureInterpreter.SettingsKey(new InterpretationOptions()).Should().Be(key);
    }

    [Fact]
    public void A_zipf_fit_recovers_the_exponent_of_a_power_law_and_finds_none_in_flat_counts()
    {
        var fit = ZipfFit.Of(Enumerable.Range(1, 200).Select(r => (long)Math.Round(1e6 / Math.Pow(r, 1.5))).Reverse());
        fit.Exponent.Should().BeApproximately(1.5, 0.01);
        fit.RSquared.Should().BeGreaterThan(0.999);
        fit.Points.Should().Be(200);
        ZipfFit.Of([5, 5, 5, 5, 0]).Exponent.Should().BeApproximately(0, 1e-12, "equal counts have no slope; the zero is left out");
        FluentActions.Invoking(() => ZipfFit.Of([3, 0])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Families_follow_the_maximum_spanning_tree_cut_at_the_strength_threshold()
    {
        var cooccurrence = new LatentCooccurrence(6);
        for (var i = 0; i < 10; i++)
        {
            cooccurrence.AddDocument([0, 1, 2], [1, 1, 1]);          // 0, 1, 2 fire together ten times
            cooccurrence.AddDocument([3, 4], [1, 1]);
        }

        for (var i = 0; i < 5; i++)
            cooccurrence.AddDocument([0, 5], [1, 0]);                  // 5 never fires (value 0); 0 becomes the most frequent
        cooccurrence.AddDocument([2, 3], [1, 1]);                       // one weak link between the two groups
        cooccurrence.Strength(0, 1).Should().BeApproximately(10 / Math.Sqrt(15.0 * 10), 1e-12);
        cooccurrence.Together(2, 3).Should().Be(1);

        var families = cooccurrence.Families(minimumStrength: 0.2, minimumTogether: 3);
        families.Groups().Select(g => g.Members).Should().BeEquivalentTo(new[] { new[] { 0, 1, 2 }, new[] { 3, 4 } }, o => o.WithStrictOrdering());
        families.RootOf(1).Should().Be(0, "the most frequent latent roots its family");
        families.ParentOf(0).Should().Be(-1);
        (families.ParentOf(1), families.ParentOf(2), families.ParentOf(4)).Should().Be((0, 1, 3), "the tree keeps the strongest edges 1–2 and 0–1, so 2 hangs from 1");
        families.StrengthToParent(4).Should().BeApproximately(10 / Math.Sqrt(11.0 * 10), 1e-12);
        families.RootOf(5).Should().Be(5, "a latent that never fires is a family of one");
        cooccurrence.Families(minimumStrength: 0.0, minimumTogether: 1).Groups().Should().ContainSingle("the weak link joins everything at no threshold");
    }

    [Fact]
    public void Auroc_counts_ties_as_half_and_quartiles_interpolate()
    {
        LabelScorer.Auroc([0.9, 0.8, 0.5], [0.5, 0.1]).Should().BeApproximately((2 + 2 + 1.5) / 6.0, 1e-12);
        LabelScorer.Auroc([0.1], [0.9]).Should().Be(0);
        LabelScorer.Auroc([], [0.9]).Should().Be(double.NaN);
        FluentActions.Invoking(() => LabelScorer.Auroc([double.NaN], [0.9])).Should().Throw<ArgumentException>().WithMessage("*NaN*");
        var (lower, median, upper, count) = LabelScorer.Distribution([4, 1, 3, 2, double.NaN]);
        (lower, median, upper, count).Should().Be((1.75, 2.5, 3.25, 4));
    }

    [Fact]
    public void The_log_odds_z_score_matches_the_formula_by_hand()
    {
        // A word in 8 of 10 foreground word-documents and 50 of 10,000 background ones, prior 100 pseudo-counts
        // (α_w = 0.5): δ = ln(8.5/101.5) − ln(50.5/10,049.5) = 2.8133…, σ² = 1/8.5 + 1/50.5, z = 7.5883…
        // (worked by hand with a calculator, not with the code under test).
        LocalLabeler.ZScore(8, 10, 50, 10_000).Should().BeApproximately(7.588345112, 1e-8);
        LocalLabeler.ZScore(1, 10, 5000, 10_000).Should().BeLessThan(0, "a word rarer in the top documents than in the corpus is not distinctive");
    }

    [Fact]
    public async Task The_local_labeler_names_what_the_top_documents_share_and_the_corpus_does_not()
    {
        var corpus = Enumerable.Range(0, 200).Select(i => $"the report of day {i} mentions weather and traffic").ToList();
        corpus.AddRange(Enumerable.Range(0, 20).Select(i => $"the vaccine trial at site{i}a measured immune response in cohort{i}b group{i}c"));
        var labeler = new LocalLabeler(WordCounts.Of(corpus), words: 3);
        var top = corpus.Skip(200).Select(t => new LabelingExample(t, 1f, [])).ToList();
        var label = await labeler.LabelAsync(new LabelingExamples(7, top, []));
        label.Succeeded.Should().BeTrue();
        label.Text.Split(", ").Should().BeSubsetOf(["vaccine", "trial", "measured", "immune", "response", "at", "in"], "the words all top documents share and the corpus lacks").And.HaveCount(3);
        (await labeler.LabelAsync(new LabelingExamples(8, [new LabelingExample("lonely words", 1f, [])], []))).Error.Should().Contain("2 or more");

        // Near-duplicates count once: five copies of one text (plus one word each) and two other texts.
        var family = Enumerable.Range(0, 5).Select(i => $"libreoffice office suite featured near drop replacement for other productivity tools variant{i}")
            .Concat(["vaccine immune response trial", "immune vaccine safety study"]).Select(t => new LabelingExample(t, 1f, [])).ToList();
        // Three counted documents are too few for any word to reach z 1.96 (vaccine: z 1.43 by hand), so the z floor is lifted here.
        var anyZ = new LocalLabeler(WordCounts.Of(corpus), words: 3, minimumZ: double.NegativeInfinity);
        var deduplicated = await anyZ.LabelAsync(new LabelingExamples(9, family, []));
        deduplicated.Text.Split(", ").Should().BeEquivalentTo(["vaccine", "immune"], "the family's words occur in one counted document, below the two a label word needs");
        (await labeler.LabelAsync(new LabelingExamples(9, family, []))).Succeeded.Should().BeFalse("with the default floor, two of three documents are not evidence enough");
        WordCounts.Words("Hello, WORLD! x y2 Ünïcode's").Should().Equal("hello", "world", "ünïcode");
    }

    [Fact]
    public async Task A_word_the_top_documents_hold_no_more_often_than_the_corpus_is_no_label_word()
    {
        // "package" is in half of the top documents and half of the corpus; "topic" in 6 of the 20 top documents and nowhere else.
        string TopDocument(int i, bool withTopic) => $"u{i}a u{i}b" + (i % 2 == 0 ? " package" : "") + (withTopic && i < 6 ? " topic" : "");
        var corpus = Enumerable.Range(0, 20).Select(i => TopDocument(i, withTopic: true))
            .Concat(Enumerable.Range(0, 380).Select(i => $"v{i}a v{i}b" + (i % 2 == 0 ? " package" : ""))).ToList();
        LabelingExamples Top(bool withTopic) => new(4, [.. Enumerable.Range(0, 20).Select(i => new LabelingExample(TopDocument(i, withTopic), 1f, []))], []);
        var labeler = new LocalLabeler(WordCounts.Of(corpus));
        var everyZ = new LocalLabeler(WordCounts.Of(corpus), minimumZ: double.NegativeInfinity);

        (await labeler.LabelAsync(Top(withTopic: true))).Text.Should().Be("topic");
        (await everyZ.LabelAsync(Top(withTopic: true))).Text.Split(", ").Should().Equal(["topic", "package"], "the control: without the z-score floor the common word fills the label");
        var none = await labeler.LabelAsync(Top(withTopic: false));
        none.Succeeded.Should().BeFalse();
        none.Error.Should().Be("No word occurs in 5 or more of the latent's 20 distinct top documents with a z-score of 1.96 or more over the corpus.");
        labeler.Name.Should().Be("local:words=5,documents=2,share=0.25,z=1.96,stop=english");
        var unshared = new LabelingExamples(4, [.. Enumerable.Range(0, 20).Select(i => new LabelingExample($"u{i}a u{i}b", 1f, []))], []);
        (await everyZ.LabelAsync(unshared)).Error.Should().Be("No word occurs in 5 or more of the latent's 20 distinct top documents.", "without a floor the error names none");
        FluentActions.Invoking(() => new LocalLabeler(WordCounts.Of(corpus), minimumZ: double.NaN)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumZ");
        FluentActions.Invoking(() => new LocalLabeler(WordCounts.Of(corpus), minimumZ: double.PositiveInfinity)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumZ");
    }

    [Fact]
    public async Task Function_words_are_never_label_words_unless_the_stop_words_are_changed()
    {
        // Ten unrelated top documents share "it" and "that" far more often than the 400-document corpus does, and nothing else.
        var top = Enumerable.Range(0, 10).Select(i => $"u{i}a u{i}b it that").ToList();
        var corpus = top.Concat(Enumerable.Range(0, 390).Select(i => $"v{i}a v{i}b" + (i % 20 == 0 ? " it that" : ""))).ToList();
        var examples = new LabelingExamples(7, [.. top.Select(t => new LabelingExample(t, 1f, []))], []);

        var english = await new LocalLabeler(WordCounts.Of(corpus)).LabelAsync(examples);
        var none = new LocalLabeler(WordCounts.Of(corpus), stopWords: new HashSet<string>());
        var ownWords = new HashSet<string> { "IT" };
        var own = new LocalLabeler(WordCounts.Of(corpus), stopWords: ownWords);
        ownWords.Add("that"); // the labeler keeps its own copy, spelt as labels spell words

        english.Succeeded.Should().BeFalse("'it' and 'that' are English function words");
        (await none.LabelAsync(examples)).Text.Split(", ").Should().BeEquivalentTo(["it", "that"], "the control: without stop words their z-scores make them the label");
        (await own.LabelAsync(examples)).Text.Should().Be("that");
        LocalLabeler.EnglishFunctionWords.Should().Contain(["it", "that", "at", "also", "from", "the"]).And.NotContain(["package", "library", "rain"]);
        none.Name.Should().EndWith(",stop=none");
        own.Name.Should().MatchRegex(",stop=[0-9a-f]{12}$", "another set is named by a digest, so its labels are cached apart");
    }

    [Fact]
    public async Task A_second_topic_in_a_few_top_documents_does_not_outrank_what_all_of_them_share()
    {
        // Twenty top documents share "alpha beta gamma" (half the corpus has them); four of them also hold "rare1 rare2 rare3",
        // found nowhere else. By log-odds alone the rare words win; they are in 4 of 20 top documents, below the default quarter.
        var top = Enumerable.Range(0, 20).Select(i => $"alpha beta gamma u{i}a u{i}b u{i}c u{i}d" + (i < 4 ? " rare1 rare2 rare3" : string.Empty)).ToList();
        var corpus = top.Concat(Enumerable.Range(0, 180).Select(i => $"alpha beta gamma v{i}a v{i}b v{i}c"))
            .Concat(Enumerable.Range(0, 200).Select(i => $"filler w{i}a w{i}b w{i}c")).ToList();
        var examples = new LabelingExamples(3, [.. top.Select(t => new LabelingExample(t, 1f, []))], []);

        // Half the corpus holds "alpha beta gamma", so their z-scores are about 1.06 (by hand): the share rule is shown without the z floor.
        var label = await new LocalLabeler(WordCounts.Of(corpus), words: 3, minimumZ: double.NegativeInfinity).LabelAsync(examples);
        var rarityFirst = await new LocalLabeler(WordCounts.Of(corpus), words: 3, minimumShare: 0, minimumZ: double.NegativeInfinity).LabelAsync(examples);

        label.Text.Split(", ").Should().BeEquivalentTo(["alpha", "beta", "gamma"]);
        (await new LocalLabeler(WordCounts.Of(corpus), words: 3).LabelAsync(examples)).Succeeded.Should().BeFalse("words half the corpus holds are not over-represented enough to name the latent");
        rarityFirst.Text.Split(", ").Should().BeEquivalentTo(["rare1", "rare2", "rare3"], "the control: without the share the second topic's rarity wins");
        var withQuintet = top.Select((t, i) => i < 5 ? t + " quintet" : t).ToList();
        new LocalLabeler(WordCounts.Of(corpus), minimumZ: double.NegativeInfinity).DistinctiveWords(withQuintet).Select(w => w.Word).Should()
            .Contain("quintet", "5 of 20 documents is exactly a quarter").And.NotContain("rare1", "4 of 20 is less");
        new LocalLabeler(WordCounts.Of(corpus), minimumShare: 0.3, minimumZ: double.NegativeInfinity).DistinctiveWords(withQuintet).Select(w => w.Word).Should().NotContain("quintet", "0.3 × 20 asks for 6");
        FluentActions.Invoking(() => new LocalLabeler(WordCounts.Of(corpus), minimumShare: 1.5)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumShare");
        FluentActions.Invoking(() => new LocalLabeler(WordCounts.Of(corpus), minimumShare: -0.1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumShare");
        FluentActions.Invoking(() => new LocalLabeler(WordCounts.Of(corpus), minimumShare: double.NaN)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumShare");
    }
}
