using Microsoft.ML;

namespace SaeMl.MLNet;

/// <summary>Reads one SaeMl transform out of an ML.NET model zip, as the <c>saeml</c> tool and users' pipelines save them.</summary>
internal static class ModelZip
{
    /// <summary>
    /// Loads the zip at <paramref name="path"/>, finds its one <typeparamref name="T"/> transform (alone or in a
    /// chain) and returns what <paramref name="place"/> makes of it; every transform read from the zip is then released.
    /// </summary>
    /// <param name="path">The model zip.</param>
    /// <param name="transformName">The transform's name in messages ("SparseAutoencode").</param>
    /// <param name="place">Makes the returned transform from the loaded one (for example, moves it to a device); it must not return its argument.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="FormatException">The file is not an ML.NET model zip (empty, cut short, random bytes, another kind of zip), a transform in it is damaged, or it holds no or several such transforms; the message names <paramref name="path"/>.</exception>
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
        catch (Exception e) when (Unwrapped(e) is InvalidDataException or FormatException or InvalidOperationException or EndOfStreamException or IOException and not FileNotFoundException)
        {
            var reason = Unwrapped(e);
            throw reason is FormatException && reason.Message.StartsWith("The saved ", StringComparison.Ordinal)
                ? new FormatException($"'{path}': {reason.Message}", reason) // SaeMl's own transform, damaged inside an intact zip
                : new FormatException($"'{path}' is not an ML.NET model zip that SaeMl can read ({reason.Message.TrimEnd('.')}).", reason);
        }

        var transforms = (loaded as IEnumerable<ITransformer> ?? [loaded]).ToList();
        try
        {
            var found = transforms.OfType<T>().ToList();
            return found.Count == 1
                ? place(found[0])
                : throw new FormatException($"The model zip '{path}' holds {found.Count} {transformName} transforms; it needs exactly one.");
        }
        finally
        {
            // Everything the zip loaded goes, the other transforms of a chain (an ONNX session, say) too.
            foreach (var transformer in transforms.OfType<IDisposable>())
                transformer.Dispose();
        }
    }

    /// <summary>The exception inside the reflection wrappers through which ML.NET calls loaders.</summary>
    private static Exception Unwrapped(Exception e)
    {
        while (e is System.Reflection.TargetInvocationException { InnerException: { } inner })
            e = inner;
        return e;
    }
}
