using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Benchmarks;

/// <summary>
/// Where an autoencoder's retrieval loses the original ranking, over the judged test queries, as shares of the original
/// full-depth MRR: re-ranking only the original top 16 or top 100 documents with the reconstructed scores q̂ · d̂ and the latent
/// scores z_q · z_d (what is lost inside the pool the KL terms train on; the rest of the full-corpus loss is documents from
/// outside the pool outranking the relevant one), and ranking the whole corpus with one side reconstructed (q̂ · d and q · d̂).
/// </summary>
/// <remarks>
/// Every judged query in the query store counts, as in the evaluator (0 for one whose relevant documents are not in the
/// corpus). A relevant document outside the pool counts as not retrieved, and within the pool a tie counts against it (a
/// relevant document that shares no latent with the query ranks below every other pool document's latent score of 0).
/// The cut columns (the original ranking at depth 16 and 100) and the one-sided rankings (depth 1,000) keep the exact
/// search's own order. The corpus's reconstructions are held in memory (rows × dimension floats).
/// </remarks>
internal static class RetrievalLossBreakdown
{
    private const int OneSidedDepth = 1000;

    /// <summary>The MRR kept, as shares of <see cref="Measure"/>'s original MRR: the original ranking cut at depth 16 and 100, the two re-rankings of each pool, and the two one-sided rankings.</summary>
    public readonly record struct Breakdown(double Top16Original, double Top100Original, double Top16Reconstructed, double Top16Latent, double Top100Reconstructed, double Top100Latent, double QuerySideOnly, double DocumentSideOnly);

    public static Breakdown Measure(SparseAutoencoder autoencoder, EmbeddingStore queries, IdIndex queryIds, EmbeddingStore corpus, IdIndex corpusIds, Qrels qrels, double originalMrr)
    {
        var judged = new List<(long Row, HashSet<long> Relevant)>();
        foreach (var queryId in qrels.QueryIds)
        {
            if (!queryIds.TryGetRow(queryId, out var queryRow))
                continue;
            var relevant = new HashSet<long>();
            foreach (var documentId in qrels.RelevantDocuments(queryId))
            {
                if (corpusIds.TryGetRow(documentId, out var documentRow))
                    relevant.Add(documentRow);
            }

            judged.Add((queryRow, relevant));
        }

        var d = corpus.Dimension;
        var originalQueries = new float[judged.Count * d];
        for (var q = 0; q < judged.Count; q++)
            queries.ReadRows(judged[q].Row, originalQueries.AsSpan(q * d, d));
        var (queryCodes, reconstruction) = autoencoder.EncodeRows(originalQueries, reconstruct: true);
        var reconstructedQueries = reconstruction!;

        var reconstructedCorpus = new float[checked((int)(corpus.RowCount * d))];
        var documentCodes = new List<SparseCodes>();
        foreach (var batch in autoencoder.EncodeStore(corpus, reconstruct: true))
        {
            batch.Reconstruction!.CopyTo(reconstructedCorpus.AsSpan(checked((int)(batch.Input.FirstRow * d))));
            documentCodes.Add(batch.Codes);
        }

        var corpusCodes = SparseCodes.Concatenate(documentCodes);
        var pools = ExactSearch.Search(originalQueries, corpus, new ExactSearchOptions { K = 100, Device = ComputeDevice.Cpu });
        var querySide = ExactSearch.Search(reconstructedQueries, corpus, new ExactSearchOptions { K = OneSidedDepth, Device = ComputeDevice.Cpu });
        var documentSide = ExactSearch.Search(originalQueries, reconstructedCorpus, d, new ExactSearchOptions { K = OneSidedDepth, Device = ComputeDevice.Cpu });

        double top16Original = 0, top100Original = 0, top16Reconstructed = 0, top16Latent = 0, top100Reconstructed = 0, top100Latent = 0, queryOnly = 0, documentOnly = 0;
        var denseQuery = new float[autoencoder.LatentSize];
        for (var q = 0; q < judged.Count; q++)
        {
            var relevant = judged[q].Relevant;
            var queryOffset = q * d;
            float ReconstructedScore(long row) => TensorPrimitives.Dot(reconstructedQueries.AsSpan(queryOffset, d), reconstructedCorpus.AsSpan(checked((int)(row * d)), d));
            Array.Clear(denseQuery);
            var values = queryCodes.ValuesOf(q);
            var indices = queryCodes.IndicesOf(q);
            for (var i = 0; i < values.Length; i++)
                denseQuery[indices[i]] = values[i];
            float LatentScore(long row)
            {
                var documentValues = corpusCodes.ValuesOf((int)row);
                var documentIndices = corpusCodes.IndicesOf((int)row);
                var sum = 0f;
                for (var i = 0; i < documentValues.Length; i++)
                    sum += denseQuery[documentIndices[i]] * documentValues[i];
                return sum;
            }

            var pool = pools.RowsOf(q);
            top16Original += ReciprocalRank(pool[..16], relevant);
            top100Original += ReciprocalRank(pool, relevant);
            top16Reconstructed += ReciprocalRankWithin(pool[..16], relevant, ReconstructedScore);
            top16Latent += ReciprocalRankWithin(pool[..16], relevant, LatentScore);
            top100Reconstructed += ReciprocalRankWithin(pool, relevant, ReconstructedScore);
            top100Latent += ReciprocalRankWithin(pool, relevant, LatentScore);
            queryOnly += ReciprocalRank(querySide.RowsOf(q), relevant);
            documentOnly += ReciprocalRank(documentSide.RowsOf(q), relevant);
        }

        double Kept(double sum) => sum / Math.Max(1, judged.Count) / originalMrr;
        return new Breakdown(Kept(top16Original), Kept(top100Original), Kept(top16Reconstructed), Kept(top16Latent), Kept(top100Reconstructed), Kept(top100Latent), Kept(queryOnly), Kept(documentOnly));
    }

    /// <summary>1 / the rank of the best relevant document when only <paramref name="pool"/> is ranked by <paramref name="score"/>, ties against it; 0 when none is in it.</summary>
    private static double ReciprocalRankWithin(ReadOnlySpan<long> pool, HashSet<long> relevant, Func<long, float> score)
    {
        var scores = new float[pool.Length];
        var best = -1;
        for (var i = 0; i < pool.Length; i++)
        {
            scores[i] = score(pool[i]);
            if (relevant.Contains(pool[i]) && (best < 0 || scores[i] > scores[best]))
                best = i;
        }

        return best < 0 ? 0 : 1.0 / (1 + scores.Where((s, i) => i != best && s >= scores[best]).Count());
    }

    private static double ReciprocalRank(ReadOnlySpan<long> ranked, HashSet<long> relevant)
    {
        for (var i = 0; i < ranked.Length; i++)
        {
            if (relevant.Contains(ranked[i]))
                return 1.0 / (i + 1);
        }

        return 0;
    }
}
