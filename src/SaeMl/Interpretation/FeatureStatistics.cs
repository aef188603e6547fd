namespace SaeMl.Interpretation;

/// <summary>
/// How every latent behaves over a corpus: the documents it fires in (a non-zero value among the
/// document's K), its mean activation where it fires, its largest activation and a histogram of its
/// activations on log-spaced bins. Counted while the corpus streams past, in memory independent of
/// the corpus size.
/// </summary>
public sealed class FeatureStatistics
{
    private readonly long[] _fireCounts;
    private readonly double[] _sums;
    private readonly float[] _max;
    private readonly long[] _histogram;
    private readonly double _logMinimum;
    private readonly double _binsPerLog;
    private readonly float _histogramMinimum;
    private readonly float _histogramMaximum;

    /// <summary>Empty counts for <paramref name="latentSize"/> latents.</summary>
    public FeatureStatistics(int latentSize, int histogramBins, float histogramMinimum, float histogramMaximum)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(histogramBins, 2);
        if (!(histogramMinimum > 0) || !(histogramMaximum > histogramMinimum))
            throw new ArgumentOutOfRangeException(nameof(histogramMinimum), $"The histogram needs 0 < minimum < maximum; got {histogramMinimum} and {histogramMaximum}.");
        LatentSize = latentSize;
        (_histogramMinimum, _histogramMaximum) = (histogramMinimum, histogramMaximum);
        _fireCounts = new long[latentSize];
        _sums = new double[latentSize];
        _max = new float[latentSize];
        _histogram = new long[(long)latentSize * histogramBins];
        _logMinimum = Math.Log(histogramMinimum);
        _binsPerLog = histogramBins / (Math.Log(histogramMaximum) - _logMinimum);
        BinEdges = Enumerable.Range(0, histogramBins + 1).Select(b => (float)Math.Exp(_logMinimum + b / _binsPerLog)).ToArray();
    }

    /// <summary>n.</summary>
    public int LatentSize { get; }

    /// <summary>The documents counted.</summary>
    public long Documents { get; private set; }

    /// <summary>The histogram's bin edges, one more than the bins, log-spaced; bin b holds activations in [edge b, edge b+1), the first and last bins also what falls below and above.</summary>
    public IReadOnlyList<float> BinEdges { get; }

    /// <summary>The number of documents each latent fires in.</summary>
    public ReadOnlySpan<long> FireCounts => _fireCounts;

    /// <summary>Counts one document's active latents: <paramref name="latents"/> and their <paramref name="values"/>; zeros do not fire.</summary>
    public void AddDocument(ReadOnlySpan<int> latents, ReadOnlySpan<float> values)
    {
        Documents++;
        var bins = BinEdges.Count - 1;
        for (var i = 0; i < latents.Length; i++)
        {
            var value = values[i];
            if (!(value > 0))
                continue;
            var latent = latents[i];
            _fireCounts[latent]++;
            _sums[latent] += value;
            if (value > _max[latent])
                _max[latent] = value;
            var bin = (int)Math.Clamp(Math.Floor((Math.Log(value) - _logMinimum) * _binsPerLog), 0, bins - 1);
            _histogram[(long)latent * bins + bin]++;
        }
    }

    /// <summary>The share of documents a latent fires in.</summary>
    public double Frequency(int latent) => Documents == 0 ? 0 : (double)_fireCounts[latent] / Documents;

    /// <summary>A latent's mean activation over the documents it fires in (0 when it never fires).</summary>
    public double MeanActivation(int latent) => _fireCounts[latent] == 0 ? 0 : _sums[latent] / _fireCounts[latent];

    /// <summary>A latent's largest activation (0 when it never fires).</summary>
    public float MaxActivation(int latent) => _max[latent];

    /// <summary>A latent's activation counts per bin of <see cref="BinEdges"/>.</summary>
    public ReadOnlySpan<long> Histogram(int latent) => _histogram.AsSpan((int)((long)latent * (BinEdges.Count - 1)), BinEdges.Count - 1);

    /// <summary>The latents that fire in no document.</summary>
    public IReadOnlyList<int> DeadLatents() => [.. Enumerable.Range(0, LatentSize).Where(j => _fireCounts[j] == 0)];

    /// <summary>Every latent's <see cref="FrequencyGroup"/>: alive latents ranked by frequency (ties by index), the top tenth the head, the bottom half the tail.</summary>
    public FrequencyGroup[] Groups()
    {
        var groups = new FrequencyGroup[LatentSize];
        var alive = Enumerable.Range(0, LatentSize).Where(j => _fireCounts[j] > 0).OrderByDescending(j => _fireCounts[j]).ThenBy(j => j).ToArray();
        var headEnd = (int)Math.Ceiling(alive.Length * 0.1);
        var tailStart = alive.Length - alive.Length / 2;
        for (var rank = 0; rank < alive.Length; rank++)
            groups[alive[rank]] = rank < headEnd ? FrequencyGroup.Head : rank >= tailStart ? FrequencyGroup.Tail : FrequencyGroup.Torso;
        return groups;
    }

    /// <summary>The Zipf fit of the latents' document frequencies (the paper's Figure 3).</summary>
    public ZipfFit Zipf() => ZipfFit.Of(_fireCounts.ToArray());

    /// <summary>Writes the counts (for <see cref="FeatureScan.Save"/>).</summary>
    internal void Write(BinaryWriter writer)
    {
        writer.Write(LatentSize);
        writer.Write(BinEdges.Count - 1);
        writer.Write(_histogramMinimum);
        writer.Write(_histogramMaximum);
        writer.Write(Documents);
        writer.Flush();
        Data.BinaryBlocks.Write<long>(writer.BaseStream, _fireCounts);
        Data.BinaryBlocks.Write<double>(writer.BaseStream, _sums);
        Data.BinaryBlocks.Write<float>(writer.BaseStream, _max);
        Data.BinaryBlocks.Write<long>(writer.BaseStream, _histogram);
    }

    /// <summary>Reads counts that <see cref="Write"/> wrote.</summary>
    internal static FeatureStatistics Read(BinaryReader reader)
    {
        var statistics = new FeatureStatistics(reader.ReadInt32(), reader.ReadInt32(), reader.ReadSingle(), reader.ReadSingle()) { Documents = reader.ReadInt64() };
        Data.BinaryBlocks.Read<long>(reader.BaseStream, statistics._fireCounts);
        Data.BinaryBlocks.Read<double>(reader.BaseStream, statistics._sums);
        Data.BinaryBlocks.Read<float>(reader.BaseStream, statistics._max);
        Data.BinaryBlocks.Read<long>(reader.BaseStream, statistics._histogram);
        return statistics;
    }
}
