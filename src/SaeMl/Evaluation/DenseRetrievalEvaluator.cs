using SaeMl.Autoencoder;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Evaluation;

/// <summary>Progress of an evaluation: the stage running and how far it is.</summary>
/// <param name="Stage">What runs: "original search", "encoding the corpus", "encoding the queries", "latent search", "reconstructed search".</param>
/// <param name="Done">Units done in the stage (rows).</param>
/// <param name="Total">Units in the stage.</param>
public readonly record struct RetrievalEvaluationProgress(string Stage, long Done, long Total);

/// <summary>
/// Evaluates retrieval end to end at corpus scale: query and corpus embedding stores with their ids and
/// the qrels → exact top-<see cref="RetrievalEvaluationOptions.Depth"/> runs → <see cref="RetrievalMetrics"/>.
/// With a sparse autoencoder it evaluates the paper's three settings: the original embeddings, the
/// sparse latents (searched exactly through a <see cref="SparseLatentIndex"/>) and the reconstructions
/// (queries and documents both through the autoencoder, searched exactly), with the reconstruction error.
/// </summary>
/// <remarks>
/// The corpus streams through once per search and once through the autoencoder; the reconstructed
/// stores go to <see cref="RetrievalEvaluationOptions.WorkingFolder"/> and are deleted afterwards.
/// Judgements of queries without vectors are an error; judgements of documents absent from the corpus
/// are skipped and counted (see <see cref="RetrievalEvaluationOptions.UnknownDocuments"/>).
/// </remarks>
public static class DenseRetrievalEvaluator
{
    /// <summary>Evaluates exact search over the original embeddings.</summary>
    /// <param name="queries">The query embeddings.</param>
    /// <param name="queryIds">The ids of the query rows.</param>
    /// <param name="corpus">The corpus embeddings.</param>
    /// <param name="corpusIds">The ids of the corpus rows.</param>
    /// <param name="qrels">The relevance judgements.</param>
    /// <param name="options">Depth, cutoffs, device; null takes the defaults.</param>
    /// <param name="progress">Receives progress after each corpus chunk.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <exception cref="ArgumentException">The stores and id indexes disagree in size or dimension, the corpus is empty, or the qrels judge queries that have no vector.</exception>
    public static RetrievalEvaluation Evaluate(
        EmbeddingStore queries,
        IdIndex queryIds,
        EmbeddingStore corpus,
        IdIndex corpusIds,
        Qrels qrels,
        RetrievalEvaluationOptions? options = null,
        IProgress<RetrievalEvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new RetrievalEvaluationOptions();
        var judged = Prepare(queries, queryIds, corpus, corpusIds, qrels, options);
        var original = SearchOriginal(queries, queryIds, corpus, corpusIds, judged, options, progress, cancellationToken);
        return new RetrievalEvaluation([original], judged.SkippedJudgements, meanSquaredError: null, fractionOfVarianceUnexplained: null);
    }

    /// <summary>Evaluates the original embeddings, an autoencoder's sparse latents and its reconstructions.</summary>
    /// <param name="autoencoder">The autoencoder; its dimension is the stores'.</param>
    /// <inheritdoc cref="Evaluate(EmbeddingStore, IdIndex, EmbeddingStore, IdIndex, Qrels, RetrievalEvaluationOptions?, IProgress{RetrievalEvaluationProgress}?, CancellationToken)"/>
    /// <param name="queries">The query embeddings.</param>
    /// <param name="queryIds">The ids of the query rows.</param>
    /// <param name="corpus">The corpus embeddings.</param>
    /// <param name="corpusIds">The ids of the corpus rows.</param>
    /// <param name="qrels">The relevance judgements.</param>
    /// <param name="options">Depth, cutoffs, device, working folder; null takes the defaults.</param>
    /// <param name="progress">Receives progress within each stage.</param>
    /// <param name="cancellationToken">Checked between batches and chunks.</param>
    /// <exception cref="ArgumentException">The autoencoder's dimension is not the stores'.</exception>
    public static RetrievalEvaluation EvaluateAutoencoder(
        SparseAutoencoder autoencoder,
        EmbeddingStore queries,
        IdIndex queryIds,
        EmbeddingStore corpus,
        IdIndex corpusIds,
        Qrels qrels,
        RetrievalEvaluationOptions? options = null,
        IProgress<RetrievalEvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        options ??= new RetrievalEvaluationOptions();
        var judged = Prepare(queries, queryIds, corpus, corpusIds, qrels, options);
        if (autoencoder.Dimension != corpus.Dimension)
            throw new ArgumentException($"The autoencoder reads vectors of dimension {autoencoder.Dimension}, but corpus store '{corpus.Name}' has dimension {corpus.Dimension}.", nameof(autoencoder));

        var original = SearchOriginal(queries, queryIds, corpus, corpusIds, judged, options, progress, cancellationToken);
        var working = options.WorkingFolder is null
            ? Directory.CreateTempSubdirectory("saeml-evaluation-")
            : Directory.CreateDirectory(Path.Combine(options.WorkingFolder, $"saeml-evaluation-{Guid.NewGuid():N}"));
        try
        {
            var error = new ReconstructionError(corpus.Dimension);
            var corpusReconstruction = Path.Combine(working.FullName, "corpus");
            var index = SparseLatentIndex.Build(
                EncodeAndReconstruct(autoencoder, corpus, corpusReconstruction, error, "encoding the corpus", options, progress, cancellationToken),
                autoencoder.LatentSize,
                cancellationToken: cancellationToken);
            var queryReconstruction = Path.Combine(working.FullName, "queries");
            var queryCodes = SparseCodes.Concatenate(EncodeAndReconstruct(autoencoder, queries, queryReconstruction, error, "encoding the queries", options, progress, cancellationToken).ToList());

            progress?.Report(new RetrievalEvaluationProgress("latent search", 0, queryCodes.Rows));
            var latentRun = index.Search(queryCodes, options.Depth, cancellationToken);
            progress?.Report(new RetrievalEvaluationProgress("latent search", queryCodes.Rows, queryCodes.Rows));
            var latent = new RetrievalSettingResult(RetrievalEvaluation.Latent, latentRun, RetrievalMetrics.Compute(latentRun, queryIds, corpusIds, judged, options.Metrics));

            using var reconstructedQueries = EmbeddingStore.Open(queryReconstruction);
            using var reconstructedCorpus = EmbeddingStore.Open(corpusReconstruction);
            var reconstructedRun = Search(reconstructedQueries, reconstructedCorpus, "reconstructed search", options, progress, cancellationToken);
            var reconstructed = new RetrievalSettingResult(RetrievalEvaluation.Reconstructed, reconstructedRun, RetrievalMetrics.Compute(reconstructedRun, queryIds, corpusIds, judged, options.Metrics));
            return new RetrievalEvaluation([original, latent, reconstructed], judged.SkippedJudgements, error.MeanSquaredError, error.FractionOfVarianceUnexplained);
        }
        finally
        {
            working.Delete(recursive: true);
        }
    }

