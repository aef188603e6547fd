using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Steering;

namespace SaeMl.Tests.Steering;

public sealed class PerspectiveExperimentTests : IDisposable
{
    private const int D = 16, N = 64, K = 4, Documents = 200;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static float[] Gaussian(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * D).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    [Fact]
    public void The_latent_that_separates_members_best_is_the_one_whose_mean_activation_gap_is_largest()
    {
        // Rows 0 and 1 are members. Latent 2: members 0.9 and 0.7 (mean 0.8), others 0.1 (mean 0.05): gap 0.75.
        // Latent 5: members 1.0 and 0 (mean 0.5), others 0.6 and 0.6 (mean 0.6): gap −0.1.
        var codes = new SparseCodes(4, 2, [0.9f, 1.0f, 0.7f, 0.01f, 0.1f, 0.6f, 0.6f, 0.02f], [2, 5, 2, 7, 2, 5, 5, 7]);

        ConceptLatents.MostSeparating(codes, new HashSet<long> { 0, 1 }, latentSize: 8).Should().Be(2);
        ConceptLatents.MostSeparating(codes, new HashSet<long> { 2, 3 }, latentSize: 8).Should().Be(5, "latent 5 averages 0.6 over rows 2 and 3 against 0.5 elsewhere");
        var none = () => ConceptLatents.MostSeparating(codes, new HashSet<long>(), latentSize: 8);
        none.Should().Throw<ArgumentException>().WithMessage("0 of 4 rows are members*");
    }

    [Fact]
    public void Counts_before_and_after_agree_with_a_brute_force_ranking_of_the_edited_reconstructions()
    {
        var corpus = Gaussian(Documents, seed: 1);
        NpyWriter.Write(_folder.File("corpus.npy"), corpus, D);
        using var store = EmbeddingStore.Open(_folder.File("corpus.npy"));
        using var autoencoder = SparseAutoencoder.Initialize(D, N, K, new float[D], seed: 4, ComputeDevice.Cpu);
        var random = new Random(5);
        var queries = Enumerable.Range(0, 6).Select(i => new PerspectiveQuery($"q{i}", Gaussian(1, 10 + i),
            new Perspective(random.Next(N), Enumerable.Range(0, 40).Select(_ => (long)random.Next(Documents)).ToHashSet()),
            new Perspective(random.Next(N), Enumerable.Range(0, 40).Select(_ => (long)random.Next(Documents)).ToHashSet()))).ToList();

        var cases = PerspectiveExperiment.Run(autoencoder, store, queries, alpha: 2f, k: 5, recallDepth: 10, device: ComputeDevice.Cpu, workingFolder: _folder.Path);

        var reconstructed = autoencoder.Reconstruct(corpus);
        var decoder = autoencoder.GetWeights().DecoderWeight;
        long[] Top(float[] query, int k) => Enumerable.Range(0, Documents)
            .OrderByDescending(r => Enumerable.Range(0, D).Sum(i => (double)query[i] * reconstructed[r * D + i])).ThenBy(r => r).Take(k).Select(r => (long)r).ToArray();
        cases.Should().HaveCount(12);
        foreach (var c in cases)
        {
            var query = queries.Single(q => q.Id == c.QueryId);
            var (amplified, other) = c.TowardFirst ? (query.First, query.Second) : (query.Second, query.First);
            var plain = autoencoder.Reconstruct(query.Embedding);
            var steered = plain.Select((v, i) => v + 2f * decoder[amplified.Latent * D + i]).ToArray();
            c.Before.Should().Be(Top(plain, 5).Count(amplified.Documents.Contains));
            c.After.Should().Be(Top(steered, 5).Count(amplified.Documents.Contains));
            c.OtherAfter.Should().Be(Top(steered, 5).Count(other.Documents.Contains));
            c.TopBefore.Should().Equal(Top(plain, 5));
            c.TopAfter.Should().Equal(Top(steered, 5));
        }

        Directory.GetDirectories(_folder.Path).Should().BeEmpty("the reconstructed corpus is deleted");
    }
}
