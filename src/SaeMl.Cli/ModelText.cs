using System.Globalization;
using SaeMl.Autoencoder;

namespace SaeMl.Cli;

/// <summary>How commands describe an autoencoder's sparsity in what they print.</summary>
internal static class ModelText
{
    /// <summary>"K = 32" for a TopK autoencoder; "at most K = 64 above θ = 0.0123" for one with an activation threshold (BatchTopK).</summary>
    public static string Sparsity(SparseAutoencoder autoencoder) => Sparsity(autoencoder.ActiveLatents, autoencoder.ActivationThreshold);

    /// <summary>The same from K and θ as an atlas keeps them (θ = 0 for TopK).</summary>
    public static string Sparsity(int activeLatents, float activationThreshold) =>
        activationThreshold > 0
            ? string.Create(CultureInfo.InvariantCulture, $"at most K = {activeLatents} above θ = {activationThreshold:G3}")
            : string.Create(CultureInfo.InvariantCulture, $"K = {activeLatents}");
}
