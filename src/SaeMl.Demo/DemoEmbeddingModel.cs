using Onnx;
using SaeMl.Interop;

namespace SaeMl.Demo;

/// <summary>
/// The demo world's embedding model: a token table built from concept directions plus word noise,
/// masked mean pooling, a fixed anisotropic linear map, and L2 normalisation. Written as a real ONNX
/// graph that <c>EmbedText</c> runs like any other model, and computed here in C# as the reference.
/// </summary>
/// <remarks>
/// Graph: <c>input_ids</c>, <c>attention_mask</c> (int64, <c>[batch, tokens]</c>) → Gather(token table)
/// → masked mean over tokens → MatMul(map) → divide by the L2 norm → <c>sentence_embedding</c>
/// (<c>[batch, dimension]</c>). The map scales output direction j by 1 / sqrt(1 + j / 8) after a random
/// rotation-like mix, so the embeddings are not isotropic, as real ones are not.
/// </remarks>
internal sealed class DemoEmbeddingModel
{
    private const double ConceptWordNoise = 0.5;
    private const double FillerNorm = 0.6;
    private const double SpecialNorm = 0.3;
    private const int TopicSize = 10;

    private DemoEmbeddingModel(int dimension, float[] tokenTable, float[] map)
    {
        Dimension = dimension;
        TokenTable = tokenTable;
        Map = map;
    }

    public int Dimension { get; }

    /// <summary>Row-major <c>[vocabulary, dimension]</c>.</summary>
    public float[] TokenTable { get; }

    /// <summary>Row-major <c>[dimension, dimension]</c>.</summary>
    public float[] Map { get; }

    /// <summary>
    /// Builds the weights: word w of concept c gets u_c + 0.5·n_w (u_c a random unit direction, n_w
    /// noise of norm about 1); filler words noise of norm about 0.6; special tokens about 0.3; padding zero.
    /// </summary>
    /// <param name="random">The stream the weights are drawn from.</param>
    /// <param name="dimension">The embedding dimension.</param>
    /// <param name="vocabulary">Tokens in id order.</param>
    /// <param name="conceptOfToken">The concept of each token id, or -1 for fillers and special tokens.</param>
    /// <param name="conceptCount">The number of concepts.</param>
    /// <param name="hardness">The hard world's stream and settings: a common direction added to every token but padding, and
    /// concept directions correlated within topics of ten; null for the standard world (nothing more is drawn).</param>
    public static DemoEmbeddingModel Create(Random random, int dimension, IReadOnlyList<string> vocabulary, IReadOnlyList<int> conceptOfToken, int conceptCount,
        (Random Random, double CommonDirection, double ConceptCorrelation)? hardness = null)
    {
        var directions = Enumerable.Range(0, conceptCount).Select(_ => Normalised(Gaussian(random, dimension, 1.0))).ToArray();
        var common = new double[dimension];
        if (hardness is var (hardRandom, strength, correlation))
        {
            var topics = Enumerable.Range(0, (conceptCount + TopicSize - 1) / TopicSize).Select(_ => Normalised(Gaussian(hardRandom, dimension, 1.0))).ToArray();
            for (var c = 0; c < conceptCount; c++)
                directions[c] = Normalised(directions[c].Select((v, j) => Math.Sqrt(1 - correlation) * v + Math.Sqrt(correlation) * topics[c / TopicSize][j]).ToArray());
            common = Normalised(Gaussian(hardRandom, dimension, 1.0)).Select(v => strength * v).ToArray();
        }

        var table = new float[vocabulary.Count * dimension];
        for (var id = 0; id < vocabulary.Count; id++)
        {
            var token = vocabulary[id];
            var concept = conceptOfToken[id];
            var noise = Gaussian(random, dimension, 1.0 / Math.Sqrt(dimension));
            for (var j = 0; j < dimension; j++)
            {
                table[id * dimension + j] = token == "[PAD]" ? 0f
                    : concept >= 0 ? (float)(directions[concept][j] + ConceptWordNoise * noise[j] + common[j])
                    : (float)((token.StartsWith('[') ? SpecialNorm : FillerNorm) * noise[j] + common[j]);
            }
        }

        var map = new float[dimension * dimension];
        for (var i = 0; i < dimension; i++)
        {
            var row = Gaussian(random, dimension, 1.0 / Math.Sqrt(dimension));
            for (var j = 0; j < dimension; j++)
                map[i * dimension + j] = (float)(row[j] / Math.Sqrt(1 + j / 8.0));
        }

        return new DemoEmbeddingModel(dimension, table, map);
    }

