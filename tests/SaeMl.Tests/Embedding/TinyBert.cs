using Onnx;
using SaeMl.Demo;
using SaeMl.Interop;

namespace SaeMl.Tests.Embedding;

/// <summary>
/// A tiny BERT-shaped ONNX model and its vocabulary, with the embeddings it must produce computed by
/// hand in C#. Token t of a text with token ids x_1..x_n gets the hidden vector
/// h_t = E[x_t] + T[0] + m, where E is the token table, T the token-type table (when the model takes
/// token types) and m = mean over the text's tokens of (E[x] + T[0]); padded positions are zeroed by
/// the attention mask. So the [CLS] vector, the mean and the last token's vector all depend on the
/// whole text, and on nothing else in the batch.
/// </summary>
internal static class TinyBert
{
    public const int Hidden = 8;

    public static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "cat", "sat", "on", "mat", "dog", "runs", "fast", "a", "very", "long", "text", "query", ":", "rain",
    ];

    public const int Cls = 2;
    public const int Sep = 3;
    public const int Unknown = 1;

    public static int Id(string word) => Array.IndexOf(Vocabulary, word) is var id and >= 0 ? id : Unknown;

    /// <summary>[CLS] + the words' ids + [SEP]; words are split on spaces, as the tests write them.</summary>
    public static int[] Tokens(string text) =>
        [Cls, .. text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Id), Sep];

    public static float[] TokenTable { get; } = Table(Vocabulary.Length, seed: 11);

    public static float[] TypeTable { get; } = Table(2, seed: 12);

    public static void WriteVocabulary(string path) => File.WriteAllLines(path, Vocabulary);

    /// <summary>Token-level vectors h_t of one text, by hand.</summary>
    public static double[][] HiddenStates(int[] tokens, bool tokenTypes)
    {
        var embedded = tokens.Select(id => Enumerable.Range(0, Hidden)
            .Select(j => (double)TokenTable[id * Hidden + j] + (tokenTypes ? TypeTable[j] : 0)).ToArray()).ToArray();
        var mean = Enumerable.Range(0, Hidden).Select(j => embedded.Average(v => v[j])).ToArray();
        return embedded.Select(v => v.Select((x, j) => x + mean[j]).ToArray()).ToArray();
    }

    /// <summary>The embedding EmbedText must give, by hand.</summary>
    public static float[] Expected(int[] tokens, SaeMl.Embedding.EmbeddingPooling pooling, bool normalize, bool tokenTypes = true)
    {
        var states = HiddenStates(tokens, tokenTypes);
        var pooled = pooling switch
        {
            SaeMl.Embedding.EmbeddingPooling.Cls => states[0],
            SaeMl.Embedding.EmbeddingPooling.LastToken => states[^1],
            _ => Enumerable.Range(0, Hidden).Select(j => states.Average(v => v[j])).ToArray(),
        };
        var norm = normalize ? Math.Sqrt(pooled.Sum(x => x * x)) : 1;
        return pooled.Select(x => (float)(x / norm)).ToArray();
    }

    /// <summary>
    /// The model: inputs input_ids and attention_mask (and token_type_ids when asked), int64 or int32,
    /// [batch, tokens]; output last_hidden_state [batch, tokens, hidden], or with <paramref name="pooled"/>
    /// a masked mean named sentence_embedding [batch, hidden].
    /// </summary>
    /// <param name="tokenTypes">Take token_type_ids.</param>
    /// <param name="int32">Int32 inputs instead of int64.</param>
    /// <param name="pooled">Output the masked mean as sentence_embedding.</param>
    /// <param name="extraInput">An input EmbedText cannot fill.</param>
    /// <param name="withMask">Take attention_mask.</param>
    /// <param name="wrongShape">Declare last_hidden_state [batch, tokens, hidden] but return [batch, 1, hidden].</param>
    public static byte[] Model(bool tokenTypes = true, bool int32 = false, bool pooled = false, string? extraInput = null, bool withMask = true, bool wrongShape = false)
    {
        var ids = int32 ? TensorProto.Types.DataType.Int32 : TensorProto.Types.DataType.Int64;
        var graph = new OnnxGraphBuilder("tiny-bert");
        graph.AddInput("input_ids", ids, "batch", "tokens");
        if (withMask)
            graph.AddInput("attention_mask", ids, "batch", "tokens");
        if (tokenTypes)
            graph.AddInput("token_type_ids", ids, "batch", "tokens");
        if (extraInput is not null)
            graph.AddInput(extraInput, ids, "batch", "tokens");

        graph.AddConstant("E", TokenTable, Vocabulary.Length, Hidden);
        graph.AddConstant("T", TypeTable, 2, Hidden);
        graph.AddConstant("axis1", [1L], 1);
        graph.AddConstant("axis2", [2L], 1);
        graph.AddConstant("one", [1f]);

        var embedded = graph.AddNode("Gather", ["E", "input_ids"], "embedded");
        if (tokenTypes)
            embedded = graph.AddNode("Add", [embedded, graph.AddNode("Gather", ["T", "token_type_ids"], "types")], "embedded_typed");
        var mask = withMask
            ? graph.AddNode("Unsqueeze", [graph.AddNode("Cast", ["attention_mask"], "mask_float", ("to", 1L)), "axis2"], "mask")
            : graph.AddNode("Unsqueeze", [graph.AddNode("Cast", ["input_ids"], "ids_float", ("to", 1L)), "axis2"], "mask_like");
        var mean = MaskedMean(graph, embedded, mask, "context");
        var states = graph.AddNode("Mul", [graph.AddNode("Add", [embedded, graph.AddNode("Unsqueeze", [mean, "axis1"], "context_row")], "with_context"), mask], wrongShape ? "states" : "last_hidden_state");
        if (wrongShape)
            states = graph.AddNode("ReduceSum", [states, "axis1"], "last_hidden_state", ("keepdims", 1L));

        if (pooled)
        {
            MaskedMean(graph, states, mask, "sentence_embedding");
            graph.AddOutput("sentence_embedding", TensorProto.Types.DataType.Float, "batch", Hidden);
        }
        else
        {
            graph.AddOutput(states, TensorProto.Types.DataType.Float, "batch", "tokens", Hidden);
        }

        return graph.ToBytes();
    }

    private static string MaskedMean(OnnxGraphBuilder graph, string values, string mask, string output)
    {
        var sum = graph.AddNode("ReduceSum", [graph.AddNode("Mul", [values, mask], output + "_masked"), "axis1"], output + "_sum", ("keepdims", 0L));
        var count = graph.AddNode("ReduceSum", [mask, "axis1"], output + "_count", ("keepdims", 0L));
        return graph.AddNode("Div", [sum, graph.AddNode("Max", [count, "one"], output + "_safe")], output);
    }

    private static float[] Table(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * Hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
