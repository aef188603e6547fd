using System.Runtime.InteropServices;
using SaeMl.Data.Npy;
using static TorchSharp.torch;

namespace SaeMl.Benchmarks;

/// <summary>
/// The dense data of the exact-search benchmarks: a corpus of standard Gaussian float32 rows written to
/// a temporary <c>.npy</c> file (deleted on dispose) and Gaussian queries in memory, both from TorchSharp's
/// generator seeded with 1, the corpus drawn first.
/// </summary>
internal sealed class GaussianCorpus : IDisposable
{
    private readonly DirectoryInfo _folder;

    public GaussianCorpus(int corpusRows, int queryRows, int dimension)
    {
        _folder = Directory.CreateTempSubdirectory("saeml-bench-");
        CorpusPath = Path.Combine(_folder.FullName, "corpus.npy");
        manual_seed(1);
        using (var corpusValues = randn(corpusRows, dimension))
            NpyWriter.Write(CorpusPath, MemoryMarshal.Cast<byte, float>(corpusValues.bytes), dimension);
        using var queryValues = randn(queryRows, dimension);
        Queries = MemoryMarshal.Cast<byte, float>(queryValues.bytes).ToArray();
    }

    public string CorpusPath { get; }

    /// <summary>Row-major <c>[queryRows, dimension]</c>.</summary>
    public float[] Queries { get; }

    public static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    public void Dispose() => _folder.Delete(recursive: true);
}