    /// <summary>The embedding of a token sequence, computed in double precision: the reference ONNX Runtime must match.</summary>
    public float[] Embed(IReadOnlyList<int> tokens)
    {
        var mean = new double[Dimension];
        foreach (var id in tokens)
        {
            for (var j = 0; j < Dimension; j++)
                mean[j] += TokenTable[id * Dimension + j];
        }

        var projected = new double[Dimension];
        for (var i = 0; i < Dimension; i++)
        {
            var value = mean[i] / tokens.Count;
            for (var j = 0; j < Dimension; j++)
                projected[j] += value * Map[i * Dimension + j];
        }

        var norm = Math.Sqrt(projected.Sum(v => v * v));
        return projected.Select(v => (float)(v / norm)).ToArray();
    }

    /// <summary>The ONNX graph of the model.</summary>
    public byte[] ToOnnx()
    {
        var graph = new OnnxGraphBuilder("saeml-demo-embedder");
        graph.AddInput("input_ids", TensorProto.Types.DataType.Int64, "batch", "tokens");
        graph.AddInput("attention_mask", TensorProto.Types.DataType.Int64, "batch", "tokens");
        graph.AddConstant("token_table", TokenTable, TokenTable.Length / Dimension, Dimension);
        graph.AddConstant("map", Map, Dimension, Dimension);
        graph.AddConstant("token_axis", [1L], 1);
        graph.AddConstant("last_axis", [2L], 1);
        graph.AddConstant("one", [1f]);
        graph.AddConstant("tiny", [1e-12f]);

        var tokens = graph.AddNode("Gather", ["token_table", "input_ids"], "token_vectors");                              // [batch, tokens, d]
        var mask = graph.AddNode("Unsqueeze", [graph.AddNode("Cast", ["attention_mask"], "mask_float", ("to", 1L)), "last_axis"], "mask"); // [batch, tokens, 1]
        var sum = graph.AddNode("ReduceSum", [graph.AddNode("Mul", [tokens, mask], "kept"), "token_axis"], "sum", ("keepdims", 0L)); // [batch, d]
        var count = graph.AddNode("Max", [graph.AddNode("ReduceSum", [mask, "token_axis"], "count", ("keepdims", 0L)), "one"], "safe_count"); // [batch, 1]
        var projected = graph.AddNode("MatMul", [graph.AddNode("Div", [sum, count], "mean"), "map"], "projected");       // [batch, d]
        var norm = graph.AddNode("Max", [graph.AddNode("ReduceL2", [projected], "norm", ("axes", new long[] { 1 }), ("keepdims", 1L)), "tiny"], "safe_norm");
        graph.AddNode("Div", [projected, norm], "sentence_embedding");
        graph.AddOutput("sentence_embedding", TensorProto.Types.DataType.Float, "batch", Dimension);
        return graph.ToBytes();
    }

    /// <summary>
    /// Approximately normal values from sums of 12 uniforms (Irwin–Hall): only additions, so the same
    /// seed gives the same bits on every machine, unlike transforms that call Log or Cos.
    /// </summary>
    internal static double[] Gaussian(Random random, int count, double deviation)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            var sum = 0.0;
            for (var k = 0; k < 12; k++)
                sum += random.NextDouble();
            values[i] = (sum - 6) * deviation;
        }

        return values;
    }

    private static double[] Normalised(double[] vector)
    {
        var norm = Math.Sqrt(vector.Sum(v => v * v));
        return vector.Select(v => v / norm).ToArray();
    }
}
