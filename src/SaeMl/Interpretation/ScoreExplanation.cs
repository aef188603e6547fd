using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Interpretation;

/// <summary>One shared latent's part of a latent-space score: the query's and the document's values and their product.</summary>
public readonly record struct LatentScoreTerm(int Latent, float QueryValue, float DocumentValue, double Contribution);

/// <summary>One latent pair's part of a reconstructed score: z_q[i] · z_d[j] · (W_dec[i] · W_dec[j]).</summary>
public readonly record struct LatentPairTerm(int QueryLatent, int DocumentLatent, double Contribution);

/// <summary>
/// A query–document score taken apart exactly. In latent space the score z_q · z_d is a sum over the
/// latents both fire; for reconstructed embeddings x̂ = Σ z_i W_dec[i] + b_dec, the score x̂_q · x̂_d is a
/// sum over latent pairs plus the decoder bias's terms.
/// </summary>
public static class ScoreExplanation
{
    /// <summary>The latent score of row <paramref name="queryRow"/> of <paramref name="queries"/> against row <paramref name="documentRow"/> of <paramref name="documents"/>: its terms, largest first; they sum to the score.</summary>
    public static IReadOnlyList<LatentScoreTerm> LatentScore(SparseCodes queries, int queryRow, SparseCodes documents, int documentRow)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        var qi = queries.IndicesOf(queryRow);
        var qv = queries.ValuesOf(queryRow);
        var di = documents.IndicesOf(documentRow);
        var dv = documents.ValuesOf(documentRow);
        var terms = new List<LatentScoreTerm>();
        for (int a = 0, b = 0; a < qi.Length && b < di.Length;)           // both ascending: merge
        {
            if (qi[a] < di[b])
                a++;
            else if (qi[a] > di[b])
                b++;
            else
            {
                if (qv[a] != 0 && dv[b] != 0)
                    terms.Add(new LatentScoreTerm(qi[a], qv[a], dv[b], (double)qv[a] * dv[b]));
                a++;
                b++;
            }
        }

        return [.. terms.OrderByDescending(t => Math.Abs(t.Contribution)).ThenBy(t => t.Latent)];
    }

    /// <summary>
    /// The reconstructed score x̂_q · x̂_d of one query and one document from their latents: every latent
    /// pair's term (largest magnitude first), the query's latents against the decoder bias, the document's
    /// latents against it, and b_dec · b_dec. <see cref="ReconstructedScore.Total"/> sums them.
    /// </summary>
    public static ReconstructedScore Reconstructed(SaeWeights weights, SparseCodes queries, int queryRow, SparseCodes documents, int documentRow)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        var d = weights.Dimension;
        var decoder = weights.DecoderWeight.AsSpan();
        var bias = weights.DecoderBias.AsSpan();
        var qi = queries.IndicesOf(queryRow);
        var qv = queries.ValuesOf(queryRow);
        var di = documents.IndicesOf(documentRow);
        var dv = documents.ValuesOf(documentRow);
        var pairs = new List<LatentPairTerm>();
        double queryBias = 0, documentBias = 0;
        for (var a = 0; a < qi.Length; a++)
        {
            if (qv[a] == 0)
                continue;
            var row = decoder.Slice(qi[a] * d, d);
            queryBias += qv[a] * Dot(row, bias);
            for (var b = 0; b < di.Length; b++)
            {
                if (dv[b] != 0)
                    pairs.Add(new LatentPairTerm(qi[a], di[b], (double)qv[a] * dv[b] * Dot(row, decoder.Slice(di[b] * d, d))));
            }
        }

        for (var b = 0; b < di.Length; b++)
            documentBias += dv[b] * Dot(decoder.Slice(di[b] * d, d), bias);
        return new ReconstructedScore(
            [.. pairs.OrderByDescending(p => Math.Abs(p.Contribution)).ThenBy(p => p.QueryLatent).ThenBy(p => p.DocumentLatent)],
            queryBias, documentBias, Dot(bias, bias));
    }

    private static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double sum = 0;
        for (var i = 0; i < x.Length; i++)
            sum += (double)x[i] * y[i];
        return sum;
    }
}

/// <summary>A reconstructed score taken apart: latent pairs and the decoder bias's terms.</summary>
/// <param name="Pairs">z_q[i] z_d[j] W_i·W_j for every firing pair, largest magnitude first.</param>
/// <param name="QueryBias">Σ_i z_q[i] W_i · b_dec.</param>
/// <param name="DocumentBias">Σ_j z_d[j] W_j · b_dec.</param>
/// <param name="BiasBias">b_dec · b_dec.</param>
public sealed record ReconstructedScore(IReadOnlyList<LatentPairTerm> Pairs, double QueryBias, double DocumentBias, double BiasBias)
{
    /// <summary>The score: the sum of every term.</summary>
    public double Total => Pairs.Sum(p => p.Contribution) + QueryBias + DocumentBias + BiasBias;

    /// <summary>The share of an original dense score that the reconstruction accounts for (Total / original).</summary>
    public double ShareOf(double originalScore) => Total / originalScore;

    /// <summary>Each query latent's part: the sum of its pair terms, largest magnitude first.</summary>
    public IReadOnlyList<(int Latent, double Contribution)> ByQueryLatent() =>
        [.. Pairs.GroupBy(p => p.QueryLatent).Select(g => (g.Key, g.Sum(p => p.Contribution))).OrderByDescending(t => Math.Abs(t.Item2)).ThenBy(t => t.Key)];
}
