using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Evaluation;
using SaeMl.Search;

namespace SaeMl.Steering;

/// <summary>Retrieval with reconstructions before and after latent relevance feedback.</summary>
/// <param name="Before">The queries as they are.</param>
/// <param name="PseudoFeedback">Each query moved toward the latents of its own top documents.</param>
/// <param name="ExplicitFeedback">Each query moved toward its judged-relevant top documents and away from the others (a user marking the first page).</param>
public sealed record FeedbackResult(RetrievalMetrics Before, RetrievalMetrics PseudoFeedback, RetrievalMetrics ExplicitFeedback);

/// <summary>
/// Relevance feedback in latent space, Rocchio's way: h′ = max(0, h + β · mean(h⁺)|ₜₒₚ − γ · mean(h⁻)), where h⁺ are the
/// latents of documents marked relevant (only their <c>features</c> strongest latents on average are added), h⁻ those of
/// documents marked not relevant, and the query is decoded from h′. Pseudo feedback marks a query's top documents
/// relevant (the reference code's "control"); explicit feedback marks the top documents by the judgements, as a user
/// reading the first page would.
/// </summary>
public static class FeedbackExperiment
{
    /// <summary>Moves each query's latents by feedback on documents of the corpus and decodes (<see cref="SteeringMode.Decode"/>).</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="queries">The queries' embeddings, row-major <c>[Q, d]</c>.</param>
    /// <param name="liked">For each query, corpus rows marked relevant.</param>
    /// <param name="disliked">For each query, corpus rows marked not relevant.</param>
    /// <param name="corpusCodes">The corpus's latents, row for row.</param>
    /// <param name="beta">Weight of the relevant documents' mean latents.</param>
    /// <param name="gamma">Weight of the non-relevant documents' mean latents.</param>
    /// <param name="features">How many of the relevant documents' strongest mean latents are added.</param>
    /// <returns>The steered queries, row-major <c>[Q, d]</c>.</returns>
    public static float[] Steer(
        SparseAutoencoder autoencoder, ReadOnlySpan<float> queries, IReadOnlyList<IReadOnlyList<long>> liked, IReadOnlyList<IReadOnlyList<long>> disliked,
        SparseCodes corpusCodes, float beta, float gamma, int features)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        var codes = autoencoder.Encode(queries);
        if (liked.Count != codes.Rows || disliked.Count != codes.Rows)
            throw new ArgumentException($"{codes.Rows} queries need as many lists of liked and disliked documents; got {liked.Count} and {disliked.Count}.", nameof(liked));
        var width = Math.Min(autoencoder.LatentSize, autoencoder.ActiveLatents + features + disliked.Select(d => d.Count).DefaultIfEmpty(0).Max() * corpusCodes.ActiveLatents);
        var values = new float[codes.Rows * width];
        var indices = new int[codes.Rows * width];
        for (var q = 0; q < codes.Rows; q++)
        {
            var edited = new Dictionary<int, float>();
            var (qi, qv) = (codes.IndicesOf(q).ToArray(), codes.ValuesOf(q).ToArray());
            for (var j = 0; j < qi.Length; j++)
                edited[qi[j]] = qv[j];
            foreach (var (latent, mean) in MeanLatents(corpusCodes, liked[q]).OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(features))
                edited[latent] = edited.GetValueOrDefault(latent) + beta * mean;
            foreach (var (latent, mean) in MeanLatents(corpusCodes, disliked[q]))
                edited[latent] = edited.GetValueOrDefault(latent) - gamma * mean;

            // Sparse codes keep a fixed width: unused slots hold zeros at distinct unused latents, which decoding ignores.
            var kept = edited.Where(p => p.Value > 0).OrderBy(p => p.Key).ToList();
            var slot = 0;
            foreach (var (latent, value) in kept)
                (indices[q * width + slot], values[q * width + slot++]) = (latent, value);
            for (var filler = 0; slot < width; filler++)
            {
                if (!edited.ContainsKey(filler))
                    (indices[q * width + slot], values[q * width + slot++]) = (filler, 0);
            }

            Array.Sort(indices, values, q * width, width);
        }

