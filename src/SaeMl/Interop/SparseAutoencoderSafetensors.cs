using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;

namespace SaeMl.Interop;

/// <summary>
/// Saves and loads a <see cref="SparseAutoencoder"/> in the layout of Python's TopK SAE libraries: a folder
/// with <c>sae.safetensors</c> and <c>cfg.json</c>, as EleutherAI's sparsify writes them, so a model
/// trained here opens in Python and one trained there opens here.
/// </summary>
/// <remarks>
/// <para>Written (sparsify's names): <c>encoder.weight</c> <c>[n, d]</c>, <c>encoder.bias</c> <c>[n]</c>,
/// <c>W_dec</c> <c>[n, d]</c>, <c>b_dec</c> <c>[d]</c>, float32; <c>cfg.json</c> holds <c>d_in</c>,
/// <c>num_latents</c>, <c>k</c>, <c>expansion_factor</c>, <c>normalize_decoder</c> and
/// <c>multi_topk</c>. sparsify's TopK SAE computes the same function as SaeMl's: the K largest of
/// <c>ReLU(W_enc (x − b_dec) + b_enc)</c>, decoded as <c>W_dec h + b_dec</c>.</para>
/// <para>Read: that layout, and SAELens's TopK layout (<c>W_enc</c> <c>[d, n]</c>, <c>b_enc</c>,
/// <c>W_dec</c>, <c>b_dec</c> in <c>sae_weights.safetensors</c>, with <c>d_in</c>, <c>d_sae</c> and K in
/// <c>k</c> or <c>activation_fn_kwargs.k</c> of <c>cfg.json</c>; <c>apply_b_dec_to_input: false</c> is
/// folded into the encoder bias, <c>rescale_acts_by_decoder_norm</c> into the encoder, input normalisation
/// other than <c>none</c> is refused); tensors in float32, float16 or bfloat16. Variants that compute another
/// function (sparsify's <c>groupmax</c> activation, transcoders, skip connections; SAELens's other
/// architectures) and files with further tensors are refused.</para>
/// </remarks>
public static class SparseAutoencoderSafetensors
{
    /// <summary>The weights file a saved folder holds.</summary>
    public const string WeightsFileName = "sae.safetensors";

    /// <summary>The configuration file beside it.</summary>
    public const string ConfigFileName = "cfg.json";

    private const string SaeLensWeightsFileName = "sae_weights.safetensors";

