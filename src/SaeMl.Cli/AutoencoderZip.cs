using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;

namespace SaeMl.Cli;

/// <summary>Reads the sparse autoencoder out of an ML.NET model zip, as <c>saeml train</c> writes it.</summary>
internal static class AutoencoderZip
{
    /// <summary>The one SparseAutoencode transform of a model zip, moved to the device asked for.</summary>
    public static SparseAutoencoderTransformer Load(string path, ComputeDevice device)
    {
        var loaded = new MLContext().Model.Load(path, out _);
        var found = (loaded as IEnumerable<ITransformer> ?? [loaded]).OfType<SparseAutoencoderTransformer>().ToList();
        try
        {
            if (found.Count != 1)
                throw new ArgumentException($"The model zip '{path}' holds {found.Count} SparseAutoencode transforms; it needs exactly one.");
            return found[0].WithDevice(device);
        }
        finally
        {
            foreach (var transformer in found)
                transformer.Dispose();
        }
    }
}
