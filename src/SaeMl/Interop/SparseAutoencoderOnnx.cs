using Onnx;
using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Interop;

/// <summary>
/// Exports a <see cref="SparseAutoencoder"/> as two ONNX models (opset 17) that any ONNX runtime runs, from
/// Python, Java or a browser: the encoder and the decoder.
/// </summary>
/// <remarks>
/// <para>Encoder: input <c>embedding</c> <c>[batch, d]</c>; outputs <c>latent_indices</c> (int64) and
/// <c>latent_values</c> <c>[batch, K]</c>, the K latents ordered by descending pre-activation (SaeMl's
/// <see cref="SparseCodes"/> order them by index), and <c>latents</c> <c>[batch, n]</c>, the same values
/// scattered into a dense row. The graph is <c>MatMul(x − b_dec, W_encᵀ) + b_enc → TopK → ReLU</c> (with an
/// <see cref="SparseAutoencoder.ActivationThreshold"/> θ, <c>ThresholdedRelu(α = θ)</c> in place of the ReLU), the
/// function <see cref="SparseAutoencoder.Encode(ReadOnlySpan{float})"/> computes.</para>
/// <para>Decoder: inputs <c>latent_indices</c> and <c>latent_values</c> as the encoder writes them (or any
/// K per row); output <c>reconstruction</c> <c>[batch, d]</c> = Σ values · W_dec[indices] + b_dec, reading
/// only the K decoder rows each row uses.</para>
/// <para>Weights are stored inside each model, which protobuf limits to 2 GiB: n · d up to about 500
/// million (n = 196,608 latents at d = 768 take 604 MB per matrix).</para>
/// </remarks>
public static class SparseAutoencoderOnnx
{
    private const long MaxWeightBytes = 2_000_000_000L;

    /// <summary>Writes the encoder model to <paramref name="path"/> (under a temporary name, then renamed).</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="path">The <c>.onnx</c> file to write; an existing file is replaced.</param>
    /// <exception cref="ArgumentException">The weights are too large for one ONNX file.</exception>
    public static void SaveEncoder(SparseAutoencoder autoencoder, string path)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        var weights = Weights(autoencoder);
        var (d, n) = (weights.Dimension, weights.LatentSize);
        var graph = new OnnxGraphBuilder("saeml-sae-encoder");
        graph.AddInput("embedding", TensorProto.Types.DataType.Float, "batch", d);
        var transposed = new float[(long)d * n];
        for (var j = 0; j < n; j++)
        {
            for (var i = 0; i < d; i++)
                transposed[(long)i * n + j] = weights.EncoderWeight[(long)j * d + i];
        }

        graph.AddConstant("W_enc_t", transposed, d, n);
        graph.AddConstant("b_enc", weights.EncoderBias, n);
        graph.AddConstant("b_dec", weights.DecoderBias, d);
        graph.AddConstant("k", [(long)autoencoder.ActiveLatents], 1);
        var centred = graph.AddNode("Sub", ["embedding", "b_dec"], "centred");
        var product = graph.AddNode("MatMul", [centred, "W_enc_t"], "product");
        var pre = graph.AddNode("Add", [product, "b_enc"], "pre_activations");
        var node = graph.AddNode("TopK", [pre, "k"], "top_values", ("axis", -1L), ("largest", 1L), ("sorted", 1L));
        graph.AddNodeOutput(node, "latent_indices");
        if (autoencoder.ActivationThreshold > 0)
            graph.AddNode("ThresholdedRelu", ["top_values"], "latent_values", ("alpha", autoencoder.ActivationThreshold));
        else
            graph.AddNode("Relu", ["top_values"], "latent_values");
        var shape = graph.AddNode("Shape", [pre], "dense_shape");
        var zeros = graph.AddNode("ConstantOfShape", [shape], "zeros");
        graph.AddNode("ScatterElements", [zeros, "latent_indices", "latent_values"], "latents", ("axis", 1L));
        graph.AddOutput("latent_indices", TensorProto.Types.DataType.Int64, "batch", autoencoder.ActiveLatents);
        graph.AddOutput("latent_values", TensorProto.Types.DataType.Float, "batch", autoencoder.ActiveLatents);
        graph.AddOutput("latents", TensorProto.Types.DataType.Float, "batch", n);
        AtomicFile.Write(path, stream => stream.Write(graph.ToBytes()));
    }

    /// <summary>Writes the decoder model to <paramref name="path"/> (under a temporary name, then renamed).</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="path">The <c>.onnx</c> file to write; an existing file is replaced.</param>
    /// <exception cref="ArgumentException">The weights are too large for one ONNX file.</exception>
    public static void SaveDecoder(SparseAutoencoder autoencoder, string path)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        var weights = Weights(autoencoder);
        var graph = new OnnxGraphBuilder("saeml-sae-decoder");
        graph.AddInput("latent_indices", TensorProto.Types.DataType.Int64, "batch", "k");
        graph.AddInput("latent_values", TensorProto.Types.DataType.Float, "batch", "k");
        graph.AddConstant("W_dec", weights.DecoderWeight, weights.LatentSize, weights.Dimension);
        graph.AddConstant("b_dec", weights.DecoderBias, weights.Dimension);
        graph.AddConstant("last_axis", [2L], 1);
        graph.AddConstant("k_axis", [1L], 1);
        var rows = graph.AddNode("Gather", ["W_dec", "latent_indices"], "decoder_rows", ("axis", 0L));
        var scale = graph.AddNode("Unsqueeze", ["latent_values", "last_axis"], "scale");
        var scaled = graph.AddNode("Mul", [rows, scale], "scaled_rows");
        var sum = graph.AddNode("ReduceSum", [scaled, "k_axis"], "decoded", ("keepdims", 0L));
        graph.AddNode("Add", [sum, "b_dec"], "reconstruction");
        graph.AddOutput("reconstruction", TensorProto.Types.DataType.Float, "batch", weights.Dimension);
        AtomicFile.Write(path, stream => stream.Write(graph.ToBytes()));
    }

    private static SaeWeights Weights(SparseAutoencoder autoencoder)
    {
        var bytes = (long)autoencoder.LatentSize * autoencoder.Dimension * sizeof(float);
        if (bytes > MaxWeightBytes)
            throw new ArgumentException($"An autoencoder of {autoencoder.LatentSize:N0} latents × {autoencoder.Dimension} dimensions holds {bytes / 1e9:F1} GB per weight matrix; one ONNX file holds 2 GB at most.", nameof(autoencoder));
        return autoencoder.GetWeights();
    }
}
