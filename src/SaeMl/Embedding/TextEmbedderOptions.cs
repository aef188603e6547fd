using SaeMl.Compute;

namespace SaeMl.Embedding;

/// <summary>
/// Settings of a <see cref="TextEmbedder"/> and of the <c>EmbedText</c> transform: the transform's columns,
/// the ONNX model, its vocabulary, pooling, normalisation, query prefix, truncation, batching and device.
/// </summary>
public class TextEmbedderOptions
{
    /// <summary>Default values, shared by the API and the command line.</summary>
    public static class Defaults
    {
        /// <summary>Pooling of token vectors: the <c>[CLS]</c> token, as bge-base.</summary>
        public const EmbeddingPooling Pooling = EmbeddingPooling.Cls;

        /// <summary>Tokens per text, special tokens included; longer texts are truncated.</summary>
        public const int MaxTokens = 512;

        /// <summary>Texts per ONNX Runtime call.</summary>
        public const int BatchSize = 32;

        /// <summary>Rows the <c>EmbedText</c> cursor reads ahead and sorts by length, as a multiple of <see cref="BatchSize"/>.</summary>
        public const int ReadAheadBatches = 16;

        /// <summary>The largest batch size: a read-ahead of this many batches of 4,096-wide vectors stays under 1 GiB.</summary>
        public const int MaxBatchSize = 4096;

        /// <summary>The largest token limit: a batch of <see cref="MaxBatchSize"/> texts this long stays under 1 GiB of ids.</summary>
        public const int MaxMaxTokens = 32768;
    }

    /// <summary>The <c>EmbedText</c> transform's embedding column (a vector of Single of the model's hidden size); a <see cref="TextEmbedder"/> alone ignores the column names.</summary>
    public string OutputColumnName = "Embedding";

    /// <summary>The <c>EmbedText</c> transform's text column.</summary>
    public string InputColumnName = "Text";

    /// <summary>The ONNX model file: a BERT-family encoder with inputs <c>input_ids</c>, <c>attention_mask</c> and optionally <c>token_type_ids</c>.</summary>
    public string ModelPath = string.Empty;

    /// <summary>The WordPiece vocabulary: <c>vocab.txt</c>, or a <c>tokenizer.json</c> whose model is WordPiece.</summary>
    public string VocabularyPath = string.Empty;

    /// <summary>Lower-case text before tokenization (uncased models); null takes tokenizer.json's setting, or true for vocab.txt.</summary>
    public bool? LowerCase;

    /// <summary>How token vectors become one vector; ignored when the model's output is already pooled.</summary>
    public EmbeddingPooling Pooling = Defaults.Pooling;

    /// <summary>Scale every embedding to unit L2 norm (on by default, as the paper's models are used).</summary>
    public bool Normalize = true;

    /// <summary>
    /// Text put before every input, e.g. bge's query instruction
    /// "Represent this sentence for searching relevant passages: " (empty by default).
    /// </summary>
    public string Prefix = string.Empty;

    /// <summary>Tokens per text including <c>[CLS]</c> and <c>[SEP]</c>; longer texts are cut, keeping the final <c>[SEP]</c>. From 2 to 32,768.</summary>
    public int MaxTokens = Defaults.MaxTokens;

    /// <summary>Texts per ONNX Runtime call, from 1 to 4,096.</summary>
    public int BatchSize = Defaults.BatchSize;

    /// <summary>Order the texts of a call by token count so batches carry little padding (results keep input order).</summary>
    public bool SortByLength = true;

    /// <summary>The model output to use; null takes <c>sentence_embedding</c>, else <c>last_hidden_state</c>, else the only output.</summary>
    public string? OutputName;

    /// <summary>Where ONNX Runtime runs: <c>auto</c> tries CUDA and uses the CPU when it is not available.</summary>
    public ComputeDevice Device = ComputeDevice.Auto;

    /// <summary>When <see cref="Device"/> is <c>cuda</c> and CUDA is not available, use the CPU (with a logged message) instead of failing.</summary>
    public bool AllowCpuFallback;

    /// <summary>A copy, so later changes to these options do not reach a model already built.</summary>
    internal TextEmbedderOptions Copy() => (TextEmbedderOptions)MemberwiseClone();

    /// <summary>Checks the values; names the first one out of range.</summary>
    internal void Validate()
    {
        if (MaxTokens is < 2 or > Defaults.MaxMaxTokens)
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, $"MaxTokens must be from 2 ([CLS] and [SEP]) to {Defaults.MaxMaxTokens}.");
        if (BatchSize is < 1 or > Defaults.MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be from 1 to {Defaults.MaxBatchSize}.");
        if (!Enum.IsDefined(Pooling))
            throw new ArgumentOutOfRangeException(nameof(Pooling), Pooling, "Unknown pooling.");
        ArgumentNullException.ThrowIfNull(Prefix);
    }
}
