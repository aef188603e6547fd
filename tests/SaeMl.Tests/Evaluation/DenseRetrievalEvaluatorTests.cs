using Microsoft.ML.Data;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Evaluation;

namespace SaeMl.Tests.Evaluation;

/// <summary>
/// End-to-end evaluation checked against rankings computed independently: every pair scored in double
/// precision, sorted by score then row, and the metrics computed over those rankings.
/// </summary>
public sealed class DenseRetrievalEvaluatorTests : IDisposable
{
    private const int Dimension = 16, Documents = 300, Queries = 40, Depth = 50;
    private readonly TempFolder _folder = new();
    private readonly float[] _corpus = Gaussian(Documents * Dimension, seed: 1);
    private readonly float[] _queries = Gaussian(Queries * Dimension, seed: 2);
    private readonly IdIndex _documentIds = IdIndex.Build(Enumerable.Range(0, Documents).Select(d => $"doc{d}"), "corpus ids");
    private readonly IdIndex _queryIds = IdIndex.Build(Enumerable.Range(0, Queries).Select(q => $"q{q}"), "query ids");
    private readonly Qrels _qrels;

    public DenseRetrievalEvaluatorTests()
    {
        var random = new Random(3);
        _qrels = Qrels.FromJudgements(Enumerable.Range(0, Queries).SelectMany(q =>
            Enumerable.Range(0, 6).Select(_ => new Judgement($"q{q}", $"doc{random.Next(Documents)}", random.Next(0, 3)))).DistinctBy(j => (j.QueryId, j.DocumentId)));
    }

    public void Dispose() => _folder.Dispose();

