namespace SaeMl.Interpretation;

/// <summary>
/// How often pairs of latents fire in the same document, counted sparsely (only pairs that meet), and
/// the feature families read from it as O'Neill et al. (2024) do: a maximum spanning tree over the
/// co-occurrence graph, cut where co-occurrence is weak, each remaining subtree a family rooted at its
/// most frequent latent.
/// </summary>
/// <remarks>
/// The strength of a pair is its cosine co-occurrence c_ij / √(c_i c_j): 1 when two latents always fire
/// together, 0 when never. Memory is bounded: when more than <see cref="MaximumPairs"/> pairs are held,
/// the rarest are dropped (those seen together at most once, then twice, …, until half the budget is
/// free), so counts of pairs rarer than <see cref="DroppedBelow"/> are lower bounds, as in lossy counting.
/// </remarks>
public sealed class LatentCooccurrence
{
    private readonly Dictionary<long, int> _pairs = [];
    private readonly long[] _counts;

    /// <summary>Empty counts for <paramref name="latentSize"/> latents, holding at most <paramref name="maximumPairs"/> pairs.</summary>
    public LatentCooccurrence(int latentSize, int maximumPairs = 20_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumPairs, 2);
        LatentSize = latentSize;
        MaximumPairs = maximumPairs;
        _counts = new long[latentSize];
    }

    /// <summary>The most pairs held at once.</summary>
    public int MaximumPairs { get; }

    /// <summary>Pairs seen together fewer times than this may have been dropped and counted again from zero (1 when nothing was dropped).</summary>
    public int DroppedBelow { get; private set; } = 1;

    /// <summary>n.</summary>
    public int LatentSize { get; }

    /// <summary>The documents counted.</summary>
    public long Documents { get; private set; }

    /// <summary>The number of distinct pairs seen together.</summary>
    public int PairCount => _pairs.Count;

    /// <summary>Counts one document's firing latents (values &gt; 0), given in ascending order.</summary>
    public void AddDocument(ReadOnlySpan<int> latents, ReadOnlySpan<float> values)
    {
        Documents++;
        for (var i = 0; i < latents.Length; i++)
        {
            if (!(values[i] > 0))
                continue;
            _counts[latents[i]]++;
            for (var j = i + 1; j < latents.Length; j++)
            {
                if (values[j] > 0)
                {
                    ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pairs, Key(latents[i], latents[j]), out _);
                    count++;
                }
            }
        }

        if (_pairs.Count > MaximumPairs)
            DropRarestPairs();
    }

    private void DropRarestPairs()
    {
        while (_pairs.Count > MaximumPairs / 2)
        {
            foreach (var (key, count) in _pairs)
            {
                if (count < DroppedBelow + 1)
                    _pairs.Remove(key);
            }

            DroppedBelow++;
        }
    }

    /// <summary>The documents in which both latents fire.</summary>
    public int Together(int first, int second) =>
        first == second ? (int)_counts[first] : _pairs.GetValueOrDefault(first < second ? Key(first, second) : Key(second, first));

    /// <summary>The cosine co-occurrence of two latents.</summary>
    public double Strength(int first, int second)
    {
        var product = (double)_counts[first] * _counts[second];
        return product == 0 ? 0 : Together(first, second) / Math.Sqrt(product);
    }

    /// <summary>
    /// The feature families: the maximum spanning forest of pairs seen together in at least
    /// <paramref name="minimumTogether"/> documents with strength ≥ <paramref name="minimumStrength"/>,
    /// each tree rooted at its most frequent latent. Latents in no such pair are families of one.
    /// </summary>
    public FeatureFamilies Families(double minimumStrength = 0.2, int minimumTogether = 3)
    {
        var edges = _pairs
            .Where(p => p.Value >= minimumTogether)
            .Select(p => (First: (int)(p.Key / LatentSize), Second: (int)(p.Key % LatentSize)))
            .Select(e => (e.First, e.Second, Strength: Strength(e.First, e.Second)))
            .Where(e => e.Strength >= minimumStrength)
            .OrderByDescending(e => e.Strength).ThenBy(e => e.First).ThenBy(e => e.Second);
        var sets = Enumerable.Range(0, LatentSize).ToArray();
        var tree = new List<(int, int, double)>();
        foreach (var edge in edges)                                                          // Kruskal
        {
            var (a, b) = (Find(edge.First), Find(edge.Second));
            if (a == b)
                continue;
            sets[a] = b;
            tree.Add(edge);
        }

        return FeatureFamilies.FromTree(LatentSize, tree, _counts);

        int Find(int x)
        {
            while (sets[x] != x)
                x = sets[x] = sets[sets[x]];
            return x;
        }
    }

    private long Key(int low, int high) => (long)low * LatentSize + high;

    /// <summary>Writes the counts (for <see cref="FeatureScan.Save"/>).</summary>
    internal void Write(BinaryWriter writer)
    {
        writer.Write(LatentSize);
        writer.Write(MaximumPairs);
        writer.Write(DroppedBelow);
        writer.Write(Documents);
        writer.Write(_pairs.Count);
        writer.Flush();
        Data.BinaryBlocks.Write<long>(writer.BaseStream, _counts);
        Data.BinaryBlocks.Write<long>(writer.BaseStream, [.. _pairs.Keys]);
        Data.BinaryBlocks.Write<int>(writer.BaseStream, [.. _pairs.Values]);
    }

    /// <summary>Reads counts that <see cref="Write"/> wrote.</summary>
    internal static LatentCooccurrence Read(BinaryReader reader)
    {
        var cooccurrence = new LatentCooccurrence(reader.ReadInt32(), reader.ReadInt32()) { DroppedBelow = reader.ReadInt32(), Documents = reader.ReadInt64() };
        var pairs = reader.ReadInt32();
        Data.BinaryBlocks.Read<long>(reader.BaseStream, cooccurrence._counts);
        var (keys, counts) = (new long[pairs], new int[pairs]);
        Data.BinaryBlocks.Read<long>(reader.BaseStream, keys);
        Data.BinaryBlocks.Read<int>(reader.BaseStream, counts);
        cooccurrence._pairs.EnsureCapacity(pairs);
        for (var i = 0; i < pairs; i++)
            cooccurrence._pairs[keys[i]] = counts[i];
        return cooccurrence;
    }
}