    /// <summary>Writes <see cref="WeightsFileName"/> and <see cref="ConfigFileName"/> into <paramref name="folder"/> (created if missing), each under a temporary name first.</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="folder">The folder to write into; files of these names there are replaced.</param>
    /// <exception cref="ArgumentException">The autoencoder has an activation threshold (BatchTopK), which the layout cannot state.</exception>
    public static void Save(SparseAutoencoder autoencoder, string folder)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (autoencoder.ActivationThreshold > 0)
            throw new ArgumentException($"The autoencoder keeps activations above a threshold ({autoencoder.ActivationThreshold}, BatchTopK); sparsify's TopK layout has no place for it, "
                + "and a TopK reader would compute another function. Save it as an ML.NET zip or export it to ONNX instead.", nameof(autoencoder));
        var weights = autoencoder.GetWeights();
        var (n, d) = ((long)weights.LatentSize, (long)weights.Dimension);
        var tensors = new (string Name, long[] Shape, float[] Values)[]
        {
            ("encoder.weight", [n, d], weights.EncoderWeight),
            ("encoder.bias", [n], weights.EncoderBias),
            ("W_dec", [n, d], weights.DecoderWeight),
            ("b_dec", [d], weights.DecoderBias),
        };

        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt", ["producer"] = "SaeMl" } };
        var offset = 0L;
        foreach (var (name, shape, values) in tensors)
        {
            var end = offset + values.LongLength * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]),
                ["data_offsets"] = new JsonArray(offset, end),
            };
            offset = end;
        }

        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (headerBytes.Length + 7) / 8 * 8; // the data starts 8-byte aligned; the header is padded with spaces
        Directory.CreateDirectory(folder);
        AtomicFile.Write(Path.Combine(folder, WeightsFileName), stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(headerBytes);
            for (var i = headerBytes.Length; i < padded; i++)
                stream.WriteByte((byte)' ');
            foreach (var (_, _, values) in tensors)
            {
                if (!BitConverter.IsLittleEndian)
                    throw new PlatformNotSupportedException("safetensors are little-endian; writing them on a big-endian machine is not supported.");
                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            }
        });

        var config = new JsonObject
        {
            ["d_in"] = weights.Dimension,
            ["num_latents"] = weights.LatentSize,
            ["k"] = autoencoder.ActiveLatents,
            ["expansion_factor"] = weights.LatentSize / weights.Dimension,
            ["normalize_decoder"] = HasUnitDecoderRows(weights),
            ["multi_topk"] = false,
        };
        AtomicFile.Write(Path.Combine(folder, ConfigFileName), stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n")));
    }

    private static bool HasUnitDecoderRows(SaeWeights weights)
    {
        for (var j = 0; j < weights.LatentSize; j++)
        {
            var row = weights.DecoderWeight.AsSpan(j * weights.Dimension, weights.Dimension);
            if (Math.Abs(System.Numerics.Tensors.TensorPrimitives.Norm(row) - 1) > 1e-3)
                return false;
        }

        return true;
    }

    private static void RefuseOtherTensors(SafetensorsFile tensors, string path, params string[] expected)
    {
        if (tensors.Names.FirstOrDefault(name => !expected.Contains(name)) is { } other)
            throw new FormatException($"'{path}' holds tensor '{other}' beside {string.Join(", ", expected)}; SaeMl reads plain TopK autoencoders and would ignore it.");
    }

    /// <summary>The two files <see cref="Load"/> reads for <paramref name="path"/>: the weights file and the <c>cfg.json</c> beside it (which may be missing).</summary>
    /// <param name="path">The folder, or its <c>.safetensors</c> file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist, or the folder holds neither weights file.</exception>
    public static (string Weights, string Config) FilesOf(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        var weightsPath = Directory.Exists(path)
            ? new[] { WeightsFileName, SaeLensWeightsFileName }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists)
              ?? throw new FileNotFoundException($"Folder '{path}' holds neither {WeightsFileName} (sparsify) nor {SaeLensWeightsFileName} (SAELens).")
            : File.Exists(path) ? path : throw new FileNotFoundException($"Could not find the safetensors file '{path}'.", path);
        return (weightsPath, Path.Combine(folder, ConfigFileName));
    }

    /// <summary>Loads a folder in sparsify's or SAELens's layout (or the path of its weights file, with <c>cfg.json</c> beside it).</summary>
    /// <param name="path">The folder, or its <c>.safetensors</c> file.</param>
    /// <param name="device">Where the weights go.</param>
    /// <exception cref="FileNotFoundException">Neither weights file, or no <c>cfg.json</c>, is there.</exception>
    /// <exception cref="FormatException">The file is not safetensors, a tensor is missing or has another shape or type, or K is not in the configuration.</exception>
    public static SparseAutoencoder Load(string path, ComputeDevice device)
    {
        var (weightsPath, configPath) = FilesOf(path);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"'{weightsPath}' has no {ConfigFileName} beside it; it names K, the latents kept per vector.", configPath);

        JsonNode config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(configPath)) ?? throw new FormatException($"'{configPath}' is empty.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"'{configPath}' is not JSON: {e.Message}", e);
        }

        if (config["normalize_activations"]?.GetValue<string>() is { } normalization and not "none")
            throw new FormatException($"'{configPath}' sets normalize_activations to '{normalization}'; SaeMl reads autoencoders whose inputs are not rescaled (\"none\").");
        var k = (config["k"] ?? config["activation_fn_kwargs"]?["k"])?.GetValue<int>()
            ?? throw new FormatException($"'{configPath}' names no K: it needs \"k\" (sparsify) or \"activation_fn_kwargs\": {{\"k\": …}} (SAELens).");
        var tensors = SafetensorsFile.Read(weightsPath);
        SaeWeights weights;
        if (tensors.ContainsKey("encoder.weight"))
        {
            // sparsify's variants that compute another function than a TopK SAE.
            if (config["activation"]?.GetValue<string>() is { } activation and not "topk")
                throw new FormatException($"'{configPath}' sets activation to '{activation}'; SaeMl reads TopK autoencoders.");
            foreach (var flag in new[] { "transcode", "skip_connection" })
            {
                if (config[flag]?.GetValue<bool>() == true)
                    throw new FormatException($"'{configPath}' sets {flag}; SaeMl reads plain TopK autoencoders (x − b_dec encoded, no skip connection).");
            }

            RefuseOtherTensors(tensors, weightsPath, "encoder.weight", "encoder.bias", "W_dec", "b_dec");
            var (encoder, n, d) = tensors.Matrix("encoder.weight");
            weights = new SaeWeights(d, n, encoder, tensors.Vector("encoder.bias", n), tensors.Matrix("W_dec", n, d), tensors.Vector("b_dec", d));
        }
        else if (tensors.ContainsKey("W_enc"))
        {
            if ((config["architecture"] ?? config["activation_fn_str"] ?? config["activation_fn"])?.GetValue<string>() is { } architecture and not "topk")
                throw new FormatException($"'{configPath}' describes a '{architecture}' autoencoder; SaeMl reads TopK autoencoders.");
            RefuseOtherTensors(tensors, weightsPath, "W_enc", "b_enc", "W_dec", "b_dec");
            var (encoderTransposed, d, n) = tensors.Matrix("W_enc");
            var encoder = new float[encoderTransposed.LongLength];
            for (var i = 0; i < d; i++)
            {
                for (var j = 0; j < n; j++)
                    encoder[(long)j * d + i] = encoderTransposed[(long)i * n + j];
            }

            var encoderBias = tensors.Vector("b_enc", n);
            var decoderBias = tensors.Vector("b_dec", d);
            if (config["apply_b_dec_to_input"]?.GetValue<bool>() == false)
            {
                // SaeMl always encodes x − b_dec; W_enc x + b_enc is the same with b_enc + W_enc b_dec.
                for (var j = 0; j < n; j++)
                {
                    var shift = 0.0;
                    for (var i = 0; i < d; i++)
                        shift += (double)encoder[(long)j * d + i] * decoderBias[i];
                    encoderBias[j] += (float)shift;
                }
            }

            var decoder = tensors.Matrix("W_dec", n, d);
            if (config["rescale_acts_by_decoder_norm"]?.GetValue<bool>() == true)
            {
                // SAELens scales pre-activations by each decoder row's norm; folded in, the rows become unit vectors.
                for (var j = 0; j < n; j++)
                {
                    var row = decoder.AsSpan(j * d, d);
                    var norm = System.Numerics.Tensors.TensorPrimitives.Norm(row);
                    if (norm == 0)
                        continue;
                    System.Numerics.Tensors.TensorPrimitives.Multiply(encoder.AsSpan(j * d, d), norm, encoder.AsSpan(j * d, d));
                    encoderBias[j] *= norm;
                    System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, row);
                }
            }

            weights = new SaeWeights(d, n, encoder, encoderBias, decoder, decoderBias);
        }
        else
        {
            throw new FormatException($"'{weightsPath}' holds neither sparsify's tensors (encoder.weight, encoder.bias, W_dec, b_dec) nor SAELens's (W_enc, b_enc, W_dec, b_dec); it holds {string.Join(", ", tensors.Names)}.");
        }

        if (k < 1 || k > weights.LatentSize)
            throw new FormatException($"'{configPath}' sets K = {k}; it must lie in 1 … {weights.LatentSize}, the latents in '{weightsPath}'.");
        weights.Validate($"'{weightsPath}'");
        return SparseAutoencoder.FromWeights(weights, k, device);
    }
}
