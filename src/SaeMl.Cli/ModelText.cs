using System.Globalization;
using SaeMl.Autoencoder;

namespace SaeMl.Cli;

/// <summary>How commands describe an autoencoder's sparsity in what they print.</summary>
internal static class ModelText
{
    /// <summary>"K = 32" for a TopK autoencoder; "at most K = 64 above θ = 0.0123" for one with an activation threshold (BatchTopK).</summary>
    public static string Sparsity(SparseAutoencoder autoencoder) =>
        autoencoder.ActivationThreshold > 0
            ? string.Create(CultureInfo.InvariantCulture, $"at most K = {autoencoder.ActiveLatents} above θ = {autoencoder.ActivationThreshold:G3}")
            : $"K = {autoencoder.ActiveLatents}";
}
