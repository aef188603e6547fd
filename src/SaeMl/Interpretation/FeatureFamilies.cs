namespace SaeMl.Interpretation;

/// <summary>
/// Latents grouped into families: trees of co-firing latents, each rooted at its most frequent latent
/// (the family's general concept); every other latent's parent is its neighbour on the tree path to the
/// root, which need not be more frequent than it.
/// </summary>
public sealed class FeatureFamilies
{
    private readonly int[] _root;
    private readonly int[] _parent;
    private readonly double[] _strength;

    private FeatureFamilies(int[] root, int[] parent, double[] strength)
    {
        _root = root;
        _parent = parent;
        _strength = strength;
    }

    /// <summary>n.</summary>
    public int LatentSize => _root.Length;

    /// <summary>The family's root latent, which names the family.</summary>
    public int RootOf(int latent) => _root[latent];

    /// <summary>The latent's parent in its family tree, or −1 for a root.</summary>
    public int ParentOf(int latent) => _parent[latent];

    /// <summary>The co-occurrence strength of the edge to the parent (0 for a root).</summary>
    public double StrengthToParent(int latent) => _strength[latent];

    /// <summary>The families with more than one member, largest first: root and members (root first, then by index).</summary>
    public IReadOnlyList<(int Root, int[] Members)> Groups() =>
        [.. Enumerable.Range(0, LatentSize).GroupBy(j => _root[j])
            .Where(g => g.Count() > 1)
            .Select(g => (g.Key, g.OrderBy(j => j == g.Key ? -1 : j).ToArray()))
            .OrderByDescending(g => g.Item2.Length).ThenBy(g => g.Key)];

    /// <summary>Roots each tree of a forest at its most frequent latent (ties: the lower index) and records the parents.</summary>
    internal static FeatureFamilies FromTree(int latentSize, IReadOnlyList<(int First, int Second, double Strength)> edges, ReadOnlySpan<long> frequency)
    {
        var adjacent = Enumerable.Range(0, latentSize).Select(_ => new List<(int Other, double Strength)>()).ToArray();
        foreach (var (first, second, strength) in edges)
        {
            adjacent[first].Add((second, strength));
            adjacent[second].Add((first, strength));
        }

        var root = Enumerable.Repeat(-1, latentSize).ToArray();
        var parent = Enumerable.Repeat(-1, latentSize).ToArray();
        var strengths = new double[latentSize];
        for (var start = 0; start < latentSize; start++)
        {
            if (root[start] >= 0)
                continue;
            var members = new List<int> { start };                                   // the whole tree
            root[start] = start;
            for (var i = 0; i < members.Count; i++)
            {
                foreach (var (other, _) in adjacent[members[i]])
                {
                    if (root[other] < 0)
                    {
                        root[other] = start;
                        members.Add(other);
                    }
                }
            }

            var top = start;
            foreach (var member in members)
                if (frequency[member] > frequency[top] || (frequency[member] == frequency[top] && member < top))
                    top = member;
            var queue = new Queue<int>([top]);                                         // re-root at the most frequent
            foreach (var member in members)
                root[member] = top;
            var seen = new HashSet<int> { top };
            while (queue.TryDequeue(out var at))
            {
                foreach (var (other, strength) in adjacent[at])
                {
                    if (seen.Add(other))
                    {
                        parent[other] = at;
                        strengths[other] = strength;
                        queue.Enqueue(other);
                    }
                }
            }
        }

        return new FeatureFamilies(root, parent, strengths);
    }
}
