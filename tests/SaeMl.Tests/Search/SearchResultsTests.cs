using SaeMl.Data;
using SaeMl.Search;

namespace SaeMl.Tests.Search;

public sealed class SearchResultsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_trec_run_of_the_results_maps_rows_to_ids_and_reads_back_the_same_ranking()
    {
        var results = new SearchResults(2, 3, [2, 0, 1, 1, 2, 0], [0.9f, 0.5f, 0.5f, 0.7f, 0.25f, -1f]);
        var queries = IdIndex.Build(["q-a", "q-b"], "queries");
        var documents = IdIndex.Build(["doc0", "doc1", "doc2"], "corpus");
        var path = _folder.File("run.trec");

        results.WriteTrecRun(path, queries, documents, tag: "exact");
        var run = TrecRun.Read(path);

        run.RankingOf("q-a", TrecRunOrder.RankColumn).Should().Equal(new RankedDocument("doc2", 1, 0.9), new RankedDocument("doc0", 2, 0.5), new RankedDocument("doc1", 3, 0.5));
        run.RankingOf("q-a").Select(r => r.DocumentId).Should().Equal(["doc2", "doc1", "doc0"], "trec_eval orders the tied scores by descending document id");
        run.RankingOf("q-b").Select(r => r.DocumentId).Should().Equal("doc1", "doc2", "doc0");
        run.RankingOf("q-b").Select(r => r.Score).Should().Equal(0.7, 0.25, -1.0);
    }

    [Fact]
    public void Without_id_indexes_query_numbers_and_row_numbers_are_the_ids()
    {
        var results = new SearchResults(1, 2, [5, 3], [1f, 0.5f]);
        var path = _folder.File("run.trec");

        results.WriteTrecRun(path);

        File.ReadAllLines(path).Should().Equal("0 Q0 5 1 1 saeml", "0 Q0 3 2 0.5 saeml");
    }

    [Fact]
    public void Id_indexes_that_do_not_cover_the_results_are_rejected()
    {
        var results = new SearchResults(1, 2, [5, 3], [1f, 0.5f]);

        results.Invoking(r => r.WriteTrecRun(_folder.File("a.trec"), IdIndex.Build(["q1", "q2"], "queries.tsv")))
            .Should().Throw<ArgumentException>().WithMessage("The query ids of 'queries.tsv' number 2, but the results hold 1 queries.*");
        results.Invoking(r => r.WriteTrecRun(_folder.File("b.trec"), documentIds: IdIndex.Build(["d0", "d1"], "corpus.tsv")))
            .Should().Throw<ArgumentException>().WithMessage("The results name corpus row 5, but 'corpus.tsv' has only 2 document ids.*");
        _folder.FileNames().Should().BeEmpty();
    }
}
