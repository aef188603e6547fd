namespace SaeMl.Demo;

/// <summary>Which texts of the demo world a store holds.</summary>
public enum DemoTexts
{
    /// <summary>The corpus documents (title and text).</summary>
    Corpus,

    /// <summary>The evaluation queries, judged in the qrels.</summary>
    Queries,

    /// <summary>The training queries: drawn like the evaluation queries, never judged, used to train autoencoders.</summary>
    TrainingQueries,
}
