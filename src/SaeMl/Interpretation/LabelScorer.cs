using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using SaeMl.Autoencoder;
using SaeMl.Data;
using SaeMl.Embedding;
using SaeMl.Search;

namespace SaeMl.Interpretation;

/// <summary>The documents a latent's label is checked against: held-out activating ones (across quantiles, none of the top documents a labeler saw) and as many non-activating ones, half hard negatives and half random.</summary>
/// <param name="Latent">The latent.</param>
/// <param name="Activating">Corpus rows where the latent fires.</param>
/// <param name="HardNegatives">Rows where it does not fire, nearest to the mean embedding of <paramref name="Activating"/>.</param>
/// <param name="RandomNegatives">Rows where it does not fire, drawn at random.</param>
public sealed record ScoringExamples(int Latent, long[] Activating, long[] HardNegatives, long[] RandomNegatives)
{
    /// <summary>Every non-activating row: the hard negatives, then the random ones.</summary>
    public IReadOnlyList<long> NonActivating => [.. HardNegatives, .. RandomNegatives];
}

/// <summary>How well one label predicts where its latent fires.</summary>
/// <param name="Latent">The latent whose examples were scored.</param>
/// <param name="Label">The label scored.</param>
/// <param name="EmbeddingScore">AUROC of the label's similarity (embedded as a query) between activating and all non-activating documents; 0.5 is chance.</param>
/// <param name="DetectionScore">Balanced accuracy of a language model judging whether the label fits each document, or null without one.</param>
/// <param name="HardNegativeScore">The embedding score against the hard negatives alone: does the label tell the latent from its near neighbours.</param>
/// <param name="RandomNegativeScore">The embedding score against the random negatives alone: does the label tell the latent from the corpus.</param>
public sealed record LabelScore(int Latent, string Label, double EmbeddingScore, double? DetectionScore, double HardNegativeScore = double.NaN, double RandomNegativeScore = double.NaN);

/// <summary>
/// Turns labels into claims that can be checked, as EleutherAI's delphi does: the embedding score
/// always, the detection score when a language model is given. The examples are chosen once per
/// latent, so a label can be scored against another latent's examples (the shuffled control).
/// </summary>
public sealed class LabelScorer
{
    private readonly EmbeddingStore _corpus;
    private readonly Dictionary<int, ScoringExamples> _examples;

    private LabelScorer(EmbeddingStore corpus, Dictionary<int, ScoringExamples> examples)
    {
        _corpus = corpus;
        _examples = examples;
    }

    /// <summary>The examples chosen per latent.</summary>
    public IReadOnlyDictionary<int, ScoringExamples> Examples => _examples;

    /// <summary>
    /// Chooses each latent's examples: up to <paramref name="perSide"/> activating documents from the
    /// scan's sample spread across five quantiles, leaving out its top documents; as many
    /// non-activating ones, half the nearest to the activating ones' mean embedding, half at random.
    /// </summary>
    public static LabelScorer Create(SparseAutoencoder autoencoder, EmbeddingStore corpus, FeatureScan scan, IReadOnlyList<int> latents, int perSide = 20, int seed = 7)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentOutOfRangeException.ThrowIfLessThan(perSide, 2);
        var d = corpus.Dimension;
        var activating = latents.ToDictionary(j => j, j =>
        {
            var top = scan.Top.Of(j).Select(a => a.Row).ToHashSet();
            var held = scan.Samples.Of(j).Where(a => !top.Contains(a.Row)).ToArray();
            return Enumerable.Range(0, Math.Min(perSide, held.Length)).Select(i => held[(int)((long)held.Length * i / Math.Min(perSide, held.Length))].Row).ToArray();
        });
        var scored = latents.Where(j => activating[j].Length > 0).ToArray();
        var means = new float[scored.Length * d];
        var vector = new float[d];
        for (var l = 0; l < scored.Length; l++)
        {
            foreach (var row in activating[scored[l]])
            {
                corpus.ReadRows(row, vector);
                TensorPrimitives.Add(means.AsSpan(l * d, d), vector, means.AsSpan(l * d, d));
            }
        }

        var hardCount = perSide / 2;
        var candidates = scored.Length == 0 ? null : ExactSearch.Search(means, corpus, new ExactSearchOptions { K = (int)Math.Min(corpus.RowCount, hardCount * 8L) });
        var random = new Random(seed);
        var examples = new Dictionary<int, ScoringExamples>();
        for (var l = 0; l < scored.Length; l++)
        {
            var latent = scored[l];
            var wanted = activating[latent].Length;
            var hard = NonFiring(autoencoder, corpus, latent, candidates!.RowsOf(l).ToArray()).Take(Math.Min(hardCount, wanted / 2 + wanted % 2)).ToList();
            var randomRows = Enumerable.Range(0, 4 * wanted + 16).Select(_ => random.NextInt64(corpus.RowCount)).Distinct().Where(r => !hard.Contains(r)).ToArray();
            var others = NonFiring(autoencoder, corpus, latent, randomRows).Take(wanted - hard.Count);
            examples[latent] = new ScoringExamples(latent, activating[latent], [.. hard], [.. others]);
        }

