using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Evaluation;

/// <summary>Settings of <see cref="DenseRetrievalEvaluator"/>.</summary>
public sealed class RetrievalEvaluationOptions
{
    /// <summary>The defaults, in one place.</summary>
    public static class Defaults
    {
        /// <summary>Documents retrieved per query: trec_eval's usual depth, and the deepest default cutoff.</summary>
        public const int Depth = 1000;

        /// <summary>Vectors encoded by the autoencoder per batch.</summary>
        public const int EncodeBatchRows = 4096;
    }

    /// <summary>Documents retrieved per query; metrics at deeper cutoffs see only this many.</summary>
    public int Depth = Defaults.Depth;

    /// <summary>Cutoffs and the queries averaged.</summary>
    public RetrievalMetricsOptions Metrics = new();

    /// <summary>The device of exact search and of the autoencoder.</summary>
    public ComputeDevice Device = ComputeDevice.Auto;

    /// <summary>The memory budget of each exact search (see <see cref="ExactSearchOptions.MemoryBudgetBytes"/>).</summary>
    public long MemoryBudgetBytes = ExactSearchOptions.Defaults.MemoryBudgetBytes;

    /// <summary>Vectors encoded by the autoencoder per batch.</summary>
    public int EncodeBatchRows = Defaults.EncodeBatchRows;

    /// <summary>
    /// Where the reconstructed stores are written while an autoencoder is evaluated (they are deleted
    /// afterwards); a new folder under the system temp path when null. At corpus scale they are as large
    /// as the corpus store, so point this at a disk with room.
    /// </summary>
    public string? WorkingFolder;

    /// <summary>
    /// Judgements naming documents that are not in the corpus: skipped and counted in
    /// <see cref="RetrievalEvaluation.SkippedJudgements"/> by default (a query left with no judgement is then
    /// not evaluated), or an error.
    /// </summary>
    public UnknownIdHandling UnknownDocuments = UnknownIdHandling.Skip;

    /// <summary>
    /// Judgements naming queries that are not among the evaluated queries: an error by default (it usually
    /// means the wrong query file or split), or skipped.
    /// </summary>
    public UnknownIdHandling UnknownQueries = UnknownIdHandling.Error;

    internal ExactSearchOptions Search => new() { K = Depth, Device = Device, MemoryBudgetBytes = MemoryBudgetBytes };

    internal void Validate()
    {
        if (Depth < 1)
            throw new ArgumentException($"Depth must be at least 1, got {Depth}.");
        if (EncodeBatchRows < 1)
            throw new ArgumentException($"EncodeBatchRows must be at least 1, got {EncodeBatchRows}.");
        ArgumentNullException.ThrowIfNull(Metrics);
    }
}
