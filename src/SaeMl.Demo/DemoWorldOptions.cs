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
    /// The strength of one direction shared by every token, relative to a concept direction's unit norm: every
    /// embedding then leans the same way, as real models' embeddings do (0 in the standard world).
    /// </summary>
    public double CommonDirection { get; init; }

    /// <summary>
    /// The share of each concept direction's variance that comes from its topic's direction (concepts in groups
    /// of ten share a topic): related concepts whose directions overlap (0 in the standard world).
    /// </summary>
    public double ConceptCorrelation { get; init; }

    /// <summary>Short noisy queries: one or two words of each concept asked, among one to three filler words.</summary>
    public bool NoisyQueries { get; init; }

    /// <summary>Only the document a query was drawn from is judged relevant, as in MS MARCO; the others that hold its concepts go unjudged.</summary>
    public bool SparseJudgements { get; init; }

    /// <summary>Whether any of the hard world's settings is on.</summary>
    public bool IsHard => CommonDirection != 0 || ConceptCorrelation != 0 || NoisyQueries || SparseJudgements;

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

    /// <summary>
    /// The hard world: the standard world's corpus of <paramref name="documents"/> with a strong common direction
    /// (strength 0.7: unrelated documents' cosine about 0.8), correlated concepts (half of each direction's variance from its topic), short noisy queries and
    /// one judged document per query. Its original embeddings retrieve far worse than the standard world's, so an
    /// autoencoder's losses show, as on real data.
    /// </summary>
    public static DemoWorldOptions Hard(int documents, int seed = 42) => ForCorpus(documents, seed) with
    {
        CommonDirection = 0.7,
        ConceptCorrelation = 0.5,
        NoisyQueries = true,
        SparseJudgements = true,
    };

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Documents);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Queries);
        ArgumentOutOfRangeException.ThrowIfLessThan(Dimension, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(Concepts, DemoVocabulary.HandPickedConcepts.Length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxRelevantPerQuery);
        if (!(CommonDirection >= 0 && double.IsFinite(CommonDirection)))
            throw new ArgumentOutOfRangeException(nameof(CommonDirection), CommonDirection, "CommonDirection must be 0 or positive.");
        if (!(ConceptCorrelation is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(ConceptCorrelation), ConceptCorrelation, "ConceptCorrelation must be in [0, 1).");
    }
}
