using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Cli.Reports;

/// <summary>What amplifying each latent does to one sample query: its top documents before, and after each latent's edit.</summary>
/// <param name="Query">The query's text.</param>
/// <param name="Before">The corpus rows of its top documents, unedited.</param>
/// <param name="After">By latent: the amount added and the corpus rows of the top documents after.</param>
internal sealed record SteeringPreview(string Query, IReadOnlyList<long> Before, IReadOnlyDictionary<int, (float Alpha, IReadOnlyList<long> After)> After)
{
    /// <summary>
    /// Steers <paramref name="queryVector"/> toward each of <paramref name="latents"/> in turn, adding twice the latent's
    /// largest activation over the corpus, and retrieves the top <paramref name="k"/> for all of them in one search.
    /// The edit is error-preserving: adding α to latent j moves the query by α times row j of the decoder.
    /// </summary>
    public static SteeringPreview Compute(string query, float[] queryVector, SparseAutoencoder autoencoder, EmbeddingStore corpus,
        IReadOnlyDictionary<int, float> largestActivations, int k, ComputeDevice device, CancellationToken cancellationToken)
    {
        var d = autoencoder.Dimension;
        var latents = largestActivations.Keys.Order().ToArray();
        var decoder = autoencoder.GetWeights().DecoderWeight;
        var queries = new float[(latents.Length + 1) * d];
        queryVector.CopyTo(queries, 0);
        for (var i = 0; i < latents.Length; i++)
        {
            var row = queries.AsSpan((i + 1) * d, d);
            queryVector.CopyTo(row);
            TensorPrimitives.MultiplyAdd(decoder.AsSpan(latents[i] * d, d), 2 * largestActivations[latents[i]], row, row);
        }

        var results = ExactSearch.Search(queries, corpus, new ExactSearchOptions { K = (int)Math.Min(k, corpus.RowCount), Device = device }, cancellationToken: cancellationToken);
        IReadOnlyList<long> Top(int row) => results.RowsOf(row).ToArray();
        return new SteeringPreview(query, Top(0), latents.Select((latent, i) => (latent, (2 * largestActivations[latent], Top(i + 1)))).ToDictionary(p => p.latent, p => p.Item2));
    }
}
