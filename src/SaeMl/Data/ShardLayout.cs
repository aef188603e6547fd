namespace SaeMl.Data;

/// <summary>How the rows of an <see cref="EmbeddingStore"/> are spread over its shards.</summary>
public enum ShardLayout
{
    /// <summary>Shard 0 holds the first rows, shard 1 the next ones, and so on.</summary>
    Contiguous,

    /// <summary>
    /// Row <c>i</c> of S shards is row <c>i / S</c> of shard <c>i % S</c>, the layout of the paper's
    /// reference embedding shards. Shard sizes then differ by at most one, larger shards first.
    /// </summary>
    RoundRobin,
}
