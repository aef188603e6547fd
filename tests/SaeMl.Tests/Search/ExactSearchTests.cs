using SaeMl.Compute;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Tests.Search;

public sealed class ExactSearchTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>
    /// Small integers: every product and sum is exact in float32, so the BLAS product and the naive
    /// double-precision loop give identical scores, and there are many ties to order.
    /// </summary>
    private static float[] IntegerVectors(int rows, int dimension, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * dimension).Select(_ => (float)random.Next(-2, 3)).ToArray();
    }

    private static float[] GaussianVectors(int rows, int dimension, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * dimension)
            .Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))
            .ToArray();
    }

    /// <summary>The reference: score every pair in double precision, sort by (score desc, row asc), keep k.</summary>
    private static (long[] Rows, double[] Scores) NaiveTopK(float[] queries, float[] corpus, int dimension, int k) =>
        ReferenceRanking.TopK(queries.Length / dimension, corpus.Length / dimension, k, (q, d) =>
        {
            var dot = 0.0;
            for (var j = 0; j < dimension; j++)
                dot += (double)queries[q * dimension + j] * corpus[d * dimension + j];
            return dot;
        });

    /// <summary>Rows and scores both equal the naive reference's, exactly.</summary>
    private static void ShouldMatchNaiveRanking(SearchResults results, float[] queries, float[] corpus, int dimension, int k)
    {
        var (expectedRows, expectedScores) = NaiveTopK(queries, corpus, dimension, k);
        results.Rows.ToArray().Should().Equal(expectedRows);
        results.Scores.ToArray().Select(s => (double)s).Should().Equal(expectedScores);
    }

    private EmbeddingStore WriteStore(string name, float[] values, int dimension)
    {
        var path = _folder.File(name);
        NpyWriter.Write(path, values, dimension);
        return EmbeddingStore.Open(path);
    }

    private static ExactSearchOptions Cpu(int k, int? chunkRows = null, int queryBlockRows = 4096) =>
        new() { K = k, CorpusChunkRows = chunkRows, QueryBlockRows = queryBlockRows, Device = ComputeDevice.Cpu };

    [Theory]
    [InlineData(1, 5)]
    [InlineData(7, 5)]
    [InlineData(50, 1)]
    [InlineData(50, 60)]    // k larger than a chunk
    [InlineData(64, 100)]   // 203 rows: the last chunk is short
    [InlineData(203, 10)]   // one chunk holds the whole corpus
    [InlineData(1000, 10)]  // a chunk larger than the corpus
    [InlineData(16, 250)]   // k larger than the corpus: every row, ranked
    public void Equals_the_naive_ranking_exactly_including_ties(int chunkRows, int k)
    {
        const int dimension = 6;
        var corpus = IntegerVectors(203, dimension, seed: 1);
        var queries = IntegerVectors(37, dimension, seed: 2);
        using var store = WriteStore("corpus.npy", corpus, dimension);

        var results = ExactSearch.Search(queries, store, Cpu(k, chunkRows));

        results.QueryCount.Should().Be(37);
        results.K.Should().Be(Math.Min(k, 203));
        ShouldMatchNaiveRanking(results, queries, corpus, dimension, k);
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(64, 100)]
    [InlineData(16, 250)]
    public void An_in_memory_corpus_is_searched_exactly_like_a_store(int chunkRows, int k)
    {
        const int dimension = 6;
        var corpus = IntegerVectors(203, dimension, seed: 1);
        var queries = IntegerVectors(37, dimension, seed: 2);
        using var store = WriteStore("corpus.npy", corpus, dimension);

        var inMemory = ExactSearch.Search(queries, corpus, dimension, Cpu(k, chunkRows));

        var fromStore = ExactSearch.Search(queries, store, Cpu(k, chunkRows));
        inMemory.Rows.ToArray().Should().Equal(fromStore.Rows.ToArray());
        inMemory.Scores.ToArray().Should().Equal(fromStore.Scores.ToArray());
        ShouldMatchNaiveRanking(inMemory, queries, corpus, dimension, k);
        FluentActions.Invoking(() => ExactSearch.Search(queries, corpus[..^1], dimension)).Should().Throw<ArgumentException>().WithMessage("The corpus buffer holds 1217 values, not a whole number of vectors of dimension 6.*");
        FluentActions.Invoking(() => ExactSearch.Search(queries, Array.Empty<float>(), dimension)).Should().Throw<ArgumentException>().WithMessage("The corpus buffer is empty*");
        var bad = corpus.ToArray();
        bad[6 * 10 + 2] = float.NaN;
        FluentActions.Invoking(() => ExactSearch.Search(queries, bad, dimension)).Should().Throw<ArgumentException>().WithMessage("Row 10 of 'corpus' holds NaN or infinity*");
    }

    [Theory]
    [InlineData(97)]
    [InlineData(500)]
    [InlineData(3000)]
    public void Equals_the_naive_ranking_on_random_floats(int chunkRows)
    {
        const int dimension = 32;
        var corpus = GaussianVectors(2500, dimension, seed: 3);
        var queries = GaussianVectors(40, dimension, seed: 4);
        using var store = WriteStore("corpus.npy", corpus, dimension);

        var results = ExactSearch.Search(queries, store, Cpu(k: 25, chunkRows));

        var (expectedRows, expectedScores) = NaiveTopK(queries, corpus, dimension, 25);
        results.Rows.ToArray().Should().Equal(expectedRows, "Gaussian scores have no ties closer than float32 rounding here");
        results.Scores.ToArray().Select(s => (double)s).Should().Equal(expectedScores, (actual, expected) => Math.Abs(actual - expected) < 1e-4);
    }

    [Fact]
    public void Query_blocks_and_round_robin_shards_do_not_change_the_result()
    {
        const int dimension = 5;
        var corpus = IntegerVectors(101, dimension, seed: 5);
        var queries = IntegerVectors(23, dimension, seed: 6);
        // The same corpus as three round-robin shards: row i in shard i % 3 at offset i / 3.
        var shards = Enumerable.Range(0, 3).Select(s =>
        {
            var path = _folder.File($"rr{s}.npy");
            NpyWriter.Write(path, Enumerable.Range(0, 101).Where(i => i % 3 == s).SelectMany(i => corpus.Skip(i * dimension).Take(dimension)).ToArray(), dimension);
            return path;
        }).ToArray();
        using var roundRobin = EmbeddingStore.Open(shards, ShardLayout.RoundRobin);
        using var queryStore = WriteStore("queries.npy", queries, dimension);

        var results = ExactSearch.Search(queryStore, roundRobin, Cpu(k: 9, chunkRows: 10, queryBlockRows: 4));

        ShouldMatchNaiveRanking(results, queries, corpus, dimension, 9);
    }

    [Fact]
    public void Float16_corpus_is_searched_as_its_float32_values()
    {
        const int dimension = 4;
        var corpus = IntegerVectors(30, dimension, seed: 7);
        var queries = IntegerVectors(3, dimension, seed: 8);
        var path = _folder.File("half.npy");
        NpyWriter.Write(path, corpus, dimension, NpyDataType.Float16);
        using var store = EmbeddingStore.Open(path);

        var results = ExactSearch.Search(queries, store, Cpu(k: 30, chunkRows: 8));

        ShouldMatchNaiveRanking(results, queries, corpus, dimension, 30);
    }

    [Fact]
    public void Progress_reaches_the_corpus_size_once_per_query_block()
    {
        var corpus = IntegerVectors(50, 3, seed: 9);
        using var store = WriteStore("corpus.npy", corpus, 3);
        var reports = new List<SearchProgress>();

        ExactSearch.Search(IntegerVectors(10, 3, seed: 10), store, Cpu(k: 2, chunkRows: 20, queryBlockRows: 5), new SynchronousProgress(reports));

        reports.Select(r => r.ScannedRows).Should().Equal(20L, 40L, 50L, 70L, 90L, 100L);
        reports.Should().OnlyContain(r => r.TotalRows == 100);
    }

    [Fact]
    public void Cancellation_stops_between_chunks()
    {
        using var store = WriteStore("corpus.npy", IntegerVectors(50, 3, seed: 11), 3);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        var search = () => ExactSearch.Search(IntegerVectors(2, 3, seed: 12), store, Cpu(k: 2, chunkRows: 10), cancellationToken: cancellation.Token);

        search.Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public void A_dimension_mismatch_names_both_stores()
    {
        using var corpus = WriteStore("corpus.npy", IntegerVectors(5, 4, seed: 13), 4);
        using var queries = WriteStore("queries.npy", IntegerVectors(2, 3, seed: 14), 3);

        var search = () => ExactSearch.Search(queries, corpus, Cpu(k: 1));

        search.Should().Throw<ArgumentException>()
            .WithMessage($"Query store '{queries.Name}' has dimension 3, but corpus store '{corpus.Name}' has dimension 4*");
    }

    [Fact]
    public void A_non_finite_corpus_value_is_reported_with_its_row()
    {
        var corpus = IntegerVectors(40, 3, seed: 15);
        corpus[27 * 3 + 1] = float.NaN;
        using var store = WriteStore("corpus.npy", corpus, 3);

        var search = () => ExactSearch.Search(IntegerVectors(2, 3, seed: 16), store, Cpu(k: 3, chunkRows: 10));

        search.Should().Throw<FormatException>().WithMessage($"Row 27 of '{store.Name}' holds NaN or infinity*");
    }

    [Fact]
    public void A_non_finite_query_is_reported_with_its_row()
    {
        using var store = WriteStore("corpus.npy", IntegerVectors(10, 3, seed: 17), 3);
        var queries = IntegerVectors(4, 3, seed: 18);
        queries[2 * 3] = float.PositiveInfinity;

        var search = () => ExactSearch.Search(queries, store, Cpu(k: 3));

        search.Should().Throw<ArgumentException>().WithMessage("Row 2 of 'queries' holds NaN or infinity*");
    }

    [Fact]
    public void An_empty_corpus_is_an_error_not_an_empty_result()
    {
        using var store = WriteStore("empty.npy", [], 3);

        var search = () => ExactSearch.Search(IntegerVectors(1, 3, seed: 19), store, Cpu(k: 3));

        search.Should().Throw<ArgumentException>().WithMessage("*is empty*");
    }

    [Fact]
    public void A_budget_too_small_for_one_query_block_is_rejected()
    {
        using var store = WriteStore("corpus.npy", IntegerVectors(10, 3, seed: 20), 3);

        var search = () => ExactSearch.Search(IntegerVectors(100, 3, seed: 21), store, new ExactSearchOptions { K = 5, MemoryBudgetBytes = 1000, Device = ComputeDevice.Cpu });

        search.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*memory budget of 1000 bytes*");
    }

    [Fact]
    public void Chunks_derived_from_a_small_budget_still_give_the_exact_ranking()
    {
        const int dimension = 6;
        var corpus = IntegerVectors(203, dimension, seed: 24);
        var queries = IntegerVectors(37, dimension, seed: 25);
        using var store = WriteStore("corpus.npy", corpus, dimension);
        var chunks = new List<SearchProgress>();

        // 25 kB holds the 37 queries, their running top-10 and about two dozen corpus rows.
        var results = ExactSearch.Search(queries, store, new ExactSearchOptions { K = 10, MemoryBudgetBytes = 25_000, Device = ComputeDevice.Cpu }, new SynchronousProgress(chunks));

        chunks.Count.Should().BeGreaterThan(5, "the budget must split the corpus into several chunks");
        ShouldMatchNaiveRanking(results, queries, corpus, dimension, 10);
    }

    [Fact]
    public void A_k_beyond_the_corpus_returns_every_row_ranked_under_the_default_budget()
    {
        const int dimension = 6;
        var corpus = IntegerVectors(203, dimension, seed: 26);
        var queries = IntegerVectors(5, dimension, seed: 27);
        using var store = WriteStore("corpus.npy", corpus, dimension);

        var results = ExactSearch.Search(queries, store, new ExactSearchOptions { K = 100_000_000, Device = ComputeDevice.Cpu });

        results.K.Should().Be(203);
        results.Rows.ToArray().Should().Equal(NaiveTopK(queries, corpus, dimension, 203).Rows);
    }

    [Fact]
    public void A_large_budget_never_makes_a_chunk_beyond_2_gib()
    {
        var huge = ExactSearch.ChunkRowsWithin(budgetBytes: 1L << 40, blockRows: 1, dimension: 768, k: 1, onCuda: false);
        var small = ExactSearch.ChunkRowsWithin(budgetBytes: 64L << 20, blockRows: 100, dimension: 768, k: 10, onCuda: false);
        var onCuda = ExactSearch.ChunkRowsWithin(budgetBytes: 64L << 20, blockRows: 100, dimension: 768, k: 10, onCuda: true);

        ((long)huge * 768 * sizeof(float)).Should().BeLessThanOrEqualTo(int.MaxValue);
        small.Should().BeLessThan(huge);
        onCuda.Should().BeLessThan(small, "a device copy of each chunk needs room too");
        ((long)small * (768 * 4 * 2 + 100 * 4)).Should().BeLessThan(64L << 20, "host buffers and scores fit the budget");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1024)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(100_000)]
    public void Score_buffer_rows_are_never_a_multiple_of_4_kib_apart(long columns)
    {
        var rowLength = ExactSearch.PaddedRowLength(columns);

        rowLength.Should().BeGreaterThanOrEqualTo(columns);
        (rowLength * sizeof(float) % 4096).Should().NotBe(0);
        (rowLength * sizeof(float) % 64).Should().Be(0, "rows stay aligned to cache lines");
    }

    [Fact]
    public void Results_round_trip_through_an_npy_pair()
    {
        using var store = WriteStore("corpus.npy", IntegerVectors(20, 3, seed: 22), 3);
        var results = ExactSearch.Search(IntegerVectors(4, 3, seed: 23), store, Cpu(k: 6));

        results.SaveNpy(_folder.File("ids.npy"), _folder.File("scores.npy"));
        var loaded = SearchResults.LoadNpy(_folder.File("ids.npy"), _folder.File("scores.npy"));

        loaded.QueryCount.Should().Be(4);
        loaded.K.Should().Be(6);
        loaded.Rows.ToArray().Should().Equal(results.Rows.ToArray());
        loaded.Scores.ToArray().Should().Equal(results.Scores.ToArray());
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this one records in call order.</summary>
    private sealed class SynchronousProgress(List<SearchProgress> reports) : IProgress<SearchProgress>
    {
        public void Report(SearchProgress value) => reports.Add(value);
    }
}
