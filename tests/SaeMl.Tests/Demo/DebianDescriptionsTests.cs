using SaeMl.Data;
using SaeMl.Demo;

namespace SaeMl.Tests.Demo;

/// <summary>The real-text retrieval set from Debian package descriptions, on a slice of the real index kept in the repository.</summary>
public sealed class DebianDescriptionsTests : IDisposable
{
    private static readonly string Slice = Path.Combine(AppContext.BaseDirectory, "Demo", "debian-translation-slice.txt");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_translation_index_reads_as_synopsis_and_paragraphs_joined()
    {
        var descriptions = DebianDescriptions.Read(Slice).ToList();
        descriptions.Should().HaveCount(60);
        var data = descriptions.Single(d => d.Package == "0ad-data");
        data.Synopsis.Should().Be("Real-time strategy game of ancient warfare (data files)");
        data.Text.Should().StartWith("0 A.D. (pronounced \"zero ey-dee\") is a free, open-source, cross-platform real-time strategy (RTS) game")
            .And.EndWith("game engine. This package contains the main data files required by 0 A.D.", "the ' .' paragraph mark is dropped and lines are joined by spaces");
    }

    [Fact]
    public void The_retrieval_set_is_beir_with_one_relevant_document_per_query_and_ambiguous_synopses_left_out()
    {
        var extra = _folder.File("extra.txt");
        File.WriteAllText(extra, File.ReadAllText(Slice)
            + "Package: tiny\nDescription-md5: 0\nDescription-en: too short to keep\n short text here\n\n"
            + "Package: twin-a\nDescription-md5: 1\nDescription-en: the same synopsis\n one two three four five six seven eight nine\n\n"
            + "Package: twin-b\nDescription-md5: 2\nDescription-en: The same synopsis\n nine eight seven six five four three two one\n\n"
            + "Package: 0ad\nDescription-md5: 3\nDescription-en: a second stanza of a package already seen\n one two three four five six seven eight nine\n");
        var folder = Path.Combine(_folder.Path, "set");
        var (documents, tests, training) = DebianDescriptions.WriteRetrievalSet(DebianDescriptions.Read(extra), folder, testQueries: 10);

        (documents, tests, training).Should().Be((62, 10, 50), "60 + two twins are documents; 'tiny' is too short and the second 0ad a repeat; the twins' shared synopsis asks nothing");
        var corpus = BeirReader.ReadCorpus(folder).ToList();
        corpus.Select(r => r.Id).Should().OnlyHaveUniqueItems().And.Contain(["twin-a", "twin-b"]).And.NotContain("tiny");
        var queries = BeirReader.ReadQueries(folder).ToList();
        var qrels = BeirReader.ReadQrels(folder);
        queries.Should().HaveCount(10);
        qrels.QueryCount.Should().Be(10);
        var trainingIds = BeirReader.ReadQueries(Path.Combine(folder, "train-queries.jsonl")).Select(q => q.Id).ToHashSet();
        trainingIds.Should().HaveCount(50).And.NotContain(queries.Select(q => q.Id), "evaluation queries are kept apart from training");
        BeirReader.ReadQrels(folder, "train").QueryCount.Should().Be(50);
        var again = Path.Combine(_folder.Path, "again");
        DebianDescriptions.WriteRetrievalSet(DebianDescriptions.Read(extra), again, testQueries: 10);
        File.ReadAllBytes(Path.Combine(again, "queries.jsonl")).Should().Equal(File.ReadAllBytes(Path.Combine(folder, "queries.jsonl")), "the split is seeded");
    }

    [Fact]
    public void A_missing_or_foreign_file_is_refused_with_its_name()
    {
        FluentActions.Invoking(() => DebianDescriptions.Read(_folder.File("none.txt")).ToList()).Should().Throw<FileNotFoundException>().WithMessage("*none.txt*");
        var foreign = _folder.File("foreign.txt");
        File.WriteAllText(foreign, "just some text\nwith lines\n");
        FluentActions.Invoking(() => DebianDescriptions.Read(foreign).ToList()).Should().Throw<FormatException>().WithMessage("*foreign.txt*holds no package description*");
        var orphan = _folder.File("orphan.txt");
        File.WriteAllText(orphan, "Description-md5: 0\nDescription-en: no package\n text\n");
        FluentActions.Invoking(() => DebianDescriptions.Read(orphan).ToList()).Should().Throw<FormatException>().WithMessage("*line 1*no Package*");
    }
}
