using SaeMl.Autoencoder;
using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Tests.Search;

public sealed class SparseLatentIndexTests : IDisposable
{
    private const int LatentSize = 512;

    /// <summary>Documents use latents below this; queries drawn above it share nothing with any document.</summary>
    private const int DocumentLatents = 480;

    private const int TopicLatents = 16;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public enum Corpus
    {
        /// <summary>
        /// Each row on one of 30 topics of 16 latents, its K = 8 latents among them: every latent about as
        /// popular as another, values ≥ 0, one in five exactly 0. A query shares several latents with the
        /// documents of its topic, so the order of additions matters, and none with the others.
        /// </summary>
        Topical,

        /// <summary>Low latents far more popular than high ones, so that some queries touch most documents.</summary>
        Skewed,

        /// <summary>As <see cref="Topical"/>, with random signs on documents and queries.</summary>
        Signed,
    }

    /// <summary>
    /// K distinct ascending latents per row in <paramref name="latentFloor"/> … <paramref name="latentLimit"/> − 1,
    /// with values of full float precision so that the order of additions shows in the last bits.
    /// </summary>
    private static SparseCodes RandomCodes(int rows, int k, int seed, Corpus corpus, int latentFloor = 0, int latentLimit = DocumentLatents)
    {
        var random = new Random(seed);
        var values = new float[rows * k];
        var indices = new int[rows * k];
        for (var row = 0; row < rows; row++)
        {
            var latents = new SortedSet<int>();
            var topic = latentFloor + TopicLatents * random.Next((latentLimit - latentFloor) / TopicLatents);
            while (latents.Count < k)
            {
                latents.Add(corpus == Corpus.Skewed
                    ? latentFloor + (int)(Math.Pow(random.NextDouble(), 6) * (latentLimit - latentFloor))
                    : topic + random.Next(TopicLatents));
            }

            var i = row * k;
            foreach (var latent in latents)
            {
                indices[i] = latent;
                var value = random.Next(5) == 0 ? 0f : (float)(random.NextDouble() * 3);
                values[i++] = corpus == Corpus.Signed && random.Next(2) == 0 ? -value : value;
            }
        }

        return new SparseCodes(rows, k, values, indices);
    }

    /// <summary>Rows [first, first + count) of <paramref name="codes"/> as their own batch.</summary>
    private static SparseCodes Slice(SparseCodes codes, int first, int count)
    {
        var k = codes.ActiveLatents;
        return new SparseCodes(count, k, codes.Values.AsSpan(first * k, count * k).ToArray(), codes.Indices.AsSpan(first * k, count * k).ToArray());
    }

    /// <summary>The corpus cut into batches of the given sizes, in row order.</summary>
    private static IEnumerable<SparseCodes> Batches(SparseCodes codes, params int[] sizes)
    {
        var first = 0;
        foreach (var size in sizes)
        {
            yield return Slice(codes, first, size);
            first += size;
        }

        first.Should().Be(codes.Rows, "the batch sizes must cover the corpus");
    }

    private static SparseCodes Codes(int k, params (int Latent, float Value)[][] rows) =>
        new(rows.Length, k, rows.SelectMany(r => r.Select(p => p.Value)).ToArray(), rows.SelectMany(r => r.Select(p => p.Latent)).ToArray());

    /// <summary>The plain sparse dot product: walk both ascending index lists, add matching products to a float.</summary>
    private static float SparseDot(ReadOnlySpan<int> queryLatents, ReadOnlySpan<float> queryValues, ReadOnlySpan<int> documentLatents, ReadOnlySpan<float> documentValues)
    {
        var score = 0f;
        int q = 0, d = 0;
        while (q < queryLatents.Length && d < documentLatents.Length)
        {
            if (queryLatents[q] < documentLatents[d])
            {
                q++;
            }
            else if (queryLatents[q] > documentLatents[d])
            {
                d++;
            }
            else
            {
                score += queryValues[q] * documentValues[d];
                q++;
                d++;
            }
        }

        return score;
    }

    /// <summary>The reference: score every document, order by score descending then row ascending, keep k.</summary>
    private static (long[] Rows, float[] Scores) BruteForceTopK(SparseCodes queries, SparseCodes documents, int k) =>
        ReferenceRanking.TopK(queries.Rows, documents.Rows, k, (q, d) => SparseDot(queries.IndicesOf(q), queries.ValuesOf(q), documents.IndicesOf(d), documents.ValuesOf(d)));

