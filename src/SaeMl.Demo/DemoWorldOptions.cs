namespace SaeMl.Demo;

/// <summary>The size and seed of a generated <see cref="DemoWorld"/>.</summary>
public sealed record DemoWorldOptions
{
    /// <summary>The seed; the same options give the same files, byte for byte.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Documents in the corpus.</summary>
    public int Documents { get; init; } = 20_000;

    /// <summary>Queries, each with at least one relevant document.</summary>
    public int Queries { get; init; } = 1_000;

    /// <summary>The embedding dimension of the world's model.</summary>
    public int Dimension { get; init; } = 256;

    /// <summary>Planted concepts, the hand-picked readable ones included (at least that many).</summary>
    public int Concepts { get; init; } = 300;

    /// <summary>The most relevant documents a query may have; broader queries get another concept or are redrawn.</summary>
    public int MaxRelevantPerQuery { get; init; } = 100;

    /// <summary>
    /// Options for a corpus of <paramref name="documents"/>: a query may have up to 5 % of the corpus
    /// relevant, between 1 and 100 documents, so that small worlds keep their queries selective.
    /// </summary>
    public static DemoWorldOptions ForCorpus(int documents, int seed = 42) => new()
    {
        Seed = seed,
        Documents = documents,
        MaxRelevantPerQuery = Math.Max(1, Math.Min(100, documents / 20)),
    };

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Documents);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Queries);
        ArgumentOutOfRangeException.ThrowIfLessThan(Dimension, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(Concepts, DemoVocabulary.HandPickedConcepts.Length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxRelevantPerQuery);
    }
}