    private static float[] Gaussian(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    private EmbeddingStore Store(string name, float[] values, int dimension = Dimension)
    {
        var path = _folder.File(name + ".npy");
        NpyWriter.Write(path, values, dimension);
        return EmbeddingStore.Open(path);
    }

    private static RetrievalEvaluationOptions Options => new() { Depth = Depth, Device = ComputeDevice.Cpu };

    /// <summary>The metrics of naive rankings: double-precision inner products, best first, ties by row.</summary>
    private RetrievalMetrics NaiveMetrics(float[] queries, float[] corpus, int width, Qrels qrels)
    {
        var run = Enumerable.Range(0, Queries).Select(q =>
        {
            var ranking = Enumerable.Range(0, Documents)
                .Select(d => (Row: d, Score: Enumerable.Range(0, width).Sum(i => (double)queries[q * width + i] * corpus[d * width + i])))
                .OrderByDescending(p => p.Score).ThenBy(p => p.Row).Take(Depth)
                .Select(p => _documentIds[p.Row]).ToArray();
            return new KeyValuePair<string, IReadOnlyList<string>>(_queryIds[q], ranking);
        });
        return RetrievalMetrics.Compute(run, qrels);
    }

    private static void ShouldMatch(RetrievalMetrics actual, RetrievalMetrics expected)
    {
        actual.QueryCount.Should().Be(expected.QueryCount);
        actual.MeanReciprocalRank.Should().BeApproximately(expected.MeanReciprocalRank, 1e-12);
        actual.MeanAveragePrecision.Should().BeApproximately(expected.MeanAveragePrecision, 1e-12);
        actual.Ndcg.Should().Equal(expected.Ndcg, (a, b) => Math.Abs(a - b) < 1e-12);
        actual.Recall.Should().Equal(expected.Recall, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    private static float[] DenseLatents(SparseCodes codes, int latentSize)
    {
        var dense = new float[codes.Rows * latentSize];
        for (var row = 0; row < codes.Rows; row++)
        {
            for (var j = 0; j < codes.ActiveLatents; j++)
                dense[row * latentSize + codes.IndicesOf(row)[j]] = codes.ValuesOf(row)[j];
        }

        return dense;
    }

    private static SparseAutoencoder Autoencoder() =>
        SparseAutoencoder.Initialize(Dimension, latentSize: 64, activeLatents: 6, new float[Dimension], seed: 5, ComputeDevice.Cpu);

    [Fact]
    public void Original_setting_equals_metrics_of_a_naive_ranking()
    {
        using var queries = Store("queries", _queries);
        using var corpus = Store("corpus", _corpus);

        var evaluation = DenseRetrievalEvaluator.Evaluate(queries, _queryIds, corpus, _documentIds, _qrels, Options);

        evaluation.Settings.Select(s => s.Setting).Should().Equal(RetrievalEvaluation.Original);
        evaluation.MeanSquaredError.Should().BeNull();
        ShouldMatch(evaluation[RetrievalEvaluation.Original].Metrics, NaiveMetrics(_queries, _corpus, Dimension, _qrels));
    }

    [Fact]
    public void Autoencoder_settings_equal_naive_rankings_of_latents_and_reconstructions_with_the_hand_computed_error()
    {
        using var queries = Store("queries", _queries);
        using var corpus = Store("corpus", _corpus);
        using var autoencoder = Autoencoder();

        var working = Directory.CreateDirectory(_folder.File("working")).FullName;
        var evaluation = DenseRetrievalEvaluator.EvaluateAutoencoder(autoencoder, queries, _queryIds, corpus, _documentIds, _qrels, new RetrievalEvaluationOptions { Depth = Depth, Device = ComputeDevice.Cpu, EncodeBatchRows = 64, WorkingFolder = working });

        var queryCodes = autoencoder.Encode(_queries);
        var corpusCodes = autoencoder.Encode(_corpus);
        ShouldMatch(evaluation[RetrievalEvaluation.Latent].Metrics, NaiveMetrics(DenseLatents(queryCodes, 64), DenseLatents(corpusCodes, 64), 64, _qrels));
        var queryReconstructions = autoencoder.Decode(queryCodes);
        var corpusReconstructions = autoencoder.Decode(corpusCodes);
        ShouldMatch(evaluation[RetrievalEvaluation.Reconstructed].Metrics, NaiveMetrics(queryReconstructions, corpusReconstructions, Dimension, _qrels));

        var inputs = _corpus.Concat(_queries).ToArray();
        var outputs = corpusReconstructions.Concat(queryReconstructions).ToArray();
        var squaredError = inputs.Zip(outputs, (x, y) => ((double)x - y) * ((double)x - y)).Sum();
        var means = Enumerable.Range(0, Dimension).Select(i => Enumerable.Range(0, inputs.Length / Dimension).Average(r => (double)inputs[r * Dimension + i])).ToArray();
        var variance = inputs.Select((x, i) => (x - means[i % Dimension]) * (x - means[i % Dimension])).Sum();
        evaluation.MeanSquaredError.Should().BeApproximately(squaredError / inputs.Length, 1e-6, "each row's squared error is summed in float");
        evaluation.FractionOfVarianceUnexplained.Should().BeApproximately(squaredError / variance, 1e-6);
        Directory.GetFileSystemEntries(working).Should().BeEmpty("the reconstructed stores are deleted");
    }

    [Fact]
    public void Data_view_evaluation_of_dense_vectors_and_of_sparse_latents_matches_the_store_evaluation()
    {
        var ml = new MLContext(seed: 1);
        IDataView Rows(float[] values, IdIndex ids) => ml.Data.LoadFromEnumerable(
            Enumerable.Range(0, (int)ids.Count).Select(r => new Row { Id = ids[r], Embedding = values[(r * Dimension)..((r + 1) * Dimension)] }));
        var queryRows = Rows(_queries, _queryIds);
        var documentRows = Rows(_corpus, _documentIds);
        using var queries = Store("queries", _queries);
        using var corpus = Store("corpus", _corpus);
        using var training = SaeTrainingData.FromArrays(_corpus, Dimension);
        using var transformer = ml.Transforms.SparseAutoencode(new SparseAutoencoderOptions
        {
            LatentSize = 64, ActiveLatents = 6, Epochs = 1, BatchSize = 64, NeighborsPerQuery = 0, KLWeight = 0, Device = ComputeDevice.Cpu,
        }).Fit(training);
        var fromStores = DenseRetrievalEvaluator.EvaluateAutoencoder(transformer.Autoencoder, queries, _queryIds, corpus, _documentIds, _qrels, Options);

        var dense = ml.Ranking.EvaluateRetrieval(queryRows, documentRows, _qrels, "Embedding", "Id", "Id", Options);
        var sparse = ml.Ranking.EvaluateRetrieval(transformer.Transform(queryRows), transformer.Transform(documentRows), _qrels, "Latent", "Id", "Id", Options);

        ShouldMatch(dense, fromStores[RetrievalEvaluation.Original].Metrics);
        ShouldMatch(sparse, fromStores[RetrievalEvaluation.Latent].Metrics);
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";

        [VectorType(Dimension)]
        public float[] Embedding { get; set; } = [];
    }

    [Fact]
    public void Judgements_of_documents_absent_from_the_corpus_are_skipped_and_counted()
    {
        using var queries = Store("queries", _queries);
        using var corpus = Store("corpus", _corpus);
        var qrels = Qrels.FromJudgements(_qrels.QueryIds.SelectMany(q => _qrels.JudgementsOf(q).Select(j => new Judgement(q, j.Key, j.Value)))
            .Append(new Judgement("q0", "missing-doc", 1)).Append(new Judgement("q1", "another-missing", 2)));

        var evaluation = DenseRetrievalEvaluator.Evaluate(queries, _queryIds, corpus, _documentIds, qrels, Options);

        evaluation.SkippedJudgements.Should().Be(2);
        ShouldMatch(evaluation[RetrievalEvaluation.Original].Metrics, NaiveMetrics(_queries, _corpus, Dimension, _qrels));
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_what_was_expected()
    {
        using var queries = Store("queries", _queries);
        using var corpus = Store("corpus", _corpus);
        using var wide = Store("wide", Gaussian(Documents * 8, seed: 4), 8);
        using var wideQueries = Store("wide-queries", Gaussian(Queries * 8, seed: 5), 8);
        using var autoencoder = Autoencoder();
        var unknownQuery = Qrels.FromJudgements([new("no-such-query", "doc1", 1)]);

        FluentActions.Invoking(() => DenseRetrievalEvaluator.Evaluate(queries, _queryIds, corpus, _documentIds, unknownQuery, Options))
            .Should().Throw<FormatException>().WithMessage("*judge 1 queries that are not in 'query ids'*'no-such-query'*");
        FluentActions.Invoking(() => DenseRetrievalEvaluator.Evaluate(queries, _queryIds, wide, _documentIds, _qrels, Options))
            .Should().Throw<ArgumentException>().WithMessage("*dimension 16*dimension 8*");
        FluentActions.Invoking(() => DenseRetrievalEvaluator.Evaluate(queries, IdIndex.Build(["q0"], "short ids"), corpus, _documentIds, _qrels, Options))
            .Should().Throw<ArgumentException>().WithMessage("*has 40 vectors but 'short ids' names 1 queries*");
        FluentActions.Invoking(() => DenseRetrievalEvaluator.EvaluateAutoencoder(autoencoder, wideQueries, _queryIds, wide, _documentIds, _qrels, Options))
            .Should().Throw<ArgumentException>().WithMessage("*autoencoder reads vectors of dimension 16*dimension 8*");
    }

    [Fact]
    public void An_empty_corpus_is_an_error_not_a_zero()
    {
        using var queries = Store("queries", _queries);
        var emptyPath = _folder.File("empty.npy");
        NpyWriter.Write(emptyPath, [], Dimension);
        using var empty = EmbeddingStore.Open(emptyPath);

        FluentActions.Invoking(() => DenseRetrievalEvaluator.Evaluate(queries, _queryIds, empty, IdIndex.Build(Array.Empty<string>(), "no ids"), _qrels, Options))
            .Should().Throw<ArgumentException>().WithMessage("*is empty; there is nothing to retrieve*");
    }
}