        return new LabelScorer(corpus, examples);
    }

    /// <summary>The embedding score of each label against the examples of <see cref="FeatureLabel.Latent"/>: labels are embedded as queries by <paramref name="queryEmbedder"/>, documents read from the corpus store.</summary>
    /// <exception cref="ArgumentException">A label's latent has no examples.</exception>
    public IReadOnlyList<LabelScore> EmbeddingScores(TextEmbedder queryEmbedder, IReadOnlyList<FeatureLabel> labels)
    {
        ArgumentNullException.ThrowIfNull(queryEmbedder);
        ArgumentNullException.ThrowIfNull(labels);
        var d = _corpus.Dimension;
        if (queryEmbedder.Dimension != d)
            throw new ArgumentException($"The query embedder makes {queryEmbedder.Dimension}-dimensional vectors; the corpus store holds {d}.", nameof(queryEmbedder));
        var labelVectors = new float[labels.Count * d];
        queryEmbedder.Embed(labels.Select(l => l.Text).ToList(), labelVectors);
        var document = new float[d];
        return [.. labels.Select((label, i) =>
        {
            var examples = ExamplesOf(label.Latent);
            double Similarity(long row)
            {
                _corpus.ReadRows(row, document);
                return TensorPrimitives.CosineSimilarity(labelVectors.AsSpan(i * d, d), document);
            }

            var activating = examples.Activating.Select(Similarity).ToArray();
            var hard = examples.HardNegatives.Select(Similarity).ToArray();
            var random = examples.RandomNegatives.Select(Similarity).ToArray();
            return new LabelScore(label.Latent, label.Text, Auroc(activating, [.. hard, .. random]), null, Auroc(activating, hard), Auroc(activating, random));
        })];
    }

    /// <summary>
    /// The detection score of each label: <paramref name="judge"/> is asked, per example document, whether
    /// the label fits; the balanced accuracy of its yes/no against where the latent fires. A failed call
    /// counts as a wrong answer.
    /// </summary>
    public async Task<IReadOnlyList<LabelScore>> DetectionScoresAsync(IChatClient judge, IReadOnlyList<FeatureLabel> labels, Func<long, string> documentText, string? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(documentText);
        var scores = new List<LabelScore>();
        foreach (var label in labels)
        {
            var examples = ExamplesOf(label.Latent);
            async Task<double> Recall(IEnumerable<long> rows, bool fires)
            {
                var right = 0;
                var count = 0;
                foreach (var row in rows)
                {
                    count++;
                    right += await Fits(row).ConfigureAwait(false) == fires ? 1 : 0;
                }

                return count == 0 ? 0 : (double)right / count;
            }

            async Task<bool?> Fits(long row)
            {
                try
                {
                    var answer = await judge.GetResponseAsync(
                        $"Label: {label.Text}\nDocument: {documentText(row)}\nDoes the label describe this document? Answer yes or no.",
                        new ChatOptions { ModelId = model, Temperature = 0 }, cancellationToken).ConfigureAwait(false);
                    var text = answer.Text.Trim().ToLowerInvariant();
                    return text.StartsWith("yes", StringComparison.Ordinal) ? true : text.StartsWith("no", StringComparison.Ordinal) ? false : null;
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    return null;
                }
            }

            var balanced = (await Recall(examples.Activating, true).ConfigureAwait(false) + await Recall(examples.NonActivating, false).ConfigureAwait(false)) / 2;
            scores.Add(new LabelScore(label.Latent, label.Text, double.NaN, balanced));
        }

        return scores;
    }

    /// <summary>The area under the ROC curve of scores separating positives from negatives (ties count half): the Mann–Whitney U over the product of the counts.</summary>
    public static double Auroc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        ArgumentNullException.ThrowIfNull(positives);
        ArgumentNullException.ThrowIfNull(negatives);
        if (positives.Count == 0 || negatives.Count == 0)
            return double.NaN;
        var sorted = negatives.Order().ToArray();
        double wins = 0;
        foreach (var p in positives)
        {
            var below = LowerBound(sorted, p);
            var notAbove = UpperBound(sorted, p);
            wins += below + 0.5 * (notAbove - below);
        }

        return wins / ((double)positives.Count * negatives.Count);
    }

    /// <summary>The median and quartiles of scores, NaNs left out.</summary>
    public static (double LowerQuartile, double Median, double UpperQuartile, int Count) Distribution(IEnumerable<double> scores)
    {
        var sorted = scores.Where(s => !double.IsNaN(s)).Order().ToArray();
        if (sorted.Length == 0)
            return (double.NaN, double.NaN, double.NaN, 0);
        double At(double q)
        {
            var position = q * (sorted.Length - 1);
            var low = (int)Math.Floor(position);
            return sorted[low] + (position - low) * (sorted[Math.Min(low + 1, sorted.Length - 1)] - sorted[low]);
        }

        return (At(0.25), At(0.5), At(0.75), sorted.Length);
    }

    private ScoringExamples ExamplesOf(int latent) => _examples.TryGetValue(latent, out var examples)
        ? examples
        : throw new ArgumentException($"Latent {latent} has no scoring examples: it was not among the latents the scorer was created for, or it fires in none of the sampled documents outside its top ones.");

    private static IEnumerable<long> NonFiring(SparseAutoencoder autoencoder, EmbeddingStore corpus, int latent, long[] rows)
    {
        if (rows.Length == 0)
            return [];
        var d = corpus.Dimension;
        var vectors = new float[rows.Length * d];
        for (var i = 0; i < rows.Length; i++)
            corpus.ReadRows(rows[i], vectors.AsSpan(i * d, d));
        var codes = autoencoder.Encode(vectors);
        return rows.Where((_, i) =>
        {
            var indices = codes.IndicesOf(i);
            var values = codes.ValuesOf(i);
            var at = indices.IndexOf(latent);
            return at < 0 || values[at] == 0;
        }).ToArray();
    }

    private static int LowerBound(double[] sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (sorted[mid] < value)
                low = mid + 1;
            else
                high = mid;
        }

        return low;
    }

    private static int UpperBound(double[] sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (sorted[mid] <= value)
                low = mid + 1;
            else
                high = mid;
        }

        return low;
    }
}
