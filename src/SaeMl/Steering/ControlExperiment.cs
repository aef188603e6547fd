using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Evaluation;
using SaeMl.Search;

namespace SaeMl.Steering;

/// <summary>Retrieval after steering by one amount α: the metrics of both sides of the paper's control study.</summary>
/// <param name="Alpha">The amount added to the chosen latent.</param>
/// <param name="DocumentSide">Each query's relevant documents steered toward the query's strongest latent; the query unchanged.</param>
/// <param name="QuerySide">Each query steered toward the latent its relevant documents carry most; the corpus unchanged.</param>
public sealed record ControlPoint(float Alpha, RetrievalMetrics DocumentSide, RetrievalMetrics QuerySide);

/// <summary>
/// The paper's controllability study (its Figure 4): does editing a latent move retrieval where it should? Everything
/// is retrieved with reconstructions (decode mode), queries against the corpus, at each α of a grid:
/// <list type="bullet">
/// <item><b>Document side.</b> For each query, take the latent with its highest activation, add α to that latent in
/// the latents of the query's relevant documents, decode them, and rank the corpus with the unedited query.</item>
/// <item><b>Query side.</b> For each query, take the latent whose activations summed over its relevant documents are
/// highest, add α to it in the query's latents, decode, and rank the unedited corpus.</item>
/// </list>
/// Decoding is linear, so an edited reconstruction is the reconstruction plus α times the latent's decoder direction;
/// a document's score moves by α (q̂ · W_dec[j]) and only the relevant documents' scores change, which makes the
/// document side one search for the whole grid.
/// </summary>
public static class ControlExperiment
{
    /// <summary>The paper's grid: 0.0004 doubling, <paramref name="count"/> values, after α = 0.</summary>
    public static IReadOnlyList<float> DoublingGrid(int count = 13) =>
        [0f, .. Enumerable.Range(0, count).Select(i => 0.0004f * MathF.Pow(2, i))];

    /// <summary>Runs both sides of the study at every α of <paramref name="alphas"/>.</summary>
    /// <param name="autoencoder">The autoencoder whose latents are edited.</param>
    /// <param name="queries">The evaluation queries' embeddings.</param>
    /// <param name="queryIds">Their ids.</param>
    /// <param name="corpus">The corpus embeddings.</param>
    /// <param name="corpusIds">Their ids.</param>
    /// <param name="qrels">Judgements; queries without a relevant document in the corpus are left out.</param>
    /// <param name="alphas">The amounts, each at least 0.</param>
    /// <param name="depth">Documents ranked per query (MRR counts a first relevant document within this depth).</param>
    /// <param name="device">Where encoding and search run.</param>
    /// <param name="workingFolder">Where the reconstructed corpus is written while the study runs; the system's temporary folder when null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">The stores, ids and autoencoder disagree, an α is negative or not finite, or no query has a relevant document.</exception>
    public static IReadOnlyList<ControlPoint> Run(
        SparseAutoencoder autoencoder,
        EmbeddingStore queries,
        IdIndex queryIds,
        EmbeddingStore corpus,
        IdIndex corpusIds,
        Qrels qrels,
        IReadOnlyList<float> alphas,
        int depth = 100,
        ComputeDevice? device = null,
        string? workingFolder = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(alphas);
        foreach (var alpha in alphas)
        {
            if (!(alpha >= 0 && float.IsFinite(alpha)))
                throw new ArgumentException($"α = {alpha} is not a finite amount of at least 0.", nameof(alphas));
        }

        if (queries.Dimension != autoencoder.Dimension || corpus.Dimension != autoencoder.Dimension)
            throw new ArgumentException($"The autoencoder reads vectors of dimension {autoencoder.Dimension}; the query store has {queries.Dimension} and the corpus {corpus.Dimension}.", nameof(autoencoder));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depth);
        var searchDevice = device ?? ComputeDevice.Auto;
        var (judged, evaluated, queryValues) = JudgedQueries.Read(queries, queryIds, corpusIds, qrels);
        var relevantRows = evaluated.Select(q => judged.RelevantDocuments(queryIds[q]).Select(corpusIds.RowOf).Order().ToArray()).ToArray();

        var d = autoencoder.Dimension;
        var queryCodes = autoencoder.Encode(queryValues);
        var queryReconstructions = autoencoder.Decode(queryCodes);
        var decoder = autoencoder.GetWeights().DecoderWeight;

