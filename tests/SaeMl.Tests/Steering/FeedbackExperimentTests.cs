using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Steering;

namespace SaeMl.Tests.Steering;

public sealed class FeedbackExperimentTests
{
    private const int D = 16, N = 64, K = 4;

    private static float[] Gaussian(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * D).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    [Fact]
    public void Feedback_moves_the_query_latents_as_Rocchio_says_and_no_feedback_returns_the_reconstruction()
    {
        using var autoencoder = SparseAutoencoder.Initialize(D, N, K, new float[D], seed: 4, ComputeDevice.Cpu);
        var corpus = Gaussian(10, seed: 1);
        var query = Gaussian(1, seed: 2);
        var corpusCodes = autoencoder.Encode(corpus);
        var weights = autoencoder.GetWeights();

        var none = FeedbackExperiment.Steer(autoencoder, query, [[]], [[]], corpusCodes, beta: 0.5f, gamma: 0.25f, features: 2);
        var steered = FeedbackExperiment.Steer(autoencoder, query, [[3, 5]], [[7]], corpusCodes, beta: 0.5f, gamma: 0.25f, features: 2);

        none.Should().Equal(autoencoder.Reconstruct(query), (a, b) => Math.Abs(a - b) < 1e-6f);

        // By hand: h′ = max(0, h + 0.5 · (the 2 strongest of the mean of rows 3 and 5) − 0.25 · row 7), then decoded densely.
        var h = new double[N];
        var q = autoencoder.Encode(query);
        for (var j = 0; j < K; j++)
            h[q.IndicesOf(0)[j]] = q.ValuesOf(0)[j];
        var mean = new double[N];
        foreach (var row in new[] { 3, 5 })
            for (var j = 0; j < K; j++)
                mean[corpusCodes.IndicesOf(row)[j]] += corpusCodes.ValuesOf(row)[j] / 2.0;
        foreach (var latent in Enumerable.Range(0, N).Where(j => mean[j] > 0).OrderByDescending(j => mean[j]).ThenBy(j => j).Take(2))
            h[latent] += 0.5 * mean[latent];
        for (var j = 0; j < K; j++)
            h[corpusCodes.IndicesOf(7)[j]] -= 0.25 * corpusCodes.ValuesOf(7)[j];
        var expected = Enumerable.Range(0, D).Select(i => weights.DecoderBias[i] + Enumerable.Range(0, N).Sum(j => Math.Max(0, h[j]) * weights.DecoderWeight[j * D + i])).ToArray();
        steered.Select(v => (double)v).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-5);
    }
}
