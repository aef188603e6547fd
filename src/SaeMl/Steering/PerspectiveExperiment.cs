using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Steering;

/// <summary>One side of a two-sided query: the latent that stands for it and the documents that have it.</summary>
/// <param name="Latent">The latent amplified to favour this side.</param>
/// <param name="Documents">The corpus rows of this side's documents.</param>
public sealed record Perspective(int Latent, IReadOnlySet<long> Documents);

/// <summary>A query whose relevant documents fall under two perspectives.</summary>
/// <param name="Id">The query's id, for reports.</param>
/// <param name="Embedding">The query's embedding (d values).</param>
/// <param name="First">One perspective.</param>
/// <param name="Second">The other.</param>
public sealed record PerspectiveQuery(string Id, float[] Embedding, Perspective First, Perspective Second);

/// <summary>One query steered toward one of its perspectives: how many of the top k have each side, before and after.</summary>
/// <param name="QueryId">The query.</param>
/// <param name="TowardFirst">Whether the first perspective was amplified (else the second).</param>
/// <param name="Before">Documents of the amplified perspective in the top k before steering (the paper's B).</param>
/// <param name="After">The same after (the paper's A).</param>
/// <param name="OtherBefore">Documents of the other perspective in the top k before.</param>
/// <param name="OtherAfter">The same after.</param>
/// <param name="RecallBefore">The share of either perspective's documents found in the top <c>recallDepth</c> before steering.</param>
/// <param name="RecallAfter">The same after.</param>
/// <param name="TopBefore">The corpus rows of the top k before steering, best first.</param>
/// <param name="TopAfter">The same after.</param>
public sealed record PerspectiveCase(string QueryId, bool TowardFirst, int Before, int After, int OtherBefore, int OtherAfter, double RecallBefore, double RecallAfter,
    IReadOnlyList<long> TopBefore, IReadOnlyList<long> TopAfter);

/// <summary>
/// The paper's binary-perspective study (its Tables 4, 5 and 9): amplify one perspective's latent in a query's latents,
/// decode, and count that perspective's documents in the top k retrieved from the reconstructed corpus, before and
/// after; each query is steered both ways.
/// </summary>
public static class PerspectiveExperiment
{
    /// <summary>Steers every query toward each of its perspectives by <paramref name="alpha"/>.</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="corpus">The corpus embeddings (the perspectives' documents are its rows).</param>
    /// <param name="queries">The two-sided queries.</param>
    /// <param name="alpha">The amount added to the amplified latent (the paper adds 0.5).</param>
    /// <param name="k">Documents counted per query (the paper's 5).</param>
    /// <param name="recallDepth">Depth of the recall of either perspective's documents (10).</param>
    /// <param name="device">Where encoding and search run.</param>
    /// <param name="workingFolder">Where the reconstructed corpus is written while the study runs; the system's temporary folder when null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public static IReadOnlyList<PerspectiveCase> Run(
        SparseAutoencoder autoencoder, EmbeddingStore corpus, IReadOnlyList<PerspectiveQuery> queries, float alpha = 0.5f, int k = 5, int recallDepth = 10,
        ComputeDevice? device = null, string? workingFolder = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(queries);
        if (!(alpha >= 0 && float.IsFinite(alpha)))
            throw new ArgumentException($"α = {alpha} is not a finite amount of at least 0.", nameof(alpha));
        var d = autoencoder.Dimension;
        var bad = queries.FirstOrDefault(q => q.Embedding.Length != d || q.First.Latent is < 0 || q.First.Latent >= autoencoder.LatentSize || q.Second.Latent < 0 || q.Second.Latent >= autoencoder.LatentSize);
        if (bad is not null)
            throw new ArgumentException($"Query '{bad.Id}' needs an embedding of {d} values and latents below {autoencoder.LatentSize}.", nameof(queries));

        using var reconstructed = ReconstructedCorpus.Write(autoencoder, corpus, workingFolder, visit: null, cancellationToken);
        var decoder = autoencoder.GetWeights().DecoderWeight;
        var embeddings = queries.SelectMany(q => q.Embedding).ToArray();
        var plain = autoencoder.Reconstruct(embeddings);
        var towardFirst = (float[])plain.Clone();
        var towardSecond = (float[])plain.Clone();
        for (var i = 0; i < queries.Count; i++)
        {
            var row = towardFirst.AsSpan(i * d, d);
            TensorPrimitives.MultiplyAdd(decoder.AsSpan(queries[i].First.Latent * d, d), alpha, row, row);
            row = towardSecond.AsSpan(i * d, d);
            TensorPrimitives.MultiplyAdd(decoder.AsSpan(queries[i].Second.Latent * d, d), alpha, row, row);
        }

        var depth = Math.Max(k, recallDepth);
        var options = new ExactSearchOptions { K = (int)Math.Min(depth, reconstructed.Store.RowCount), Device = device ?? ComputeDevice.Auto };
        var before = ExactSearch.Search(plain, reconstructed.Store, options, cancellationToken: cancellationToken);
        var afterFirst = ExactSearch.Search(towardFirst, reconstructed.Store, options, cancellationToken: cancellationToken);
        var afterSecond = ExactSearch.Search(towardSecond, reconstructed.Store, options, cancellationToken: cancellationToken);

        var cases = new List<PerspectiveCase>(2 * queries.Count);
        for (var i = 0; i < queries.Count; i++)
        {
            var query = queries[i];
            foreach (var (first, after) in new[] { (true, afterFirst), (false, afterSecond) })
            {
                var (amplified, other) = first ? (query.First, query.Second) : (query.Second, query.First);
                cases.Add(new PerspectiveCase(query.Id, first,
                    Count(before, i, k, amplified.Documents), Count(after, i, k, amplified.Documents),
                    Count(before, i, k, other.Documents), Count(after, i, k, other.Documents),
                    Recall(before, i, recallDepth, query), Recall(after, i, recallDepth, query),
                    Top(before, i, k), Top(after, i, k)));
            }
        }

        return cases;
    }

    private static long[] Top(SearchResults results, int query, int k) => results.RowsOf(query)[..Math.Min(k, results.K)].ToArray();

    private static int Count(SearchResults results, int query, int k, IReadOnlySet<long> documents) => Top(results, query, k).Count(documents.Contains);

    private static double Recall(SearchResults results, int query, int depth, PerspectiveQuery perspectives)
    {
        var relevant = perspectives.First.Documents.Union(perspectives.Second.Documents).ToHashSet();
        return relevant.Count == 0 ? 0 : results.RowsOf(query)[..Math.Min(depth, results.K)].ToArray().Count(relevant.Contains) / (double)Math.Min(relevant.Count, depth);
    }
}
