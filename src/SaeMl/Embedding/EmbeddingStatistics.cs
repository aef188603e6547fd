namespace SaeMl.Embedding;

/// <summary>What a <see cref="TextEmbedder"/> has done: texts, real tokens, tokens including padding, and model calls.</summary>
/// <param name="Texts">Texts embedded.</param>
/// <param name="Tokens">Real tokens, special tokens included.</param>
/// <param name="PaddedTokens">Token positions sent to the model, padding included.</param>
/// <param name="ModelRuns">ONNX Runtime calls.</param>
public readonly record struct EmbeddingStatistics(long Texts, long Tokens, long PaddedTokens, long ModelRuns)
{
    /// <summary>The share of token positions that were padding (0 when nothing ran).</summary>
    public double PaddingFraction => PaddedTokens == 0 ? 0 : 1 - (double)Tokens / PaddedTokens;
}
