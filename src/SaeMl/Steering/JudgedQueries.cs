using SaeMl.Data;

namespace SaeMl.Steering;

/// <summary>The queries a steering study evaluates: those with a relevant document in the corpus, their rows and their embeddings.</summary>
internal sealed record JudgedQueries(Qrels Judged, int[] Rows, float[] Embeddings)
{
    /// <summary>Reads the queries that the qrels judge against the corpus (unknown ids skipped).</summary>
    /// <exception cref="ArgumentException">No query has a relevant document in the corpus.</exception>
    public static JudgedQueries Read(EmbeddingStore queries, IdIndex queryIds, IdIndex corpusIds, Qrels qrels)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(qrels);
        var judged = qrels.RestrictTo(queryIds, corpusIds, UnknownIdHandling.Skip, UnknownIdHandling.Skip);
        var rows = Enumerable.Range(0, checked((int)queryIds.Count)).Where(q => judged.RelevantCount(queryIds[q]) > 0).ToArray();
        if (rows.Length == 0)
            throw new ArgumentException($"No query of '{queryIds.Source}' has a relevant document in '{corpusIds.Source}'.", nameof(qrels));
        var d = queries.Dimension;
        var embeddings = new float[rows.Length * d];
        for (var i = 0; i < rows.Length; i++)
            queries.ReadRows(rows[i], embeddings.AsSpan(i * d, d));
        return new JudgedQueries(judged, rows, embeddings);
    }
}