        // The reconstructed corpus, and the summed latents of each query's relevant documents (for the query side).
        var relevantOf = new Dictionary<long, List<int>>();
        for (var i = 0; i < relevantRows.Length; i++)
            foreach (var row in relevantRows[i])
                (relevantOf.TryGetValue(row, out var list) ? list : relevantOf[row] = []).Add(i);
        var documentLatentSums = evaluated.Select(_ => new Dictionary<int, double>()).ToArray();
        using var corpusReconstruction = ReconstructedCorpus.Write(autoencoder, corpus, workingFolder, batch =>
        {
            for (var r = 0; r < batch.Input.RowCount; r++)
            {
                if (!relevantOf.TryGetValue(batch.Input.FirstRow + r, out var owners))
                    continue;
                var (indices, values) = (batch.Codes.IndicesOf(r).ToArray(), batch.Codes.ValuesOf(r).ToArray());
                foreach (var owner in owners)
                    for (var j = 0; j < indices.Length; j++)
                        documentLatentSums[owner][indices[j]] = documentLatentSums[owner].GetValueOrDefault(indices[j]) + values[j];
            }
        }, cancellationToken);

        var search = new ExactSearchOptions { K = (int)Math.Min(depth + relevantRows.Max(r => r.Length), corpusReconstruction.Store.RowCount), Device = searchDevice };
        var baseline = ExactSearch.Search(queryReconstructions, corpusReconstruction.Store, search, cancellationToken: cancellationToken);

        // Document side: each query's strongest latent, how far its direction moves a document's score, and the relevant documents' scores.
        var documentFeatures = Enumerable.Range(0, evaluated.Length).Select(i => StrongestLatent(queryCodes, i)).ToArray();
        var slopes = documentFeatures.Select((j, i) => TensorPrimitives.Dot(queryReconstructions.AsSpan(i * d, d), decoder.AsSpan(j * d, d))).ToArray();
        var relevantScores = relevantRows.Select((rows, i) => rows.Select(row =>
        {
            var document = new float[d];
            corpusReconstruction.Store.ReadRows(row, document);
            return TensorPrimitives.Dot(queryReconstructions.AsSpan(i * d, d), document);
        }).ToArray()).ToArray();

        var queryFeatures = documentLatentSums.Select(sums => sums.MaxBy(p => (p.Value, -p.Key)).Key).ToArray();
        var points = new List<ControlPoint>();
        foreach (var alpha in alphas)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var documentSide = RetrievalMetrics.Compute(
                Enumerable.Range(0, evaluated.Length).Select(i => KeyValuePair.Create(queryIds[evaluated[i]],
                    (IReadOnlyList<string>)DocumentSideRanking(baseline, i, relevantRows[i], relevantScores[i], alpha * slopes[i], depth).Select(row => corpusIds[row]).ToArray())),
                judged);

            var steered = (float[])queryReconstructions.Clone();
            for (var i = 0; i < evaluated.Length; i++)
                TensorPrimitives.MultiplyAdd(decoder.AsSpan(queryFeatures[i] * d, d), alpha, steered.AsSpan(i * d, d), steered.AsSpan(i * d, d));
            var querySearch = ExactSearch.Search(steered, corpusReconstruction.Store, new ExactSearchOptions { K = (int)Math.Min(depth, corpusReconstruction.Store.RowCount), Device = searchDevice }, cancellationToken: cancellationToken);
            var querySide = RetrievalMetrics.Compute(
                Enumerable.Range(0, evaluated.Length).Select(i => KeyValuePair.Create(queryIds[evaluated[i]],
                    (IReadOnlyList<string>)querySearch.RowsOf(i).ToArray().Select(row => corpusIds[row]).ToArray())),
                judged);
            points.Add(new ControlPoint(alpha, documentSide, querySide));
        }

        return points;
    }

    /// <summary>The latent with the highest activation in row <paramref name="row"/> (the lowest index among equals).</summary>
    private static int StrongestLatent(SparseCodes codes, int row)
    {
        var indices = codes.IndicesOf(row);
        var values = codes.ValuesOf(row);
        var best = 0;
        for (var j = 1; j < values.Length; j++)
            if (values[j] > values[best])
                best = j;
        return indices[best];
    }

    /// <summary>
    /// The top <paramref name="depth"/> rows once the relevant documents' scores rose by <paramref name="shift"/>: the
    /// baseline's other documents keep their scores and order, so the new ranking is a merge of the two lists
    /// (ties to the lower corpus row, as exact search breaks them).
    /// </summary>
    private static IEnumerable<long> DocumentSideRanking(SearchResults baseline, int query, long[] relevant, float[] relevantScores, float shift, int depth)
    {
        var (rows, scores) = (baseline.RowsOf(query).ToArray(), baseline.ScoresOf(query).ToArray());
        var others = rows.Zip(scores).Where(p => Array.BinarySearch(relevant, p.First) < 0);
        var raised = relevant.Zip(relevantScores, (row, score) => (First: row, Second: score + shift));
        return others.Concat(raised).OrderByDescending(p => p.Second).ThenBy(p => p.First).Take(depth).Select(p => p.First);
    }
}