    private static int[] Bits(ReadOnlySpan<float> scores) => scores.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    private static void ShouldEqualBitwise(SearchResults actual, long[] expectedRows, float[] expectedScores)
    {
        actual.Rows.ToArray().Should().Equal(expectedRows);
        Bits(actual.Scores).Should().Equal(Bits(expectedScores));
    }

    /// <summary>60 random queries, one whose latents no document has, and one whose values are all 0.</summary>
    private static SparseCodes QueriesFor(Corpus corpus)
    {
        var random = RandomCodes(60, 8, seed: 2, corpus);
        var unshared = RandomCodes(1, 8, seed: 3, Corpus.Topical, latentFloor: DocumentLatents, latentLimit: LatentSize);
        var zeros = new SparseCodes(1, 8, new float[8], Enumerable.Range(0, 8).ToArray());
        return new SparseCodes(62, 8, [.. random.Values, .. unshared.Values, .. zeros.Values], [.. random.Indices, .. unshared.Indices, .. zeros.Indices]);
    }

    public static TheoryData<Corpus, int, int?> Cases()
    {
        var cases = new TheoryData<Corpus, int, int?>();
        foreach (var corpus in Enum.GetValues<Corpus>())
        {
            // k = 300: more than most queries' documents with a positive score; 2500: more than the corpus.
            foreach (var k in new[] { 1, 10, 300, 2500 })
            {
                cases.Add(corpus, k, null);
                cases.Add(corpus, k, 333);      // seven tiles of documents, the last one short
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Search_equals_a_plain_sparse_dot_product_bitwise_with_ties_by_row(Corpus corpus, int k, int? tileDocuments)
    {
        var documents = RandomCodes(2000, 8, seed: 1, corpus);
        var queries = QueriesFor(corpus);
        var index = SparseLatentIndex.Build(Batches(documents, 1, 313, 0, 700, 986), LatentSize);

        var results = tileDocuments is { } tile ? index.Search(queries, k, tile) : index.Search(queries, k);

        results.QueryCount.Should().Be(62);
        results.K.Should().Be(Math.Min(k, 2000));
        var (expectedRows, expectedScores) = BruteForceTopK(queries, documents, k);
        ShouldEqualBitwise(results, expectedRows, expectedScores);
        results.RowsOf(60).ToArray().Should().Equal(Enumerable.Range(0, results.K).Select(r => (long)r), "a query sharing no latent ranks every document at 0, by row");
    }

    [Fact]
    public void The_test_data_depends_on_the_order_of_additions_and_reaches_the_zero_score_documents()
    {
        var topical = SparseLatentIndex.Build([RandomCodes(2000, 8, seed: 1, Corpus.Topical)], LatentSize);

        var all = topical.Search(QueriesFor(Corpus.Topical), 2000);

        Enumerable.Range(0, 60).Count(q => all.ScoresOf(q).ToArray().Count(s => s > 0) < 300)
            .Should().BeGreaterThan(30, "k = 300 must reach into the zero-score documents");
        OrderSensitivePairs(Corpus.Topical).Should().BeGreaterThan(100, "adding the same terms in another order must change some scores");
        OrderSensitivePairs(Corpus.Skewed).Should().BeGreaterThan(100, "adding the same terms in another order must change some scores");
    }

    /// <summary>(query, document) pairs of the test data whose score changes when its terms are added in descending latent order.</summary>
    private static int OrderSensitivePairs(Corpus corpus)
    {
        var documents = RandomCodes(2000, 8, seed: 1, corpus);
        var queries = QueriesFor(corpus);
        var pairs = 0;
        for (var q = 0; q < queries.Rows; q++)
        {
            for (var d = 0; d < documents.Rows; d++)
            {
                var terms = new List<float>();
                for (var i = 0; i < 8; i++)
                {
                    if (documents.IndicesOf(d).IndexOf(queries.IndicesOf(q)[i]) is var j and >= 0)
                        terms.Add(queries.ValuesOf(q)[i] * documents.ValuesOf(d)[j]);
                }

                var (forward, backward) = (0f, 0f);
                terms.ForEach(t => forward += t);
                Enumerable.Reverse(terms).ToList().ForEach(t => backward += t);
                pairs += forward == backward ? 0 : 1;
            }
        }

        return pairs;
    }

    [Fact]
    public void Equal_scores_rank_by_ascending_row_and_zero_scores_fill_before_negative_ones()
    {
        var documents = Codes(
            2,
            [(2, 1f), (3, 1f)],    // row 0: nothing shared, 0
            [(0, 2f), (3, 0f)],    // row 1: 2
            [(1, 1f), (2, 4f)],    // row 2: 1
            [(0, 1f), (1, 1f)],    // row 3: 2
            [(1, 2f), (3, 9f)],    // row 4: 2
            [(2, 0f), (3, 5f)],    // row 5: nothing shared, 0
            [(0, -1f), (3, 1f)],   // row 6: -1
            [(0, 1f), (2, 1f)]);   // row 7: 1
        var query = Codes(2, [(0, 1f), (1, 1f)]);
        var index = SparseLatentIndex.Build([documents], latentSize: 4);

        var all = index.Search(query, 10);
        var cut = index.Search(query, 4);

        all.K.Should().Be(8);
        all.RowsOf(0).ToArray().Should().Equal(1, 3, 4, 2, 7, 0, 5, 6);
        all.ScoresOf(0).ToArray().Should().Equal(2f, 2f, 2f, 1f, 1f, 0f, 0f, -1f);
        cut.RowsOf(0).ToArray().Should().Equal(1, 3, 4, 2);
        index.PostingCount.Should().Be(14, "the two zero values are not stored");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void Overflowing_products_rank_infinities_as_numbers_and_NaN_last(int documentsSharingNothing)
    {
        const float huge = 1e30f;
        var documents = Codes(
            2,
            [(0, huge), (1, -huge)],    // row 0: ∞ − ∞ = NaN
            [(0, 1e-30f), (2, 1f)],     // row 1: 1
            [(0, huge), (2, 0f)],       // row 2: +∞
            [(2, 1f), (3, 1f)],         // row 3: nothing shared, 0
            [(1, -huge), (3, 1f)]);     // row 4: −∞
        var padding = Codes(2, Enumerable.Repeat(new[] { (2, 1f), (3, 1f) }, documentsSharingNothing).ToArray());
        var index = SparseLatentIndex.Build([documents, padding], latentSize: 4);

        var results = index.Search(Codes(2, [(0, huge), (1, huge)]), 100);

        var zeros = new long[] { 3 }.Concat(Enumerable.Range(5, documentsSharingNothing).Select(r => (long)r));
        results.RowsOf(0).ToArray().Should().Equal(new long[] { 2, 1 }.Concat(zeros).Concat([4, 0]));
        results.ScoresOf(0)[0].Should().Be(float.PositiveInfinity);
        results.ScoresOf(0)[^2].Should().Be(float.NegativeInfinity);
        results.ScoresOf(0)[^1].Should().Be(float.NaN);
    }

    [Fact]
    public void Build_streams_batches_in_row_order_and_stores_only_non_zero_values()
    {
        var documents = RandomCodes(500, 8, seed: 4, Corpus.Topical);
        var reports = new List<long>();

        var index = SparseLatentIndex.Build(Batches(documents, 120, 0, 379, 1), LatentSize, new SynchronousProgress(reports));

        index.LatentSize.Should().Be(LatentSize);
        index.DocumentCount.Should().Be(500);
        index.PostingCount.Should().Be(documents.Values.Count(v => v != 0));
        index.SizeInBytes.Should().Be(8 * (LatentSize + 1) + 8 * index.PostingCount);
        index.DocumentFrequency(17).Should().Be(Enumerable.Range(0, 500).Count(r => documents.IndicesOf(r).IndexOf(17) is var i and >= 0 && documents.ValuesOf(r)[i] != 0));
        reports.Should().Equal(120L, 120L, 499L, 500L);
    }

    [Fact]
    public void An_empty_corpus_gives_empty_rankings()
    {
        var index = SparseLatentIndex.Build([], LatentSize);

        var results = index.Search(RandomCodes(3, 8, seed: 5, Corpus.Topical), 10);

        index.DocumentCount.Should().Be(0);
        results.QueryCount.Should().Be(3);
        results.K.Should().Be(0);
    }

    [Fact]
    public void A_saved_index_loads_into_the_same_search_results_and_leaves_only_its_final_file()
    {
        var documents = RandomCodes(2000, 8, seed: 6, Corpus.Skewed);
        var queries = QueriesFor(Corpus.Skewed);
        var built = SparseLatentIndex.Build(Batches(documents, 999, 1001), LatentSize);
        var path = _folder.File("corpus.sli");
        File.WriteAllText(path, "an older file to replace");

        built.Save(path);
        var loaded = SparseLatentIndex.Load(path);

        _folder.FileNames().Should().Equal("corpus.sli");
        new FileInfo(path).Length.Should().Be(32 + 8 * (LatentSize + 1) + 8 * built.PostingCount);
        (loaded.LatentSize, loaded.DocumentCount, loaded.PostingCount).Should().Be((built.LatentSize, built.DocumentCount, built.PostingCount));
        var expected = built.Search(queries, 50);
        ShouldEqualBitwise(loaded.Search(queries, 50), expected.Rows.ToArray(), expected.Scores.ToArray());
    }

    private string SavedIndex(SparseCodes? documents = null)
    {
        var path = _folder.File("index.sli");
        SparseLatentIndex.Build([documents ?? RandomCodes(100, 8, seed: 7, Corpus.Topical)], LatentSize).Save(path);
        return path;
    }

    /// <summary>Overwrites bytes of a saved index at <paramref name="position"/>.</summary>
    private static void Patch(string path, long position, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.Position = position;
        stream.Write(bytes);
    }

    /// <summary>Loading <paramref name="path"/> throws a FormatException whose message matches the wildcard pattern.</summary>
    private static void LoadShouldFailWith(string path, string message) =>
        FluentActions.Invoking(() => SparseLatentIndex.Load(path)).Should().Throw<FormatException>().WithMessage(message);

    private static long OffsetPosition(int latent) => 32 + 8L * latent;

    private static long DocumentPosition(long posting) => 32 + 8L * (LatentSize + 1) + 4 * posting;

    [Theory]
    [InlineData(20, "*cut short: 20 bytes, less than the 32-byte header*")]
    [InlineData(1000, "*cut short: 1000 bytes, but its header (512 latents, * postings) implies*")]
    [InlineData(-1, "*cut short:*")]
    public void A_truncated_file_is_rejected_naming_it(long length, string message)
    {
        var path = SavedIndex();
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
            stream.SetLength(length >= 0 ? length : stream.Length - 1);

        LoadShouldFailWith(path, $"'{path}' is not a valid sparse latent index: it {message}");
    }

    [Fact]
    public void A_file_with_extra_bytes_is_rejected()
    {
        var path = SavedIndex();
        File.AppendAllText(path, "!");

        LoadShouldFailWith(path, $"'{path}' *longer than the * its header *");
    }

    [Fact]
    public void A_file_that_is_not_an_index_is_rejected_naming_it()
    {
        var path = SavedIndex();
        Patch(path, 0, "SAEMLCKP"u8.ToArray());

        LoadShouldFailWith(path, $"'{path}' is not a SaeMl sparse latent index*");
    }

    [Fact]
    public void Another_format_version_is_rejected_naming_it()
    {
        var path = SavedIndex();
        Patch(path, 8, BitConverter.GetBytes(2));

        LoadShouldFailWith(path, $"'{path}' is sparse latent index format version 2; this SaeMl reads version 1.");
    }

    [Fact]
    public void An_altered_posting_count_in_the_header_is_caught_by_the_file_length()
    {
        var path = SavedIndex();
        var postings = SparseLatentIndex.Load(path).PostingCount;
        Patch(path, 24, BitConverter.GetBytes(postings + 1));

        LoadShouldFailWith(path, $"'{path}' *cut short*implies*");
    }

    [Fact]
    public void Decreasing_offsets_are_rejected()
    {
        var path = SavedIndex();
        Patch(path, OffsetPosition(101), BitConverter.GetBytes(0L));

        LoadShouldFailWith(path, $"'{path}' is not a valid sparse latent index: it has offset 0 for the end of latent 100's postings after *; offsets must not decrease*");
    }

    [Fact]
    public void A_last_offset_other_than_the_posting_count_is_rejected()
    {
        // One posting, in the last latent: offsets 0, …, 0, 1. A last offset of 0 keeps them non-decreasing.
        var path = SavedIndex(Codes(1, [(LatentSize - 1, 1f)]));
        Patch(path, OffsetPosition(LatentSize), BitConverter.GetBytes(0L));

        LoadShouldFailWith(path, $"'{path}' is not a valid sparse latent index: it has last offset 0, but its header's posting count is 1.");
    }

    [Theory]
    [InlineData(100, "*names document 100 in posting 0 (latent *), outside its 100 documents.")]
    [InlineData(-1, "*names document -1 in posting 0 (latent *), outside its 100 documents.")]
    public void A_document_row_outside_the_index_is_rejected(int document, string message)
    {
        var path = SavedIndex();
        Patch(path, DocumentPosition(0), BitConverter.GetBytes(document));

        LoadShouldFailWith(path, $"'{path}' is not a valid sparse latent index: it {message}");
    }

    [Fact]
    public void Document_rows_out_of_order_within_a_latent_are_rejected()
    {
        var path = SavedIndex();
        var index = SparseLatentIndex.Load(path);
        var latent = Enumerable.Range(0, LatentSize).First(j => index.DocumentFrequency(j) >= 2);
        var first = (int)index.Offsets[latent];
        Patch(path, DocumentPosition(first + 1), BitConverter.GetBytes(index.Documents[first]));

        LoadShouldFailWith(path, $"'{path}' *in latent {latent}'s postings; they must be strictly ascending.");
    }

    [Theory]
    [InlineData(512, "Document row 313 names latent 512, outside the index's latents 0 … 511.*")]
    [InlineData(-3, "Document row 313 names latent -3, outside the index's latents 0 … 511.*")]
    public void A_document_latent_outside_the_latent_size_is_rejected_naming_its_row(int latent, string message)
    {
        var documents = RandomCodes(400, 8, seed: 8, Corpus.Topical);
        documents.Indices[313 * 8 + (latent < 0 ? 0 : 7)] = latent;

        var build = () => SparseLatentIndex.Build(Batches(documents, 300, 100), LatentSize);

        build.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void A_document_with_unordered_latents_or_a_non_finite_value_is_rejected_naming_its_row()
    {
        var unordered = RandomCodes(10, 8, seed: 9, Corpus.Topical);
        (unordered.Indices[4 * 8 + 2], unordered.Indices[4 * 8 + 3]) = (unordered.Indices[4 * 8 + 3], unordered.Indices[4 * 8 + 2]);
        var infinite = RandomCodes(10, 8, seed: 10, Corpus.Topical);
        infinite.Values[6 * 8 + 1] = float.NaN;

        var buildUnordered = () => SparseLatentIndex.Build([unordered], LatentSize);
        var buildInfinite = () => SparseLatentIndex.Build([infinite], LatentSize);

        buildUnordered.Should().Throw<ArgumentException>().WithMessage("Document row 4 has latent * after latent *; latent indices must be strictly ascending.*");
        buildInfinite.Should().Throw<ArgumentException>().WithMessage("Document row 6 holds NaN for latent *; latent values must be finite.*");
    }

    [Fact]
    public void A_query_latent_beyond_the_index_latents_is_rejected_naming_its_row()
    {
        var index = SparseLatentIndex.Build([RandomCodes(50, 8, seed: 11, Corpus.Topical)], LatentSize);
        var queries = RandomCodes(4, 8, seed: 12, Corpus.Topical, latentLimit: LatentSize);
        queries.Indices[2 * 8 + 7] = LatentSize + 100;
        var infinite = RandomCodes(4, 8, seed: 13, Corpus.Topical);
        infinite.Values[3 * 8] = float.PositiveInfinity;

        var search = () => index.Search(queries, 5);
        var searchInfinite = () => index.Search(infinite, 5);

        search.Should().Throw<ArgumentException>().WithMessage("Query row 2 names latent 612, outside the index's latents 0 … 511.*");
        searchInfinite.Should().Throw<ArgumentException>().WithMessage("Query row 3 holds Infinity for latent *; latent values must be finite.*");
    }

    [Fact]
    public void Build_and_search_stop_when_cancelled()
    {
        var documents = RandomCodes(100, 8, seed: 14, Corpus.Topical);
        var index = SparseLatentIndex.Build([documents], LatentSize);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        var build = () => SparseLatentIndex.Build([documents], LatentSize, cancellationToken: cancellation.Token);
        var search = () => index.Search(documents, 3, cancellation.Token);

        build.Should().Throw<OperationCanceledException>();
        search.Should().Throw<OperationCanceledException>();
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this one records in call order.</summary>
    private sealed class SynchronousProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value) => reports.Add(value);
    }
}