        return autoencoder.Decode(new SparseCodes(codes.Rows, width, values, indices));
    }

    /// <summary>
    /// Evaluates the queries before feedback, after pseudo feedback on their top <paramref name="feedbackDepth"/> documents,
    /// and after explicit feedback on the same documents by the judgements; retrieval with reconstructions throughout.
    /// </summary>
    public static FeedbackResult Run(
        SparseAutoencoder autoencoder, EmbeddingStore queries, IdIndex queryIds, EmbeddingStore corpus, IdIndex corpusIds, Qrels qrels,
        int feedbackDepth = 10, int features = 8, float beta = 0.5f, float gamma = 0.25f, int depth = 100,
        ComputeDevice? device = null, string? workingFolder = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        var (judged, evaluated, queryValues) = JudgedQueries.Read(queries, queryIds, corpusIds, qrels);

        var parts = new List<SparseCodes>();
        using var reconstructed = ReconstructedCorpus.Write(autoencoder, corpus, workingFolder, batch => parts.Add(batch.Codes), cancellationToken);
        var corpusCodes = SparseCodes.Concatenate(parts);
        var options = new ExactSearchOptions { K = (int)Math.Min(Math.Max(depth, feedbackDepth), reconstructed.Store.RowCount), Device = device ?? ComputeDevice.Auto };

        RetrievalMetrics Evaluate(SearchResults results) => RetrievalMetrics.Compute(
            Enumerable.Range(0, evaluated.Length).Select(i => KeyValuePair.Create(queryIds[evaluated[i]],
                (IReadOnlyList<string>)results.RowsOf(i)[..Math.Min(depth, results.K)].ToArray().Select(row => corpusIds[row]).ToArray())),
            judged);

        var before = ExactSearch.Search(autoencoder.Reconstruct(queryValues), reconstructed.Store, options, cancellationToken: cancellationToken);
        var top = Enumerable.Range(0, evaluated.Length).Select(i => before.RowsOf(i)[..Math.Min(feedbackDepth, before.K)].ToArray()).ToArray();
        bool IsRelevant(int i, long row) => judged.JudgementsOf(queryIds[evaluated[i]]).GetValueOrDefault(corpusIds[row]) >= 1;

        var none = top.Select(_ => (IReadOnlyList<long>)[]).ToArray();
        var pseudo = Steer(autoencoder, queryValues, top.Select(t => (IReadOnlyList<long>)t).ToArray(), none, corpusCodes, beta, gamma, features);
        var likedByJudgement = top.Select((t, i) => (IReadOnlyList<long>)t.Where(row => IsRelevant(i, row)).ToArray()).ToArray();
        var dislikedByJudgement = top.Select((t, i) => (IReadOnlyList<long>)t.Where(row => !IsRelevant(i, row)).ToArray()).ToArray();
        var explicitly = Steer(autoencoder, queryValues, likedByJudgement, dislikedByJudgement, corpusCodes, beta, gamma, features);

        return new FeedbackResult(
            Evaluate(before),
            Evaluate(ExactSearch.Search(pseudo, reconstructed.Store, options, cancellationToken: cancellationToken)),
            Evaluate(ExactSearch.Search(explicitly, reconstructed.Store, options, cancellationToken: cancellationToken)));
    }

    /// <summary>The mean of each latent over <paramref name="rows"/> (absent latents count as 0).</summary>
    private static Dictionary<int, float> MeanLatents(SparseCodes codes, IReadOnlyList<long> rows)
    {
        var sums = new Dictionary<int, float>();
        foreach (var row in rows)
        {
            var (indices, values) = (codes.IndicesOf((int)row).ToArray(), codes.ValuesOf((int)row).ToArray());
            for (var j = 0; j < indices.Length; j++)
                sums[indices[j]] = sums.GetValueOrDefault(indices[j]) + values[j];
        }

        return sums.ToDictionary(p => p.Key, p => p.Value / rows.Count);
    }
}
