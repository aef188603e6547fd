namespace SaeMl.Embedding;

/// <summary>How a token-level model output (<c>last_hidden_state</c>, <c>[batch, tokens, hidden]</c>) becomes one vector per text.</summary>
public enum EmbeddingPooling
{
    /// <summary>The first token's vector (the <c>[CLS]</c> token), as bge-base uses.</summary>
    Cls,

    /// <summary>The mean of the vectors of the tokens the attention mask keeps, as MiniCPM-Embedding uses.</summary>
    Mean,

    /// <summary>The last kept token's vector, as decoder-style embedding models use.</summary>
    LastToken,
}
