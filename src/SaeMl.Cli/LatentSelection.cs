using System.Globalization;
using SaeMl.Interpretation;

namespace SaeMl.Cli;

/// <summary>Which latents a command interprets: all alive ones, a seeded random sample (of all or of a frequency group), or a list.</summary>
internal sealed class LatentSelection
{
    private readonly string _kind;
    private readonly int _count;
    private readonly int[] _list;

    private LatentSelection(string kind, int count, int[] list)
    {
        _kind = kind;
        _count = count;
        _list = list;
    }

    /// <summary>Reads <c>all</c>, <c>sample:N</c>, <c>head:N</c>, <c>torso:N</c>, <c>tail:N</c> or <c>list:1,2,3</c>.</summary>
    /// <exception cref="UsageException">The text is none of these.</exception>
    public static LatentSelection Parse(string text)
    {
        if (text == "all")
            return new LatentSelection("all", 0, []);
        var parts = text.Split(':', 2);
        if (parts.Length == 2 && parts[0] == "list")
        {
            var items = parts[1].Split(',');
            var latents = new int[items.Length];
            for (var i = 0; i < items.Length; i++)
            {
                if (!int.TryParse(items[i], NumberStyles.None, CultureInfo.InvariantCulture, out latents[i]))
                    throw new UsageException($"--latents '{text}': '{items[i]}' is not a latent number (list:1,2,3).");
            }

            return new LatentSelection("list", 0, latents);
        }

        if (parts.Length == 2 && parts[0] is "sample" or "head" or "torso" or "tail"
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0)
            return new LatentSelection(parts[0], count, []);
        throw new UsageException($"--latents '{text}': expected all, sample:N, head:N, torso:N, tail:N (N at least 1) or list:1,2,3.");
    }

    /// <summary>Checks a list against the autoencoder's latents, before any work.</summary>
    /// <exception cref="UsageException">A listed latent is outside the autoencoder's.</exception>
    public void Check(int latentSize)
    {
        if (_list.FirstOrDefault(j => j >= latentSize, -1) is var bad and >= 0)
            throw new UsageException($"--latents names latent {bad}, but the autoencoder has latents 0..{latentSize - 1}.");
    }

    /// <summary>The latents chosen, ascending; samples are drawn with seed 1, so the same statistics choose the same latents.</summary>
    /// <exception cref="UsageException">A listed latent is outside the autoencoder's.</exception>
    public IReadOnlyList<int> Choose(FeatureStatistics statistics)
    {
        if (_kind == "list")
        {
            Check(statistics.LatentSize);
            return [.. _list.Distinct().Order()];
        }

        var groups = statistics.Groups();
        var pool = Enumerable.Range(0, statistics.LatentSize).Where(j => _kind switch
        {
            "head" => groups[j] == FrequencyGroup.Head,
            "torso" => groups[j] == FrequencyGroup.Torso,
            "tail" => groups[j] == FrequencyGroup.Tail,
            _ => groups[j] != FrequencyGroup.Dead,
        }).ToArray();
        if (_kind == "all")
            return pool;
        var random = new Random(1);
        return [.. pool.OrderBy(_ => random.Next()).Take(_count).Order()];
    }
}
