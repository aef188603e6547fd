using SaeMl.Data;

namespace SaeMl.Steering;

/// <summary>Picks the latent that stands for a property of documents from data, rather than by hand.</summary>
public static class ConceptLatents
{
    /// <summary>
    /// The latent whose mean activation over the <paramref name="members"/> rows of <paramref name="codes"/> most exceeds its
    /// mean activation over the other rows: the latent that best tells, say, documents about a concept from the rest.
    /// </summary>
    /// <param name="codes">Every row's latents (a corpus's, say).</param>
    /// <param name="members">The rows that have the property.</param>
    /// <param name="latentSize">n.</param>
    /// <exception cref="ArgumentException">No row, or every row, is a member.</exception>
    public static int MostSeparating(SparseCodes codes, IReadOnlySet<long> members, int latentSize)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentNullException.ThrowIfNull(members);
        var inside = members.Count(row => row >= 0 && row < codes.Rows);
        if (inside == 0 || inside == codes.Rows)
            throw new ArgumentException($"{inside} of {codes.Rows} rows are members; a latent can only separate when some are and some are not.", nameof(members));
        var (memberSums, otherSums) = (new double[latentSize], new double[latentSize]);
        for (var row = 0; row < codes.Rows; row++)
        {
            var sums = members.Contains(row) ? memberSums : otherSums;
            var indices = codes.IndicesOf(row);
            var values = codes.ValuesOf(row);
            for (var j = 0; j < indices.Length; j++)
                sums[indices[j]] += values[j];
        }

        var best = 0;
        var bestGap = double.NegativeInfinity;
        for (var latent = 0; latent < latentSize; latent++)
        {
            var gap = memberSums[latent] / inside - otherSums[latent] / (codes.Rows - inside);
            if (gap > bestGap)
                (best, bestGap) = (latent, gap);
        }

        return best;
    }
}
