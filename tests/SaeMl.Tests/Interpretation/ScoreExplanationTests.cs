using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Interpretation;

namespace SaeMl.Tests.Interpretation;

/// <summary>Explained scores add up exactly to the scores they explain.</summary>
public sealed class ScoreExplanationTests
{
    private const int Dimension = 16, LatentSize = 64, ActiveLatents = 8;

    [Fact]
    public void Latent_terms_sum_to_the_latent_score_and_the_reconstructed_terms_to_the_reconstructed_score()
    {
        var random = new Random(11);
        var bias = Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() * 0.2 - 0.1)).ToArray();
        using var autoencoder = SparseAutoencoder.Initialize(Dimension, LatentSize, ActiveLatents, bias, seed: 2, ComputeDevice.Cpu);
        var vectors = Enumerable.Range(0, 20 * Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var codes = autoencoder.Encode(vectors);
        var reconstructions = autoencoder.Decode(codes);
        var weights = autoencoder.GetWeights();
        var checkedPairs = 0;
        for (var q = 0; q < 10; q++)
        {
            for (var d = 10; d < 20; d++)
            {
                var dense = new double[LatentSize];
                for (var k = 0; k < ActiveLatents; k++)
                    dense[codes.IndicesOf(q)[k]] = codes.ValuesOf(q)[k];
                var latentScore = Enumerable.Range(0, ActiveLatents).Sum(k => dense[codes.IndicesOf(d)[k]] * codes.ValuesOf(d)[k]);
                var terms = ScoreExplanation.LatentScore(codes, q, codes, d);
                terms.Sum(t => t.Contribution).Should().BeApproximately(latentScore, 1e-5);
                terms.Select(t => Math.Abs(t.Contribution)).Should().BeInDescendingOrder();
                checkedPairs += terms.Count > 0 ? 1 : 0;

                var reconstructedScore = Enumerable.Range(0, Dimension).Sum(j => (double)reconstructions[q * Dimension + j] * reconstructions[d * Dimension + j]);
                var explained = ScoreExplanation.Reconstructed(weights, codes, q, codes, d);
                explained.Total.Should().BeApproximately(reconstructedScore, 1e-5);
                explained.ByQueryLatent().Sum(t => t.Contribution).Should().BeApproximately(explained.Pairs.Sum(p => p.Contribution), 1e-9);
                var original = Enumerable.Range(0, Dimension).Sum(j => (double)vectors[q * Dimension + j] * vectors[d * Dimension + j]);
                explained.ShareOf(original).Should().BeApproximately(reconstructedScore / original, 1e-4);
            }
        }

        checkedPairs.Should().BeGreaterThan(10, "enough pairs share latents for the latent decomposition to be tested");
    }

    [Fact]
    public void Decoder_neighbours_are_the_most_similar_directions_and_bad_latents_are_refused()
    {
        // Latent 2's decoder row is latent 0's rotated slightly (and twice as long), latent 1 is orthogonal to 0, latent 3 opposite.
        var decoder = new float[] { 1, 0, 0, 0, 1, 0, 1.98f, 0.282f, 0, -1, 0, 0 };
        using var autoencoder = SparseAutoencoder.FromWeights(new SaeWeights(3, 4, new float[12], new float[4], decoder, new float[3]), activeLatents: 1, ComputeDevice.Cpu);
        var neighbors = DecoderNeighbors.Of(autoencoder, [0, 3], count: 3);
        neighbors[0].Select(n => n.Latent).Should().Equal(2, 1, 3);
        neighbors[0][0].Cosine.Should().BeApproximately(0.99 / Math.Sqrt(0.99 * 0.99 + 0.141 * 0.141), 1e-6);
        neighbors[0][2].Cosine.Should().BeApproximately(-1, 1e-6);
        neighbors[1].Select(n => n.Latent).Should().Equal(1, 2, 0).And.NotContain(3, "a latent is not its own neighbour");
        FluentActions.Invoking(() => DecoderNeighbors.Of(autoencoder, [4])).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => DecoderNeighbors.Of(autoencoder, [0], count: 4)).Should().Throw<ArgumentOutOfRangeException>("there are only three other latents");
    }
}
