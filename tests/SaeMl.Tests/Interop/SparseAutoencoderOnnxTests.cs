using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Interop;

namespace SaeMl.Tests.Interop;

public sealed class SparseAutoencoderOnnxTests : IDisposable
{
    private const int D = 32, N = 256, K = 8, Rows = 1000;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Weights with every part distinct: an encoder that is not the decoder's transpose, and both biases non-zero.</summary>
    private static SparseAutoencoder RandomAutoencoder(int seed, float activationThreshold = 0)
    {
        var random = new Random(seed);
        float[] Values(long count, double scale) => Enumerable.Range(0, checked((int)count)).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var decoder = Values((long)N * D, 1);
        for (var j = 0; j < N; j++)
        {
            var row = decoder.AsSpan(j * D, D);
            var norm = MathF.Sqrt(row.ToArray().Sum(v => v * v));
            foreach (ref var v in row)
                v /= norm;
        }

        var encoderBias = Values(N, 0.2).Select(b => b - 2f).ToArray(); // low enough that some rows keep TopK latents of 0
        return SparseAutoencoder.FromWeights(new SaeWeights(D, N, Values((long)N * D, 0.5), encoderBias, decoder, Values(D, 0.3)), K, activationThreshold, ComputeDevice.Cpu);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.5f)] // a BatchTopK autoencoder's threshold: ThresholdedRelu in the graph
    public void The_exported_encoder_and_decoder_compute_what_SaeMl_computes(float activationThreshold)
    {
        using var autoencoder = RandomAutoencoder(4, activationThreshold);
        var random = new Random(9);
        var inputs = Enumerable.Range(0, Rows * D).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var (encoderPath, decoderPath) = (_folder.File("encoder.onnx"), _folder.File("decoder.onnx"));

        SparseAutoencoderOnnx.SaveEncoder(autoencoder, encoderPath);
        SparseAutoencoderOnnx.SaveDecoder(autoencoder, decoderPath);

        var codes = autoencoder.Encode(inputs);
        var decoded = autoencoder.Decode(codes);
        using var encoder = new InferenceSession(encoderPath);
        using var encoded = encoder.Run([NamedOnnxValue.CreateFromTensor("embedding", new DenseTensor<float>(inputs, [Rows, D]))]);
        var indices = encoded.Single(o => o.Name == "latent_indices").AsTensor<long>().ToArray();
        var values = encoded.Single(o => o.Name == "latent_values").AsTensor<float>().ToArray();
        var dense = encoded.Single(o => o.Name == "latents").AsTensor<float>().ToArray();
        var zeros = 0;
        for (var row = 0; row < Rows; row++)
        {
            var onnx = Enumerable.Range(0, K).ToDictionary(j => (int)indices[row * K + j], j => values[row * K + j]);
            onnx.Keys.Should().BeEquivalentTo(codes.IndicesOf(row).ToArray(), $"row {row} keeps the same latents");
            for (var j = 0; j < K; j++)
            {
                var latent = codes.IndicesOf(row)[j];
                onnx[latent].Should().BeApproximately(codes.ValuesOf(row)[j], 1e-5f);
                dense[(long)row * N + latent].Should().BeApproximately(codes.ValuesOf(row)[j], 1e-5f);
                zeros += codes.ValuesOf(row)[j] == 0 ? 1 : 0;
            }

            dense.AsSpan(row * N, N).ToArray().Count(v => v != 0).Should().BeLessThanOrEqualTo(K);
        }

        zeros.Should().BePositive("the negative biases leave some TopK latents at 0 after the ReLU, which both sides must agree on");
        if (activationThreshold > 0)
        {
            using var plain = RandomAutoencoder(4);
            var plainZeros = plain.Encode(inputs).Values.Count(v => v == 0);
            zeros.Should().BeGreaterThan(plainZeros, "the threshold drops positive activations at or below it, in the graph as in SaeMl");
        }

        using var decoder = new InferenceSession(decoderPath);
        using var reconstructed = decoder.Run(
        [
            NamedOnnxValue.CreateFromTensor("latent_indices", new DenseTensor<long>(indices, [Rows, K])),
            NamedOnnxValue.CreateFromTensor("latent_values", new DenseTensor<float>(values, [Rows, K])),
        ]);
        var reconstruction = reconstructed.Single().AsTensor<float>().ToArray();
        reconstruction.Should().HaveCount(decoded.Length);
        for (var i = 0; i < decoded.Length; i++)
            reconstruction[i].Should().BeApproximately(decoded[i], 1e-5f, $"element {i}");
    }

    [Fact]
    public void A_control_autoencoder_exports_other_latents()
    {
        using var autoencoder = RandomAutoencoder(4);
        using var other = RandomAutoencoder(5);
        var inputs = Enumerable.Range(0, 10 * D).Select(i => MathF.Sin(i)).ToArray();
        SparseAutoencoderOnnx.SaveEncoder(other, _folder.File("other.onnx"));

        using var session = new InferenceSession(_folder.File("other.onnx"));
        using var encoded = session.Run([NamedOnnxValue.CreateFromTensor("embedding", new DenseTensor<float>(inputs, [10, D]))]);
        var indices = encoded.Single(o => o.Name == "latent_indices").AsTensor<long>().ToArray();

        var codes = autoencoder.Encode(inputs);
        Enumerable.Range(0, 10).Count(r => !indices.Skip(r * K).Take(K).Select(i => (int)i).Order().SequenceEqual(codes.IndicesOf(r).ToArray()))
            .Should().BeGreaterThan(5, "the comparison above can fail");
    }
}
