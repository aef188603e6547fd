using SaeMl.Search;

namespace SaeMl.Evaluation;

/// <summary>One retrieval setting evaluated: its name, its run and its metrics.</summary>
/// <param name="Setting">What was searched: "original", "latent" or "reconstructed".</param>
/// <param name="Run">The top documents of every query (corpus rows), best first.</param>
/// <param name="Metrics">The run's metrics against the qrels.</param>
public sealed record RetrievalSettingResult(string Setting, SearchResults Run, RetrievalMetrics Metrics);

/// <summary>
/// The evaluation of a retrieval setup: the original embeddings, and when a sparse autoencoder was
/// evaluated, its sparse latents and its reconstructions, with the reconstruction error — the rows of
/// the paper's Table 1.
/// </summary>
public sealed class RetrievalEvaluation
{
    internal RetrievalEvaluation(IReadOnlyList<RetrievalSettingResult> settings, long skippedJudgements, double? meanSquaredError, double? fractionOfVarianceUnexplained)
    {
        Settings = settings;
        SkippedJudgements = skippedJudgements;
        MeanSquaredError = meanSquaredError;
        FractionOfVarianceUnexplained = fractionOfVarianceUnexplained;
    }

    /// <summary>The name of the setting that searches the original embeddings.</summary>
    public const string Original = "original";

    /// <summary>The name of the setting that searches sparse latents through the inverted index.</summary>
    public const string Latent = "latent";

    /// <summary>The name of the setting that searches the autoencoder's reconstructions of queries and documents.</summary>
    public const string Reconstructed = "reconstructed";

    /// <summary>The settings evaluated, original first.</summary>
    public IReadOnlyList<RetrievalSettingResult> Settings { get; }

    /// <summary>Judgements dropped because they name documents (or queries) absent from the stores.</summary>
    public long SkippedJudgements { get; }

    /// <summary>
    /// The reconstructions' mean squared error per element over the corpus and query vectors together
    /// (lower is better); null when no autoencoder was evaluated.
    /// </summary>
    public double? MeanSquaredError { get; }

    /// <summary>The reconstructions' fraction of variance unexplained over the same vectors (0 is perfect); null without an autoencoder.</summary>
    public double? FractionOfVarianceUnexplained { get; }

    /// <summary>The result of one setting.</summary>
    /// <exception cref="KeyNotFoundException">The setting was not evaluated.</exception>
    public RetrievalSettingResult this[string setting] =>
        Settings.FirstOrDefault(s => s.Setting == setting) ?? throw new KeyNotFoundException($"Setting '{setting}' was not evaluated; the settings are {string.Join(", ", Settings.Select(s => s.Setting))}.");
}
