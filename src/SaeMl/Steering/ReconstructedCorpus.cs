using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Steering;

/// <summary>
/// A corpus passed through an autoencoder, written to a temporary store for the steering studies to search, with
/// every batch's codes shown to a visitor on the way; disposing deletes it.
/// </summary>
internal sealed class ReconstructedCorpus : IDisposable
{
    private readonly DirectoryInfo _working;

    private ReconstructedCorpus(DirectoryInfo working, EmbeddingStore store)
    {
        _working = working;
        Store = store;
    }

    /// <summary>The reconstructions, row for row.</summary>
    public EmbeddingStore Store { get; }

    /// <summary>Encodes and decodes <paramref name="corpus"/> into a store under <paramref name="workingFolder"/> (the system's temporary folder when null).</summary>
    public static ReconstructedCorpus Write(SparseAutoencoder autoencoder, EmbeddingStore corpus, string? workingFolder, Action<EncodedBatch>? visit, CancellationToken cancellationToken)
    {
        var working = workingFolder is null
            ? Directory.CreateTempSubdirectory("saeml-steering-")
            : Directory.CreateDirectory(Path.Combine(workingFolder, $"saeml-steering-{Guid.NewGuid():N}"));
        try
        {
            var path = Path.Combine(working.FullName, "corpus");
            using (var writer = new EmbeddingStoreWriter(path, autoencoder.Dimension, job: "reconstructed corpus"))
            {
                foreach (var batch in autoencoder.EncodeStore(corpus, reconstruct: true, cancellationToken: cancellationToken))
                {
                    writer.WriteRows(batch.Reconstruction!);
                    visit?.Invoke(batch);
                }

                writer.Commit();
            }

            return new ReconstructedCorpus(working, EmbeddingStore.Open(path));
        }
        catch
        {
            working.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Closes and deletes the store.</summary>
    public void Dispose()
    {
        Store.Dispose();
        _working.Delete(recursive: true);
    }
}
