using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Steering;

namespace SaeMl.Tests.Steering;

public sealed class ControlExperimentTests : IDisposable
{
    private const int D = 16, N = 64, K = 4, Documents = 300, Queries = 20;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static float[] Gaussian(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * D).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    private static double Dot(float[] a, int aRow, float[] b, int bRow) => Enumerable.Range(0, D).Sum(i => (double)a[aRow * D + i] * b[bRow * D + i]);

    /// <summary>Reciprocal rank within the top 10 of the first relevant document, by brute force over every score.</summary>
    private static double ReciprocalRankAt10(double[] scores, HashSet<int> relevant)
    {
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(r => scores[r]).ThenBy(r => r).Take(10).ToList();
        var first = order.FindIndex(relevant.Contains);
        return first < 0 ? 0 : 1.0 / (first + 1);
    }

    [Fact]
    public void Both_sides_agree_with_a_brute_force_edit_of_the_reconstructions_at_every_alpha()
    {
        var corpus = Gaussian(Documents, seed: 1);
        var queries = Gaussian(Queries, seed: 2);
        NpyWriter.Write(_folder.File("corpus.npy"), corpus, D);
        NpyWriter.Write(_folder.File("queries.npy"), queries, D);
        var random = new Random(3);
        var relevant = Enumerable.Range(0, Queries).Select(_ => Enumerable.Range(0, 3).Select(_ => random.Next(Documents)).ToHashSet()).ToArray();
        var qrels = Qrels.FromJudgements(relevant.SelectMany((rows, q) => rows.Select(row => new Judgement($"q{q}", $"d{row}", 1))));
        using var queryStore = EmbeddingStore.Open(_folder.File("queries.npy"));
        using var corpusStore = EmbeddingStore.Open(_folder.File("corpus.npy"));
        using var autoencoder = SparseAutoencoder.Initialize(D, N, K, new float[D], seed: 4, ComputeDevice.Cpu);
        float[] alphas = [0f, 0.5f, 4f];

        var points = ControlExperiment.Run(autoencoder, queryStore, IdIndex.Build(Enumerable.Range(0, Queries).Select(q => $"q{q}"), "queries"),
            corpusStore, IdIndex.Build(Enumerable.Range(0, Documents).Select(r => $"d{r}"), "corpus"), qrels, alphas, depth: 50, device: ComputeDevice.Cpu, workingFolder: _folder.Path);

        // The same study written out the long way: edit the reconstructions themselves and rank every document.
        var corpusCodes = autoencoder.Encode(corpus);
        var reconstructedCorpus = autoencoder.Decode(corpusCodes);
        var queryCodes = autoencoder.Encode(queries);
        var reconstructedQueries = autoencoder.Decode(queryCodes);
        var decoder = autoencoder.GetWeights().DecoderWeight;
        points.Select(p => p.Alpha).Should().Equal(alphas);
        foreach (var point in points)
        {
            var documentSide = new List<double>();
            var querySide = new List<double>();
            for (var q = 0; q < Queries; q++)
            {
                var values = queryCodes.ValuesOf(q).ToArray();
                var strongest = queryCodes.IndicesOf(q)[Array.IndexOf(values, values.Max())];
                var edited = (float[])reconstructedCorpus.Clone();
                foreach (var row in relevant[q])
                    for (var i = 0; i < D; i++)
                        edited[row * D + i] += point.Alpha * decoder[strongest * D + i];
                documentSide.Add(ReciprocalRankAt10(Enumerable.Range(0, Documents).Select(r => Dot(reconstructedQueries, q, edited, r)).ToArray(), relevant[q]));

                var sums = new Dictionary<int, double>();
                foreach (var row in relevant[q])
                    for (var j = 0; j < K; j++)
                        sums[corpusCodes.IndicesOf(row)[j]] = sums.GetValueOrDefault(corpusCodes.IndicesOf(row)[j]) + corpusCodes.ValuesOf(row)[j];
                var feature = sums.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;
                var steered = reconstructedQueries[(q * D)..((q + 1) * D)].Select((v, i) => v + point.Alpha * decoder[feature * D + i]).ToArray();
                querySide.Add(ReciprocalRankAt10(Enumerable.Range(0, Documents).Select(r => Dot(steered, 0, reconstructedCorpus, r)).ToArray(), relevant[q]));
            }

            point.DocumentSide.MeanReciprocalRankAtCutoff.Should().BeApproximately(documentSide.Average(), 1e-9, $"document side at α = {point.Alpha}");
            point.QuerySide.MeanReciprocalRankAtCutoff.Should().BeApproximately(querySide.Average(), 1e-9, $"query side at α = {point.Alpha}");
        }

        points[0].DocumentSide.MeanReciprocalRankAtCutoff.Should().Be(points[0].QuerySide.MeanReciprocalRankAtCutoff, "at α = 0 neither side edits anything");
        points[^1].DocumentSide.MeanReciprocalRankAtCutoff.Should().BeGreaterThan(points[0].DocumentSide.MeanReciprocalRankAtCutoff, "raising the query's own feature in its relevant documents helps");
        Directory.GetDirectories(_folder.Path).Should().BeEmpty("the reconstructed corpus is deleted");
    }

    [Fact]
    public void A_negative_or_infinite_alpha_is_refused()
    {
        NpyWriter.Write(_folder.File("x.npy"), Gaussian(4, 1), D);
        using var store = EmbeddingStore.Open(_folder.File("x.npy"));
        using var autoencoder = SparseAutoencoder.Initialize(D, N, K, new float[D], seed: 4, ComputeDevice.Cpu);
        var ids = IdIndex.Build(["a", "b", "c", "d"], "ids");

        var run = () => ControlExperiment.Run(autoencoder, store, ids, store, ids, Qrels.FromJudgements([new Judgement("a", "b", 1)]), [0f, -1f]);

        run.Should().Throw<ArgumentException>().WithMessage("α = -1 is not a finite amount of at least 0.*");
    }
}
