namespace SaeMl.Autoencoder;

/// <summary>Metrics of the autoencoder on the held-out validation queries and their documents.</summary>
/// <param name="Fvu">Fraction of variance unexplained: Σ‖x − x̂‖² / Σ‖x − x̄‖² (0 is perfect, 1 is no better than the mean).</param>
/// <param name="Mse">Mean squared error per element.</param>
/// <param name="L0">Mean number of non-zero latents per vector (at most K).</param>
/// <param name="DeadFraction">Share of latents that have not fired for the dead threshold's worth of training vectors.</param>
/// <param name="Kld">Mean KL(p ‖ p̂) of the queries' score distributions over their documents (lower is better).</param>
/// <param name="Top10Overlap">
/// Ranking faithfulness without judgements: for each validation query, the share of its 10 best documents by the
/// original embeddings that are also among its 10 best by the reconstructions, both ranked over the same candidate
/// pool (the neighbour documents of every query in its group of up to 512 validation queries, its own and the others',
/// whatever the training batch); 1 is a perfect match. NaN when training had no neighbour documents.
/// </param>
/// <param name="LatentTop10Overlap">The same with the sparse latents' inner products in place of the reconstructions'.</param>
public sealed record SaeValidationMetrics(double Fvu, double Mse, double L0, double DeadFraction, double Kld, double Top10Overlap = double.NaN, double LatentTop10Overlap = double.NaN)
{
    /// <summary>One line, as saeml train and ML.NET's log show it: "FVU …, MSE …, L0 …, dead …, KL …" and the top-10 overlaps where measured.</summary>
    public override string ToString()
    {
        var overlaps = double.IsNaN(Top10Overlap) ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $", top-10 overlap {Top10Overlap:F3} (latents {LatentTop10Overlap:F3})");
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"FVU {Fvu:F4}, MSE {Mse:E2}, L0 {L0:F1}, dead {DeadFraction:P1}, KL {Kld:F4}{overlaps}");
    }
}

/// <summary>Where training stands: reported after every step, and with <see cref="Validation"/> at the end of each epoch.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Epochs">Epochs in all.</param>
/// <param name="Step">Steps done, over all epochs.</param>
/// <param name="TotalSteps">Steps in all.</param>
/// <param name="LearningRate">The rate the step used.</param>
/// <param name="Temperature">τ of the KL terms: the options' temperature, or the relative one times the neighbors' score spread (NaN with fewer than 2 neighbors).</param>
/// <param name="Loss">The step's objective.</param>
/// <param name="Mse">The step's MSE (per element; the objective divides it by the training data's variance).</param>
/// <param name="Kld">The step's KL term (before λ).</param>
/// <param name="LatentKld">The step's latent-score KL term (before its weight λ·r); NaN in an end-of-epoch report.</param>
/// <param name="AuxK">The step's AuxK term (before its weight).</param>
/// <param name="Validation">The epoch's validation metrics, at the end of an epoch; otherwise null.</param>
public sealed record SaeTrainingProgress(int Epoch, int Epochs, long Step, long TotalSteps, double LearningRate, double Temperature, double Loss, double Mse, double Kld, double LatentKld, double AuxK, SaeValidationMetrics? Validation);
