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
/// <param name="HardNegatives">Rows where it does not fire, each the nearest such row to one of <paramref name="Activating"/>.</param>
/// <param name="RandomNegatives">Rows where it does not fire, drawn at random.</param>
public sealed record ScoringExamples(int Latent, long[] Activating, long[] HardNegatives, long[] RandomNegatives)
{
    /// <summary>Every non-activating row: the hard negatives, then the random ones.</summary>
    public IReadOnlyList<long> NonActivating => [.. HardNegatives, .. RandomNegatives];
}

/// <summary>How well one label predicts where its latent fires.</summary>
/// <param name="Latent">The latent whose examples were scored.</param>
/// <param name="Label">The label scored.</param>
/// <param name="EmbeddingScore">AUROC of the label's similarity (embedded as a query) between activating and all non-activating documents; 0.5 is chance; NaN in a detection-only score.</param>
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
    /// Chooses each latent's examples: up to <paramref name="perSide"/> activating documents taken evenly
    /// through the scan's sorted sample of the latent (weakest to strongest), leaving out its top
    /// documents; as many non-activating ones, half hard negatives (for every other activating document,
    /// its nearest document where the latent does not fire; one exact search for all latents), half at
    /// random. Whether a candidate fires is read from one batched encoding of all candidates.
    /// </summary>
    /// <exception cref="ArgumentException">The store's dimension is not the autoencoder's, or a latent is out of range.</exception>
    public static LabelScorer Create(SparseAutoencoder autoencoder, EmbeddingStore corpus, FeatureScan scan, IReadOnlyList<int> latents, int perSide = 20, int seed = 7, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentOutOfRangeException.ThrowIfLessThan(perSide, 2);
        if (corpus.Dimension != autoencoder.Dimension)
            throw new ArgumentException($"Embedding store '{corpus.Name}' has dimension {corpus.Dimension}, but the autoencoder reads {autoencoder.Dimension}.", nameof(corpus));
        autoencoder.CheckLatents(latents, nameof(latents));

        var d = corpus.Dimension;
        var activating = latents.Distinct().ToDictionary(j => j, j =>
        {
            var top = scan.Top.Of(j).Select(a => a.Row).ToHashSet();
            var held = scan.Samples.Of(j).Where(a => !top.Contains(a.Row)).ToArray();
            var take = Math.Min(perSide, held.Length);
            return Enumerable.Range(0, take).Select(i => held[(int)((long)held.Length * i / take)].Row).ToArray();
        });
        var scored = activating.Keys.Where(j => activating[j].Length > 0).Order().ToArray();
        if (scored.Length == 0)
            return new LabelScorer(corpus, []);

        // Hard negatives are matched: each activating document's nearest documents where the latent does not
        // fire, so that they sit where the activating ones sit (near the corpus centre or far from it); a
        // negative near the activating documents' mean would instead be a hub, close to every label.
        var anchors = scored.SelectMany(j => activating[j].Select(row => (Latent: j, Row: row))).ToArray();
        var vectors = new float[(long)anchors.Length * d];
        for (var a = 0; a < anchors.Length; a++)
            corpus.ReadRows(anchors[a].Row, vectors.AsSpan(a * d, d));
        cancellationToken.ThrowIfCancellationRequested();
        const int NearestPerAnchor = 8;
        var nearest = ExactSearch.Search(vectors, corpus, new ExactSearchOptions { K = (int)Math.Min(corpus.RowCount, NearestPerAnchor) }, cancellationToken: cancellationToken);
        var random = new Random(seed);
        var randomRows = scored.ToDictionary(j => j, j => Enumerable.Range(0, 4 * activating[j].Length + 16).Select(_ => random.NextInt64(corpus.RowCount)).Distinct().ToArray());
        var candidates = nearest.Rows.ToArray().Concat(randomRows.Values.SelectMany(r => r)).Distinct().Order().ToArray();
        var fires = Firing(autoencoder, corpus, candidates);

        var examples = new Dictionary<int, ScoringExamples>();
        var anchorAt = 0;
        foreach (var latent in scored)
        {
            var wanted = activating[latent].Length;
            var hard = new List<long>();
            for (var a = 0; a < wanted; a++, anchorAt++)
            {
                if (hard.Count < (wanted + 1) / 2 && a % 2 == 0
                    && nearest.RowsOf(anchorAt).ToArray().FirstOrDefault(r => !fires[r].Contains(latent) && !hard.Contains(r), -1) is var match and >= 0)
                    hard.Add(match);
            }

            var others = randomRows[latent].Where(r => !fires[r].Contains(latent) && !hard.Contains(r)).Take(wanted - hard.Count).ToArray();
            examples[latent] = new ScoringExamples(latent, activating[latent], [.. hard], others);
        }

        return new LabelScorer(corpus, examples);
    }

    /// <summary>The embedding score of each label against the examples of <see cref="FeatureLabel.Latent"/>: labels are embedded as queries by <paramref name="queryEmbedder"/>, documents read from the corpus store.</summary>
    /// <exception cref="ArgumentException">A label's latent has no examples.</exception>
    public IReadOnlyList<LabelScore> EmbeddingScores(TextEmbedder queryEmbedder, IReadOnlyList<FeatureLabel> labels)
    {
        ArgumentNullException.ThrowIfNull(queryEmbedder);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.FirstOrDefault(l => !l.Succeeded) is { } failed)
            throw new ArgumentException($"Latent {failed.Latent} has no label to score ({failed.Error ?? "empty text"}); score successful labels only.", nameof(labels));
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

                return count == 0 ? double.NaN : (double)right / count;
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

    /// <summary>The area under the ROC curve of scores separating positives from negatives (ties count half): the Mann–Whitney U over the product of the counts; NaN when a side is empty.</summary>
    /// <exception cref="ArgumentException">A score is NaN.</exception>
    public static double Auroc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        ArgumentNullException.ThrowIfNull(positives);
        ArgumentNullException.ThrowIfNull(negatives);
        if (positives.Any(double.IsNaN) || negatives.Any(double.IsNaN))
            throw new ArgumentException("A score is NaN; AUROC needs comparable scores.", nameof(positives));
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

    /// <summary>The latents that fire (value &gt; 0) in each of the given rows, from one batched encoding.</summary>
    private static Dictionary<long, HashSet<int>> Firing(SparseAutoencoder autoencoder, EmbeddingStore corpus, long[] rows)
    {
        var d = corpus.Dimension;
        var vectors = new float[(long)rows.Length * d];
        for (var i = 0; i < rows.Length; i++)
            corpus.ReadRows(rows[i], vectors.AsSpan(i * d, d));
        var codes = autoencoder.Encode(vectors);
        var result = new Dictionary<long, HashSet<int>>(rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var indices = codes.IndicesOf(i);
            var values = codes.ValuesOf(i);
            var firing = new HashSet<int>();
            for (var k = 0; k < indices.Length; k++)
            {
                if (values[k] > 0)
                    firing.Add(indices[k]);
            }

            result[rows[i]] = firing;
        }

        return result;
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
