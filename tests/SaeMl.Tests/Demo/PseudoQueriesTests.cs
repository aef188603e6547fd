using SaeMl.Data;
using SaeMl.Demo;

namespace SaeMl.Tests.Demo;

/// <summary>Pseudo-queries cut from a corpus's documents: sentence openings, one per text, never from excluded documents.</summary>
public sealed class PseudoQueriesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static TextRecord Document(string id, string text, string title = "") => new(id, title, text, 1);

    [Fact]
    public void Each_document_gives_the_openings_of_its_first_sentences_cut_to_the_word_limit()
    {
        var documents = new[]
        {
            Document("foo", "Foo is a fast tool for counting words in very large text files quickly. It reads gzip. Version 2.0 adds a progress bar."),
            Document("foo-dev", "Foo is a fast tool for counting words in very large text files quickly. This package holds the headers."),
            Document("bar", "Short. Tiny bit. Bar draws plots, charts and maps!"),
        };

        var queries = PseudoQueries.FromDocuments(documents, perDocument: 2, maxWords: 8).ToList();

        queries.Select(q => (q.Id, q.Text)).Should().Equal(
            ("p:foo:0", "Foo is a fast tool for counting words"),
            ("p:foo:1", "It reads gzip"),
            ("p:foo-dev:0", "This package holds the headers"),
            ("p:bar:0", "Bar draws plots, charts and maps!"));
        queries.Should().OnlyContain(q => q.Title.Length == 0);
    }

    [Fact]
    public void The_same_opening_in_another_case_is_made_once_and_the_title_is_read_first()
    {
        var documents = new[] { Document("a", "The library parses JSON fast."), Document("b", "the library parses json fast. Then it validates schemas.") };
        PseudoQueries.FromDocuments(documents, perDocument: 1).Select(q => q.Text).Should().Equal("The library parses JSON fast", "Then it validates schemas");
        PseudoQueries.FromDocuments([Document("t", "A program to draw graphs", title: "Grapher.")], perDocument: 3).Select(q => q.Text)
            .Should().Equal(["A program to draw graphs"], "the one-word title is too short");
        PseudoQueries.FromDocuments([Document("t", "it draws them fast", title: "A graph drawing tool")], perDocument: 3).Select(q => q.Text)
            .Should().Equal(["A graph drawing tool", "it draws them fast"], "the title is its own text, not the start of the first sentence");
    }

    [Fact]
    public void Documents_judged_for_the_test_queries_give_none_and_the_file_is_beir_queries()
    {
        File.WriteAllText(_folder.File("corpus.jsonl"),
            "{\"_id\":\"asked\",\"text\":\"A document the test asks for by name.\"}\n{\"_id\":\"free\",\"text\":\"Another document that nobody asks for.\"}\n");
        Directory.CreateDirectory(_folder.File("qrels"));
        File.WriteAllText(_folder.File("qrels/test.tsv"), "query-id\tcorpus-id\tscore\nq1\tasked\t1\nq1\tfree\t0\n");

        var (path, count) = PseudoQueries.Write(_folder.Path);

        count.Should().Be(1);
        BeirReader.ReadQueries(path).Select(q => (q.Id, q.Text)).Should().Equal([("p:free:0", "Another document that nobody asks for")], "a grade-0 judgement is not relevant, so 'free' still gives one");
        PseudoQueries.Write(_folder.Path, excludedSplit: null).Count.Should().Be(2, "the control: without the exclusion both documents give one");
    }

    [Fact]
    public void Limits_below_one_query_or_three_words_are_refused_by_name()
    {
        FluentActions.Invoking(() => PseudoQueries.FromDocuments([], perDocument: 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("perDocument");
        FluentActions.Invoking(() => PseudoQueries.FromDocuments([], maxWords: 2)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("maxWords");
        FluentActions.Invoking(() => PseudoQueries.Write(_folder.File("missing"))).Should().Throw<DirectoryNotFoundException>().WithMessage("*BEIR folder*missing*");
    }
}
