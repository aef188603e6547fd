using SaeMl.Autoencoder;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

public sealed class SparseAutoencoderTests
{
    /// <summary>d = 3, n = 4; with K = 2, x − b_dec = (2, 1, -1) has pre-activations 2, 1.5, -4, 2.</summary>
    private static readonly SaeWeights HandPicked = new(3, 4,
        EncoderWeight: [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1],
        EncoderBias: [0, 0.5f, -3, 0],
        DecoderWeight: [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.6f, 0.8f, 0],
        DecoderBias: [0.1f, 0, 0]);

    private static float[] RandomVectors(int rows, int dimension, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    [Fact]
    public void Latent_activations_are_the_relu_pre_activations_whether_or_not_topk_keeps_them()
    {
        using var model = SparseAutoencoder.FromWeights(HandPicked, activeLatents: 2, ComputeDevice.Cpu);

        // x − b_dec = (2, 1, -1): pre-activations 2, 1.5, -4, 2; TopK keeps latents 0 and 3, latent 1 comes third.
        model.LatentActivations([2.1f, 1, -1, 0.1f, 0, 0], [1, 0, 2])
            .Should().Equal([1.5f, 2f, 0f, 0.5f, 0f, 0f], (a, e) => Math.Abs(a - e) < 1e-6f, "row 2 is x = b_dec: only latent 1's bias remains");
        var codes = model.Encode([2.1f, 1, -1]);
        model.LatentActivations([2.1f, 1, -1], [.. codes.IndicesOf(0).ToArray()])
            .Should().Equal(codes.ValuesOf(0).ToArray(), (a, e) => Math.Abs(a - e) < 1e-6f, "kept latents read as Encode reads them");
        FluentActions.Invoking(() => model.LatentActivations([0, 0, 0], [4])).Should().Throw<ArgumentException>().WithMessage("*Latent 4*");
        FluentActions.Invoking(() => model.LatentActivations([float.NaN, 0, 0], [0])).Should().Throw<ArgumentException>().WithMessage("*NaN*");
    }

    [Fact]
    public void Encoding_keeps_the_k_largest_pre_activations_after_relu_and_decoding_sums_their_rows()
    {
        using var model = SparseAutoencoder.FromWeights(HandPicked, activeLatents: 2, ComputeDevice.Cpu);

        // x − b_dec = (2, 1, -1): pre-activations 2, 1.5, -4, 2 → latents 0 and 3 (2 and 2).
        var codes = model.Encode([2.1f, 1, -1]);
        var reconstruction = model.Decode(codes);

        codes.IndicesOf(0).ToArray().Should().Equal(0, 3);
        codes.ValuesOf(0).ToArray().Should().Equal([2f, 2f], (a, e) => Math.Abs(a - e) < 1e-6f);
        // 2·(1, 0, 0) + 2·(0.6, 0.8, 0) + (0.1, 0, 0)
        reconstruction.Should().Equal([3.3f, 1.6f, 0f], (a, e) => Math.Abs(a - e) < 1e-6f);
    }

    [Fact]
    public void Every_vector_gets_exactly_k_distinct_ascending_latents_all_non_negative()
    {
        var bias = new float[16];
        using var model = SparseAutoencoder.Initialize(16, 64, activeLatents: 5, bias, seed: 3, ComputeDevice.Cpu);

        var codes = model.Encode(RandomVectors(100, 16, seed: 4));

        codes.Rows.Should().Be(100);
        for (var row = 0; row < codes.Rows; row++)
        {
            codes.IndicesOf(row).ToArray().Should().HaveCount(5).And.BeInAscendingOrder().And.OnlyHaveUniqueItems();
            codes.ValuesOf(row).ToArray().Should().OnlyContain(v => v >= 0);
        }

        codes.Values.Count(v => v > 0).Should().Be(500, "the largest 5 of 64 pre-activations of a random vector are positive here");
    }

    [Fact]
    public void Negative_pre_activations_are_kept_in_place_as_zeros()
    {
        var weights = new SaeWeights(2, 3, [1, 0, 0, 1, 1, 1], [-5, -5, -5], [1, 0, 0, 1, 0.6f, 0.8f], [0, 0]);
        using var model = SparseAutoencoder.FromWeights(weights, activeLatents: 2, ComputeDevice.Cpu);

        var codes = model.Encode([0.1f, 0.1f]);

        codes.Indices.Should().HaveCount(2);
        codes.Values.Should().Equal(0f, 0f);
    }

    [Fact]
    public void Initialisation_ties_the_encoder_to_unit_decoder_rows()
    {
        float[] bias = [0.5f, -0.5f, 0.25f];
        using var model = SparseAutoencoder.Initialize(3, 10, 2, bias, seed: 7, ComputeDevice.Cpu);

        var weights = model.GetWeights();

        weights.EncoderWeight.Should().Equal(weights.DecoderWeight);
        weights.EncoderBias.Should().OnlyContain(b => b == 0);
        weights.DecoderBias.Should().Equal(bias);
        for (var row = 0; row < 10; row++)
            MathF.Sqrt(weights.DecoderWeight.Skip(row * 3).Take(3).Sum(v => v * v)).Should().BeApproximately(1f, 1e-6f);
    }

    [Fact]
    public void Non_finite_inputs_are_rejected_with_their_row()
    {
        using var model = SparseAutoencoder.Initialize(2, 4, 1, new float[2], seed: 1, ComputeDevice.Cpu);

        var encode = () => model.Encode([1, 2, 3, float.NaN, 5, 6]);

        encode.Should().Throw<ArgumentException>().WithMessage("Row 1 of the input holds NaN or infinity*");
    }

    [Fact]
    public void The_kl_term_is_the_mean_over_queries_of_kl_between_the_score_softmaxes()
    {
        // d = 2, n = 2, K = 1, identity-like weights: every vector is reconstructed as its larger axis.
        var weights = new SaeWeights(2, 2, [1, 0, 0, 1], [0, 0], [1, 0, 0, 1], [0, 0]);
        using var model = SparseAutoencoder.FromWeights(weights, activeLatents: 1, ComputeDevice.Cpu);
        float[] queryValues = [1, 0, 0.6f, 0.8f];                  // two queries
        float[] documentValues = [0.8f, 0.6f, 0, 1, 1, 0, 0.6f, 0.8f]; // two documents each
        var queries = tensor(queryValues, [2, 2]);
        var documents = tensor(documentValues, [4, 2]);

        var loss = SaeObjective.Compute(model, queries, documents, 2, new SaeObjectiveSettings(1, 0.5f, 0, 1), null, 0);

        // By hand: reconstructions keep the larger coordinate; p = softmax(s / τ), p̂ = softmax(ŝ / τ).
        static double[] Softmax(double a, double b) => [Math.Exp(a) / (Math.Exp(a) + Math.Exp(b)), Math.Exp(b) / (Math.Exp(a) + Math.Exp(b))];
        static double Kl(double[] p, double[] q) => p[0] * Math.Log(p[0] / q[0]) + p[1] * Math.Log(p[1] / q[1]);
        // Query (1, 0): s = (0.8, 0); q̂ = (1, 0), d̂ = (0.8, 0), (0, 1): ŝ = (0.8, 0), so KL = 0.
        var first = Kl(Softmax(0.8 / 0.5, 0), Softmax(0.8 / 0.5, 0));
        // Query (0.6, 0.8): s = (0.6, 1.0); q̂ = (0, 0.8), d̂ = (1, 0), (0, 0.8): ŝ = (0, 0.64).
        var second = Kl(Softmax(0.6 / 0.5, 1.0 / 0.5), Softmax(0, 0.64 / 0.5));
        loss.Kld.item<float>().Should().BeApproximately((float)((first + second) / 2), 1e-6f);
    }

    [Fact]
    public void Aux_k_trains_dead_latents_that_no_vector_selects()
    {
        const int d = 8, n = 32, k = 2;
        using var generator = new Generator(9);
        var inputs = randn([20, d], generator: generator);
        Tensor DecoderGradient(float auxWeight, out float auxTerm, out bool[] dead)
        {
            using var encoderSeed = new Generator(1);
            using var decoderSeed = new Generator(2);
            var model = SparseAutoencoder.FromTensors(randn([n, d], generator: encoderSeed), zeros(n), randn([n, d], generator: decoderSeed), zeros(d), k, ComputeDevice.Cpu);
            var (_, selected) = model.Encode(inputs);
            var deadMask = ones(n, dtype: ScalarType.Bool).index_fill_(0, selected.reshape(-1), HeldScalars.Zero); // every latent no vector selects
            dead = deadMask.data<bool>().ToArray();
            foreach (var parameter in model.Parameters)
                parameter.requires_grad_(true);
            var loss = SaeObjective.Compute(model, inputs, null, 0, new SaeObjectiveSettings(0, 1, auxWeight, AuxKLatents: 4), deadMask, dead.Count(x => x));
            loss.Total.backward();
            auxTerm = loss.AuxK.item<float>();
            return model.DecoderWeight.grad!.norm(1, keepdim: false, p: 2);                          // per latent
        }

        var withAux = DecoderGradient(1f, out var auxTerm, out var dead).data<float>().ToArray();
        var withoutAux = DecoderGradient(0f, out _, out _).data<float>().ToArray();

        auxTerm.Should().BePositive();
        Enumerable.Range(0, n).Where(j => dead[j]).Should().OnlyContain(j => withoutAux[j] == 0, "only selected latents reconstruct");
        Enumerable.Range(0, n).Count(j => dead[j] && withAux[j] > 0).Should().BePositive("AuxK gives dead latents a gradient");
    }

    /// <summary>
    /// FVU + λ·KL + λ·r·latent KL against central differences in double precision. The AuxK term is left out: it holds
    /// the residual constant (a stop-gradient), which finite differences cannot; its effect is tested
    /// in training, where it must revive dead latents.
    /// </summary>
    [Fact]
    public void The_objective_gradient_agrees_with_finite_differences()
    {
        const int d = 4, n = 6, k = 2, batch = 3, neighbors = 2;
        using var generator = new Generator(5);
        var parameters = new[] { randn([n, d], generator: generator, dtype: ScalarType.Float64), randn([n], generator: generator, dtype: ScalarType.Float64),
            randn([n, d], generator: generator, dtype: ScalarType.Float64), randn([d], generator: generator, dtype: ScalarType.Float64) };
        var queries = randn([batch, d], generator: generator, dtype: ScalarType.Float64);
        var documents = randn([batch * neighbors, d], generator: generator, dtype: ScalarType.Float64);
        var dead = tensor(new[] { false, true, false, false, true, false });
        var settings = new SaeObjectiveSettings(KLWeight: 0.7f, Temperature: 0.5f, AuxKWeight: 0, AuxKLatents: 2, LatentKLWeight: 0.3f);

        double Loss(Tensor[] values, bool withGradient)
        {
            var model = SparseAutoencoder.FromTensors(values[0], values[1], values[2], values[3], k, ComputeDevice.Cpu); // not disposed: it owns the tensors whose gradients are read
            var loss = SaeObjective.Compute(model, queries, documents, neighbors, settings, dead, deadCount: 2);
            if (withGradient)
                loss.Total.backward();
            return loss.Total.item<double>();
        }

        var trained = parameters.Select(p => p.clone().requires_grad_(true)).ToArray();
        Loss(trained, withGradient: true);
        const double step = 1e-6;
        for (var p = 0; p < parameters.Length; p++)
        {
            var analytic = trained[p].grad!.data<double>().ToArray();
            var flat = parameters[p].data<double>().ToArray();
            for (var i = 0; i < flat.Length; i++)
            {
                double Shifted(double delta)
                {
                    var values = parameters.Select(t => t.clone()).ToArray();
                    var shifted = (double[])flat.Clone();
                    shifted[i] += delta;
                    values[p] = tensor(shifted, parameters[p].shape, dtype: ScalarType.Float64);
                    return Loss(values, withGradient: false);
                }

                var numeric = (Shifted(step) - Shifted(-step)) / (2 * step);
                analytic[i].Should().BeApproximately(numeric, 1e-6 + 1e-4 * Math.Abs(numeric), $"parameter {p}, element {i}");
            }
        }
    }

    /// <summary>
    /// The objective's value against a plain computation in doubles: the MSE over the training data's variance per
    /// element (an FVU), plus λ times the KL of the reconstructions' score distributions, plus λ·r times the KL of the
    /// latent scores' (z_q · z_d over the shared latents), each KL(p ‖ ·) with p from the original scores at τ.
    /// </summary>
    [Fact]
    public void The_objective_is_the_fvu_plus_both_kl_terms_computed_by_hand()
    {
        const int d = 3, n = 5, k = 2, batch = 2, neighbors = 3;
        const float lambda = 0.6f, latentWeight = 0.9f, tau = 0.4f;
        var random = new Random(11);
        double[] Draw(int count) => Enumerable.Range(0, count).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var (encoder, encoderBias, decoder, decoderBias) = (Draw(n * d), Draw(n), Draw(n * d), Draw(d));
        var rows = Draw((batch + batch * neighbors) * d); // queries first, then each query's documents
        using var model = SparseAutoencoder.FromTensors(tensor(encoder, [n, d]), tensor(encoderBias, [n]), tensor(decoder, [n, d]), tensor(decoderBias, [d]), k, ComputeDevice.Cpu);
        const float variance = 0.37f; // the training data's variance per element, which the trainer measures before training
        var inputs = tensor(rows, [batch + batch * neighbors, d]);
        var loss = SaeObjective.Compute(model, inputs.narrow(0, 0, batch), inputs.narrow(0, batch, batch * neighbors), neighbors,
            new SaeObjectiveSettings(KLWeight: lambda, Temperature: tau, AuxKWeight: 0, AuxKLatents: 1, ReconstructionVariance: variance, LatentKLWeight: latentWeight), null, 0);

        var count = batch + batch * neighbors;
        double[] Row(double[] values, int row) => values.Skip(row * d).Take(d).ToArray();
        double Dot(double[] a, double[] b) => a.Zip(b).Sum(p => p.First * p.Second);
        var codes = new Dictionary<int, double>[count];
        var reconstructions = new double[count][];
        for (var r = 0; r < count; r++)
        {
            var centered = Row(rows, r).Select((v, j) => v - decoderBias[j]).ToArray();
            var pre = Enumerable.Range(0, n).Select(i => Dot(Row(encoder, i), centered) + encoderBias[i]).ToArray();
            codes[r] = Enumerable.Range(0, n).OrderByDescending(i => pre[i]).Take(k).ToDictionary(i => i, i => Math.Max(0, pre[i]));
            reconstructions[r] = Enumerable.Range(0, d).Select(j => decoderBias[j] + codes[r].Sum(c => c.Value * decoder[c.Key * d + j])).ToArray();
        }

        var mse = Enumerable.Range(0, count).Sum(r => Row(rows, r).Zip(reconstructions[r]).Sum(p => (p.First - p.Second) * (p.First - p.Second))) / (count * d);
        double Kl(double[] original, double[] other)
        {
            double[] LogSoftmax(double[] x) { var max = x.Max(); var log = Math.Log(x.Sum(v => Math.Exp(v - max))) + max; return x.Select(v => v - log).ToArray(); }
            var (logP, logQ) = (LogSoftmax(original), LogSoftmax(other));
            return logP.Zip(logQ).Sum(p => Math.Exp(p.First) * (p.First - p.Second));
        }

        double kl = 0, latentKl = 0;
        for (var q = 0; q < batch; q++)
        {
            var documents = Enumerable.Range(batch + q * neighbors, neighbors).ToArray();
            var original = documents.Select(r => Dot(Row(rows, q), Row(rows, r)) / tau).ToArray();
            kl += Kl(original, documents.Select(r => Dot(reconstructions[q], reconstructions[r]) / tau).ToArray()) / batch;
            latentKl += Kl(original, documents.Select(r => codes[r].Sum(c => codes[q].GetValueOrDefault(c.Key) * c.Value) / tau).ToArray()) / batch;
        }

        loss.Mse.item<double>().Should().BeApproximately(mse, 1e-12);
        loss.Kld.item<double>().Should().BeApproximately(kl, 1e-12);
        loss.LatentKld.item<double>().Should().BeApproximately(latentKl, 1e-12);
        loss.Total.item<double>().Should().BeApproximately(mse / variance + lambda * kl + latentWeight * latentKl, 1e-9);
        latentKl.Should().BeGreaterThan(1e-3, "the case must exercise the latent term");
    }
}
