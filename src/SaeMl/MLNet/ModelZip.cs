using Microsoft.ML;

namespace SaeMl.MLNet;

/// <summary>Reads one SaeMl transform out of an ML.NET model zip, as the <c>saeml</c> tool and users' pipelines save them.</summary>
internal static class ModelZip
{
    /// <summary>
    /// Loads the zip at <paramref name="path"/>, finds its one <typeparamref name="T"/> transform (alone or in a
    /// chain) and returns what <paramref name="place"/> makes of it; every transform of that type read from the zip is then released.
    /// </summary>
    /// <param name="path">The model zip.</param>
    /// <param name="transformName">The transform's name in messages ("SparseAutoencode").</param>
    /// <param name="place">Makes the returned transform from the loaded one (for example, moves it to a device); it must not return its argument.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="FormatException">The file is not an ML.NET model zip, or it holds no or several such transforms.</exception>
    public static T LoadSingle<T>(string path, string transformName, Func<T, T> place) where T : class, ITransformer, IDisposable
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No model zip at '{path}'.", path);
        ITransformer loaded;
        try
        {
            loaded = new MLContext().Model.Load(path, out _);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException && e.Message.Contains("zip", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{path}' is not an ML.NET model zip: {e.Message}", e);
        }

        var found = (loaded as IEnumerable<ITransformer> ?? [loaded]).OfType<T>().ToList();
        try
        {
            return found.Count == 1
                ? place(found[0])
                : throw new FormatException($"The model zip '{path}' holds {found.Count} {transformName} transforms; it needs exactly one.");
        }
        finally
        {
            foreach (var transformer in found)
                transformer.Dispose();
        }
    }
}
