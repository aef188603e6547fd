using SaeMl.Compute;

namespace SaeMl.Search;

/// <summary>Settings of <see cref="ExactSearch"/>.</summary>
public sealed class ExactSearchOptions
{
    /// <summary>Default values, shared by the API and the command line.</summary>
    public static class Defaults
    {
        /// <summary>Neighbors returned per query.</summary>
        public const int K = 100;

        /// <summary>Working memory for one query block and one corpus chunk: 1 GiB.</summary>
        public const long MemoryBudgetBytes = 1L << 30;

        /// <summary>Queries scored together against each corpus chunk.</summary>
        public const int QueryBlockRows = 4096;
    }

    /// <summary>Neighbors returned per query (fewer when the corpus is smaller). At least 1.</summary>
    public int K = Defaults.K;

    /// <summary>
    /// Bytes of working memory for query vectors, corpus chunk buffers, the score matrix and the
    /// running top-k. The corpus chunk size is derived from it unless <see cref="CorpusChunkRows"/> is set.
    /// Memory-mapped pages of the stores and the returned results are not counted.
    /// </summary>
    public long MemoryBudgetBytes = Defaults.MemoryBudgetBytes;

    /// <summary>
    /// Corpus rows scored per matrix product; null derives it from <see cref="MemoryBudgetBytes"/>.
    /// Either way a chunk holds at most 2 GiB of float32 rows.
    /// </summary>
    public int? CorpusChunkRows;

    /// <summary>
    /// Queries scored together against each corpus chunk; the corpus is streamed once per block.
    /// Lowered where needed so that a block's vectors and its results each stay under 2 GiB.
    /// </summary>
    public int QueryBlockRows = Defaults.QueryBlockRows;

    /// <summary>Where the products run (see <see cref="ComputeDevice"/>).</summary>
    public ComputeDevice Device = ComputeDevice.Auto;
}
