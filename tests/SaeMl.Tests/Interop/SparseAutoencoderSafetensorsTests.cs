using System.Buffers.Binary;
using System.Text;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Interop;

namespace SaeMl.Tests.Interop;

public sealed class SparseAutoencoderSafetensorsTests : IDisposable
{
    private const int D = 6, N = 20, K = 3;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_saved_autoencoder_loads_back_identical()
    {
        using var autoencoder = SparseAutoencoder.FromWeights(RandomWeights(new Random(2)), K, ComputeDevice.Cpu);
        var folder = _folder.File("sae");

        SparseAutoencoderSafetensors.Save(autoencoder, folder);
        using var loaded = SparseAutoencoderSafetensors.Load(folder, ComputeDevice.Cpu);

        Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).Should().Equal("cfg.json", "sae.safetensors");
        loaded.ActiveLatents.Should().Be(K);
        loaded.GetWeights().Should().BeEquivalentTo(autoencoder.GetWeights(), o => o.WithStrictOrdering());
        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "cfg.json"))).RootElement;
        (config.GetProperty("d_in").GetInt32(), config.GetProperty("num_latents").GetInt32(), config.GetProperty("k").GetInt32()).Should().Be((D, N, K));
        var header = ReadHeader(Path.Combine(folder, "sae.safetensors"));
        header.Should().Contain("\"encoder.weight\":{\"dtype\":\"F32\",\"shape\":[20,6]").And.Contain("\"W_dec\"").And.Contain("\"b_dec\"");
    }

    [Fact]
    public void An_autoencoder_with_an_activation_threshold_is_refused_and_nothing_is_written()
    {
        using var autoencoder = SparseAutoencoder.FromWeights(RandomWeights(new Random(2)), K, 0.25f, ComputeDevice.Cpu);
        var folder = _folder.File("batchtopk");

        var save = () => SparseAutoencoderSafetensors.Save(autoencoder, folder);

        save.Should().Throw<ArgumentException>().WithMessage("*threshold (0.25, BatchTopK)*ML.NET zip*ONNX*");
        Directory.Exists(folder).Should().BeFalse();
    }

    [Theory]
    [InlineData("sparsify", "F32")]
    [InlineData("sparsify", "BF16")]
    [InlineData("saelens", "F16")]
    [InlineData("saelens-no-input-bias", "F32")]
    [InlineData("saelens-rescaled", "F32")]
    public void A_file_in_a_python_librarys_layout_loads_and_encodes_as_its_formula_says(string layout, string dtype)
    {
        var subtractsDecoderBias = layout != "saelens-no-input-bias";
        var rescaled = layout == "saelens-rescaled";
        var weights = RoundTo(RandomWeights(new Random(7)), dtype);
        var decoderNorms = Enumerable.Range(0, N).Select(j => Math.Sqrt(Enumerable.Range(0, D).Sum(i => (double)weights.DecoderWeight[j * D + i] * weights.DecoderWeight[j * D + i]))).ToArray();
        var folder = _folder.File(layout + dtype);
        Directory.CreateDirectory(folder);
        if (layout == "sparsify")
        {
            // As sparsify's Sae.save_to_disk leaves it: tensors in its own order, metadata, cfg.json with k.
            WritePythonStyle(Path.Combine(folder, "sae.safetensors"), dtype,
                ("b_dec", [D], weights.DecoderBias), ("W_dec", [N, D], weights.DecoderWeight),
                ("encoder.bias", [N], weights.EncoderBias), ("encoder.weight", [N, D], weights.EncoderWeight));
            File.WriteAllText(Path.Combine(folder, "cfg.json"), $"{{\"expansion_factor\": 3, \"normalize_decoder\": true, \"num_latents\": {N}, \"k\": {K}, \"multi_topk\": false, \"d_in\": {D}}}");
        }
        else
        {
            var transposed = new float[D * N];
            for (var j = 0; j < N; j++)
                for (var i = 0; i < D; i++)
                    transposed[i * N + j] = weights.EncoderWeight[j * D + i];
            WritePythonStyle(Path.Combine(folder, "sae_weights.safetensors"), dtype,
                ("W_enc", [D, N], transposed), ("b_enc", [N], weights.EncoderBias), ("W_dec", [N, D], weights.DecoderWeight), ("b_dec", [D], weights.DecoderBias));
            File.WriteAllText(Path.Combine(folder, "cfg.json"), $"{{\"architecture\": \"topk\", \"d_in\": {D}, \"d_sae\": {N}, \"activation_fn_kwargs\": {{\"k\": {K}}}, "
                + $"\"apply_b_dec_to_input\": {(subtractsDecoderBias ? "true" : "false")}, \"rescale_acts_by_decoder_norm\": {(rescaled ? "true" : "false")}, \"normalize_activations\": \"none\"}}");
        }

        using var loaded = SparseAutoencoderSafetensors.Load(folder, ComputeDevice.Cpu);

        var x = new[] { 0.3f, -1.2f, 0.8f, 0.1f, -0.4f, 0.9f };
        var codes = loaded.Encode(x);
        // SAELens with rescale_acts_by_decoder_norm scales each pre-activation by its decoder row's norm.
        var pre = Enumerable.Range(0, N).Select(j => (float)((Enumerable.Range(0, D).Sum(i => weights.EncoderWeight[j * D + i] * (x[i] - (subtractsDecoderBias ? weights.DecoderBias[i] : 0))) + weights.EncoderBias[j])
            * (rescaled ? decoderNorms[j] : 1))).ToArray();
        var top = Enumerable.Range(0, N).OrderByDescending(j => pre[j]).Take(K).Order().ToArray();
        codes.IndicesOf(0).ToArray().Should().Equal(top);
        for (var j = 0; j < K; j++)
            codes.ValuesOf(0)[j].Should().BeApproximately(Math.Max(pre[top[j]], 0), 1e-5f);
    }

    [Fact]
    public void Missing_or_damaged_files_are_refused_naming_what_was_expected()
    {
        using var autoencoder = SparseAutoencoder.FromWeights(RandomWeights(new Random(3)), K, ComputeDevice.Cpu);
        var folder = _folder.File("sae");
        SparseAutoencoderSafetensors.Save(autoencoder, folder);
        var weightsPath = Path.Combine(folder, "sae.safetensors");
        var configPath = Path.Combine(folder, "cfg.json");
        var load = () => SparseAutoencoderSafetensors.Load(folder, ComputeDevice.Cpu).Dispose();

        File.WriteAllText(configPath, "{\"k\": 3, \"activation\": \"groupmax\"}");
        load.Should().Throw<FormatException>().WithMessage("*sets activation to 'groupmax'; SaeMl reads TopK autoencoders.");
        File.WriteAllText(configPath, "{\"k\": 3, \"transcode\": true}");
        load.Should().Throw<FormatException>().WithMessage("*sets transcode; SaeMl reads plain TopK autoencoders*");
        File.WriteAllText(configPath, "{\"d_in\": 6}");
        load.Should().Throw<FormatException>().WithMessage("*cfg.json' names no K*");
        File.WriteAllText(configPath, "{\"k\": 99}");
        load.Should().Throw<FormatException>().WithMessage("*sets K = 99; it must lie in 1 … 20*");
        File.Delete(configPath);
        load.Should().Throw<FileNotFoundException>().WithMessage("*has no cfg.json beside it*");
        File.WriteAllText(configPath, "{\"k\": 3}");
        var bytes = File.ReadAllBytes(weightsPath);
        File.WriteAllBytes(weightsPath, bytes[..(bytes.Length - 10)]);
        load.Should().Throw<FormatException>().WithMessage("*tensor '*' (F32, shape [*]) has byte range*does not fit*");
        File.WriteAllBytes(weightsPath, Encoding.UTF8.GetBytes("not a safetensors file at all"));
        load.Should().Throw<FormatException>().WithMessage("*is not a safetensors file*");
        File.Delete(weightsPath);
        load.Should().Throw<FileNotFoundException>().WithMessage("*holds neither sae.safetensors (sparsify) nor sae_weights.safetensors (SAELens)*");
    }

    private static SaeWeights RandomWeights(Random random)
    {
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        return new SaeWeights(D, N, Values(N * D), Values(N), Values(N * D), Values(D));
    }

    /// <summary>The weights as the dtype stores them, so the expected values are what the file holds.</summary>
    private static SaeWeights RoundTo(SaeWeights weights, string dtype)
    {
        float Round(float v) => dtype switch
        {
            "F16" => (float)(Half)v,
            "BF16" => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & unchecked((int)0xFFFF0000)),
            _ => v,
        };
        return weights with
        {
            EncoderWeight = Array.ConvertAll(weights.EncoderWeight, Round),
            EncoderBias = Array.ConvertAll(weights.EncoderBias, Round),
            DecoderWeight = Array.ConvertAll(weights.DecoderWeight, Round),
            DecoderBias = Array.ConvertAll(weights.DecoderBias, Round),
        };
    }

    /// <summary>A safetensors file written as the Python library writes one: header JSON, no padding, tensors back to back.</summary>
    private static void WritePythonStyle(string path, string dtype, params (string Name, int[] Shape, float[] Values)[] tensors)
    {
        var size = dtype == "F32" ? 4 : 2;
        var header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        var offset = 0;
        foreach (var (name, shape, values) in tensors)
        {
            header.Append($",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + values.Length * size}]}}");
            offset += values.Length * size;
        }

        header.Append('}');
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using var stream = File.Create(path);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        var element = new byte[4];
        foreach (var (_, _, values) in tensors)
        {
            foreach (var value in values)
            {
                if (dtype == "F32")
                    BinaryPrimitives.WriteSingleLittleEndian(element, value);
                else if (dtype == "F16")
                    BinaryPrimitives.WriteHalfLittleEndian(element, (Half)value);
                else
                    BinaryPrimitives.WriteUInt16LittleEndian(element, (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                stream.Write(element, 0, size);
            }
        }
    }

    private static string ReadHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        length.Should().Be((length + 7) / 8 * 8, "the data starts 8-byte aligned");
        return Encoding.UTF8.GetString(bytes, 8, length).TrimEnd(' ');
    }
}
