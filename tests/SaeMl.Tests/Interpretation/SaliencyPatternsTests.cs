using SaeMl.Interpretation;

namespace SaeMl.Tests.Interpretation;

/// <summary>The pattern trie and word saliency's choice of salient words, on hand-made saliency.</summary>
public sealed class SaliencyPatternsTests
{
    [Fact]
    public void Salient_words_clear_half_the_strongest_excess_over_the_baseline()
    {
        // Excess over the empty text: 0.01, 0.4, 0.15, 0.4.
        var saliency = new WordSaliency(["the", "Storm", "hit", "storm"], 0.9f, new float[4], new float[4], [0.11f, 0.5f, 0.25f, 0.5f], Baseline: 0.1f);
        saliency.SalientPositions().Should().Equal([1, 3], "only the storms clear half of the largest excess (0.2)");
        saliency.SalientPositions(share: 0.3).Should().Equal(1, 3, 2);
        saliency.SalientWords(share: 0.3).Should().Equal("Storm", "storm", "hit");
        saliency.Salient(share: 0.3).Select(w => w.Word).Should().Equal("Storm", "storm", "hit");
        saliency.Salient(share: 0.3).Select(w => w.Strength).Should().Equal([1f, 1f, 0.375f], (a, b) => Math.Abs(a - b) < 1e-6, "0.15 of the largest excess 0.4");
        new WordSaliency(["a"], 0.1f, [0.1f], [0f], [0.05f], 0.1f).SalientPositions().Should().BeEmpty("no word fires the latent above the empty text");
    }

    [Fact]
    public void Patterns_seen_in_two_documents_predict_firing_and_rarer_ones_are_pruned()
    {
        WordSaliency Document(params (string Word, float Alone)[] words) =>
            new([.. words.Select(w => w.Word)], 1f, new float[words.Length], new float[words.Length], [.. words.Select(w => w.Alone)], 0f);
        var patterns = SaliencyPatterns.Build(
        [
            Document(("heavy", 0.9f), ("rain", 1f), ("today", 0f)),
            Document(("the", 0f), ("heavy", 0.8f), ("rain.", 1f)),
            Document(("snow", 1f), ("fell", 0f)),
        ]);
        patterns.Patterns.Should().BeEquivalentTo(new[] { ("heavy rain", 2), ("rain", 2), ("heavy", 2) });
        patterns.Matches("Rain, rain, go away").Should().BeTrue("case and punctuation are ignored");
        patterns.Matches("snow fell all night").Should().BeFalse("a pattern from one document is pruned");
        var (precision, recall) = patterns.Evaluate([("heavy rain again", true), ("dry and sunny", true), ("a rain check", false), ("quiet", false)]);
        (precision, recall).Should().Be((0.5, 0.5));
    }
}
