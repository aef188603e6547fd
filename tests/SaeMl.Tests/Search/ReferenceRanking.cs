namespace SaeMl.Tests.Search;

/// <summary>The reference that search tests compare with: score every document, order by score descending then row ascending, keep k.</summary>
internal static class ReferenceRanking
{
    /// <summary>The top <paramref name="k"/> rows and scores of each query, queries one after another, as flat <c>[queries, min(k, documents)]</c> arrays.</summary>
    public static (long[] Rows, TScore[] Scores) TopK<TScore>(int queryCount, int documentCount, int k, Func<int, int, TScore> score)
    {
        var keep = Math.Min(k, documentCount);
        var rows = new List<long>();
        var scores = new List<TScore>();
        for (var query = 0; query < queryCount; query++)
        {
            var ranked = Enumerable.Range(0, documentCount)
                .Select(d => (Row: (long)d, Score: score(query, d)))
                .OrderByDescending(p => p.Score)
                .ThenBy(p => p.Row)
                .Take(keep)
                .ToList();
            rows.AddRange(ranked.Select(p => p.Row));
            scores.AddRange(ranked.Select(p => p.Score));
        }

        return (rows.ToArray(), scores.ToArray());
    }
}