    private static Qrels Prepare(EmbeddingStore queries, IdIndex queryIds, EmbeddingStore corpus, IdIndex corpusIds, Qrels qrels, RetrievalEvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(queryIds);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(corpusIds);
        ArgumentNullException.ThrowIfNull(qrels);
        options.Validate();
        if (queryIds.Count != queries.RowCount)
            throw new ArgumentException($"Query store '{queries.Name}' has {queries.RowCount} vectors but '{queryIds.Source}' names {queryIds.Count} queries; they must match row for row.", nameof(queryIds));
        if (corpusIds.Count != corpus.RowCount)
            throw new ArgumentException($"Corpus store '{corpus.Name}' has {corpus.RowCount} vectors but '{corpusIds.Source}' names {corpusIds.Count} documents; they must match row for row.", nameof(corpusIds));
        if (corpus.RowCount == 0)
            throw new ArgumentException($"Corpus store '{corpus.Name}' is empty; there is nothing to retrieve.", nameof(corpus));
        if (queries.Dimension != corpus.Dimension)
            throw new ArgumentException($"Query store '{queries.Name}' has dimension {queries.Dimension}, but corpus store '{corpus.Name}' has dimension {corpus.Dimension}.", nameof(queries));
        return qrels.RestrictTo(queryIds, corpusIds, options.UnknownQueries, options.UnknownDocuments);
    }

    private static RetrievalSettingResult SearchOriginal(
        EmbeddingStore queries, IdIndex queryIds, EmbeddingStore corpus, IdIndex corpusIds, Qrels judged,
        RetrievalEvaluationOptions options, IProgress<RetrievalEvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        var run = Search(queries, corpus, "original search", options, progress, cancellationToken);
        return new RetrievalSettingResult(RetrievalEvaluation.Original, run, RetrievalMetrics.Compute(run, queryIds, corpusIds, judged, options.Metrics));
    }

    private static SearchResults Search(
        EmbeddingStore queries, EmbeddingStore corpus, string stage, RetrievalEvaluationOptions options,
        IProgress<RetrievalEvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        var searchProgress = progress is null ? null : new CallbackProgress<SearchProgress>(p => progress.Report(new RetrievalEvaluationProgress(stage, p.ScannedRows, p.TotalRows)));
        return ExactSearch.Search(queries, corpus, options.Search, searchProgress, cancellationToken);
    }

    /// <summary>Streams a store through the autoencoder: writes the reconstructions as a store, adds to the error, yields the codes.</summary>
    private static IEnumerable<SparseCodes> EncodeAndReconstruct(
        SparseAutoencoder autoencoder, EmbeddingStore store, string reconstructionFolder, ReconstructionError error, string stage,
        RetrievalEvaluationOptions options, IProgress<RetrievalEvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        using var writer = new EmbeddingStoreWriter(reconstructionFolder, autoencoder.Dimension, job: $"reconstruction of {store.Name}");
        foreach (var (input, codes, reconstruction) in autoencoder.EncodeStore(store, options.EncodeBatchRows, reconstruct: true, cancellationToken))
        {
            writer.WriteRows(reconstruction!);
            error.Add(input.Values.Span, reconstruction);
            progress?.Report(new RetrievalEvaluationProgress(stage, input.FirstRow + input.RowCount, store.RowCount));
            yield return codes;
        }

        writer.Commit();
    }
}
