namespace SaeMl.Autoencoder;

/// <summary>
/// The column names of the model zips that SaeMl's tools write (<c>saeml train</c>, <c>saeml demo</c>): a zip
/// saved with these reads <see cref="Embedding"/> and writes <see cref="Latent"/> and <see cref="Reconstruction"/>.
/// </summary>
public static class SaeColumnNames
{
    /// <summary>The input embedding column.</summary>
    public const string Embedding = "Embedding";

    /// <summary>The sparse latent column.</summary>
    public const string Latent = "Latent";

    /// <summary>The reconstruction column.</summary>
    public const string Reconstruction = "Reconstruction";
}
