namespace SaeMl.Data;

/// <summary>A run of consecutive rows read from an <see cref="EmbeddingStore"/>.</summary>
/// <param name="FirstRow">The store row of the batch's first embedding.</param>
/// <param name="RowCount">The number of embeddings in the batch.</param>
/// <param name="Values">
/// The embeddings, row-major <c>[RowCount, Dimension]</c>. When the batch comes from
/// <see cref="EmbeddingStore.ReadBatches"/>, the buffer is reused by the next batch.
/// </param>
public readonly record struct EmbeddingBatch(long FirstRow, int RowCount, ReadOnlyMemory<float> Values);
