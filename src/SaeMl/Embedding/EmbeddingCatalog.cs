using Microsoft.ML.Data;
using SaeMl.Compute;
using SaeMl.MLNet;
using SaeMl.Embedding;

// In ML.NET's namespace, as ML.NET's own extension packages put their catalogs: `using Microsoft.ML;` is all an application needs.
namespace Microsoft.ML;

/// <summary>The <c>EmbedText</c> transform on <c>mlContext.Transforms</c>.</summary>
public static class EmbeddingCatalog
{
    /// <summary>
    /// Embeds the text in <paramref name="inputColumnName"/> with an ONNX embedding model into a vector
    /// column <paramref name="outputColumnName"/>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The embedding column: a vector of Single of the model's hidden size.</param>
    /// <param name="inputColumnName">The text column.</param>
    /// <param name="modelPath">The ONNX model (inputs <c>input_ids</c>, <c>attention_mask</c>, optionally <c>token_type_ids</c>).</param>
    /// <param name="vocabularyPath">The model's <c>vocab.txt</c> or WordPiece <c>tokenizer.json</c>.</param>
    /// <param name="pooling">How token vectors become one (ignored for pooled model outputs).</param>
    /// <param name="normalize">Scale every embedding to unit L2 norm.</param>
    /// <param name="prefix">Text put before every input, e.g. a query instruction.</param>
    /// <param name="maxTokens">Tokens per text including special tokens; longer texts are cut.</param>
    /// <param name="batchSize">Texts per ONNX Runtime call.</param>
    /// <param name="device">Where ONNX Runtime runs; null means <c>auto</c>.</param>
    /// <param name="allowCpuFallback">With <c>cuda</c> and no usable GPU, run on the CPU (logged) instead of failing.</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.EmbedText("Embedding", "Text", "bge-base.onnx", "vocab.txt");
    /// var embedded = pipeline.Fit(data).Transform(data);
    /// </code>
    /// </example>
    public static TextEmbeddingEstimator EmbedText(
        this TransformsCatalog catalog,
        string outputColumnName,
        string inputColumnName,
        string modelPath,
        string vocabularyPath,
        EmbeddingPooling pooling = TextEmbedderOptions.Defaults.Pooling,
        bool normalize = true,
        string prefix = "",
        int maxTokens = TextEmbedderOptions.Defaults.MaxTokens,
        int batchSize = TextEmbedderOptions.Defaults.BatchSize,
        ComputeDevice? device = null,
        bool allowCpuFallback = false) =>
        EmbedText(catalog, new TextEmbedderOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelPath = modelPath,
            VocabularyPath = vocabularyPath,
            Pooling = pooling,
            Normalize = normalize,
            Prefix = prefix,
            MaxTokens = maxTokens,
            BatchSize = batchSize,
            Device = device ?? ComputeDevice.Auto,
            AllowCpuFallback = allowCpuFallback,
        });

    /// <summary>Embeds text with every setting of <see cref="TextEmbedderOptions"/>, its columns included.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, model, vocabulary and embedding settings (copied).</param>
    public static TextEmbeddingEstimator EmbedText(this TransformsCatalog catalog, TextEmbedderOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new TextEmbeddingEstimator(MLNetInternals.Environment(catalog), options);
    }
}
