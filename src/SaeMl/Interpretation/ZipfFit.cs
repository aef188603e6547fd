namespace SaeMl.Interpretation;

/// <summary>
/// A rank-frequency distribution fitted as Zipf's law, log f = c − s · log r, by least squares on
/// log–log axes over the items that occur at least once, at ranks spread evenly in log rank (20 per
/// decade): fitted at every rank, the thousands of tail ranks would outweigh the head, and the line would
/// miss the first decades entirely.
/// </summary>
/// <param name="Exponent">s: 1 for classic Zipf, larger for a heavier head.</param>
/// <param name="Intercept">c, the fitted log10 frequency at rank 1.</param>
/// <param name="RSquared">How much of the variance of log f the line explains.</param>
/// <param name="Points">The number of items with a positive count (the ranks the fit spans).</param>
public sealed record ZipfFit(double Exponent, double Intercept, double RSquared, int Points)
{
    /// <summary>Fits counts in any order; zeros are left out.</summary>
    /// <exception cref="ArgumentException">Fewer than two counts are positive.</exception>
    public static ZipfFit Of(IEnumerable<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var sorted = RankFrequency(counts);
        if (sorted.Length < 2)
            throw new ArgumentException($"A Zipf fit needs at least two positive counts; got {sorted.Length}.", nameof(counts));
        var ranks = Enumerable.Range(0, (int)Math.Ceiling(Math.Log10(sorted.Length) * PointsPerDecade) + 1)
            .Select(i => (int)Math.Round(Math.Pow(10, i / (double)PointsPerDecade)))
            .Where(r => r <= sorted.Length).Distinct().ToArray();
        var x = ranks.Select(r => Math.Log10(r)).ToArray();
        var y = ranks.Select(r => Math.Log10(sorted[r - 1])).ToArray();
        var (meanX, meanY) = (x.Average(), y.Average());
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - meanX) * (y[i] - meanY);
            sxx += (x[i] - meanX) * (x[i] - meanX);
            syy += (y[i] - meanY) * (y[i] - meanY);
        }

        var slope = sxy / sxx;
        var rSquared = syy == 0 ? 1 : sxy * sxy / (sxx * syy);
        return new ZipfFit(-slope, meanY - slope * meanX, rSquared, sorted.Length);
    }

    /// <summary>Ranks fitted per factor of ten.</summary>
    public const int PointsPerDecade = 20;

    /// <summary>The positive counts in descending order: the frequency at rank 1, 2, ….</summary>
    public static long[] RankFrequency(IEnumerable<long> counts) => [.. counts.Where(c => c > 0).OrderDescending()];
}
