using System.Text;
using SaeMl.Data;

namespace SaeMl.Tests.Data;

public sealed class DatasetReaderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Write(string name, string content, bool byteOrderMark = false)
    {
        var path = _folder.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content, new UTF8Encoding(byteOrderMark));
        return path;
    }

    [Fact]
    public void Ms_marco_collection_keeps_everything_after_the_first_tab_and_skips_blank_lines()
    {
        var path = Write("collection.tsv", "0\tThe presence of communication.\n\n1\tcafé — naïve \"quoted\"\twith a tab\r\n   \n7\t\n", byteOrderMark: true);

        var passages = MsMarcoReader.ReadPassages(path).ToList();

        passages.Should().Equal(
            new TextRecord("0", "", "The presence of communication.", 1),
            new TextRecord("1", "", "café — naïve \"quoted\"\twith a tab", 3),
            new TextRecord("7", "", "", 5));
    }

    [Fact]
    public void Ms_marco_lines_without_a_tab_or_id_are_rejected_with_their_line()
    {
        var noTab = Write("queries.dev.tsv", "1\tfine\n2 no tab here\n");
        var noId = Write("queries.train.tsv", "\tno id\n");

        var readNoTab = () => MsMarcoReader.ReadQueries(noTab).ToList();
        var readNoId = () => MsMarcoReader.ReadQueries(noId).ToList();

        readNoTab.Should().Throw<FormatException>().WithMessage($"Line 2 of '{noTab}' has no tab*");
        readNoId.Should().Throw<FormatException>().WithMessage($"Line 1 of '{noId}' has an empty id*");
    }

    [Fact]
    public void A_missing_file_fails_when_the_reader_is_asked_for_not_later()
    {
        var missing = _folder.File("nope.tsv");

        var read = () => MsMarcoReader.ReadPassages(missing);

        read.Should().Throw<FileNotFoundException>().WithMessage($"*'{missing}'*");
    }

    [Fact]
    public void Beir_corpus_reads_ids_titles_and_text_with_json_escapes()
    {
        Write("beir/corpus.jsonl",
            "{\"_id\": \"d1\", \"title\": \"Rain\", \"text\": \"Tabs\\tand \\\"quotes\\\" and caf\\u00e9\", \"metadata\": {\"url\": \"x\"}}\n"
            + "\n"
            + "{\"_id\": 42, \"text\": \"numeric id, no title\"}\n"
            + "{\"_id\": \"d3\", \"title\": null, \"text\": \"日本語のテキスト\"}\n");

        var documents = BeirReader.ReadCorpus(_folder.File("beir")).ToList();

        documents.Should().Equal(
            new TextRecord("d1", "Rain", "Tabs\tand \"quotes\" and café", 1),
            new TextRecord("42", "", "numeric id, no title", 3),
            new TextRecord("d3", "", "日本語のテキスト", 4));
    }

    [Theory]
    [InlineData("{\"_id\": \"q1\", \"text\": \"ok\"}\n{\"_id\": \"q2\", \"text\": 5}\n", "Line 2 of '*' has a \"text\" that is Number, not a string.")]
    [InlineData("{\"text\": \"no id\"}\n", "Line 1 of '*' has no \"_id\".")]
    [InlineData("{\"_id\": \"q1\", \"text\": \"cut\n", "Line 1 of '*' is not valid JSON*")]
    [InlineData("[\"q1\", \"text\"]\n", "Line 1 of '*' is not a JSON object.")]
    [InlineData("{\"_id\": \"\", \"text\": \"x\"}\n", "Line 1 of '*' has an empty \"_id\".")]
    public void Beir_lines_that_are_not_records_are_rejected_with_their_line(string content, string expectedMessage)
    {
        var path = Write("queries.jsonl", content);

        var read = () => BeirReader.ReadQueries(path).ToList();

        read.Should().Throw<FormatException>().WithMessage(expectedMessage);
    }

    [Fact]
    public void Duplicate_ids_are_rejected_when_mapped_to_rows()
    {
        var path = Write("collection.tsv", "a\tfirst\nb\tsecond\n\na\tthird\n");

        var build = () => IdIndex.Build(MsMarcoReader.ReadPassages(path), path);

        build.Should().Throw<FormatException>().WithMessage($"Duplicate id 'a' at line 4 of '{path}': it is already row 0*");
    }

    [Fact]
    public void Id_index_maps_both_ways_and_round_trips_through_a_file()
    {
        var index = IdIndex.Build(["d7", "d1", "é"], "ids");

        index.RowOf("d1").Should().Be(1);
        index[2].Should().Be("é");
        index.TryGetRow("zzz", out _).Should().BeFalse();
        index.Invoking(i => i.RowOf("zzz")).Should().Throw<KeyNotFoundException>().WithMessage("Unknown id 'zzz'*3 ids of 'ids'*");

        var path = _folder.File("ids.txt");
        index.Save(path);
        var loaded = IdIndex.Load(path);

        loaded.Ids.Should().Equal("d7", "d1", "é");
        _folder.FileNames().Should().Equal("ids.txt");
    }

    [Fact]
    public void Ms_marco_qrels_read_grades_and_count_relevant_documents()
    {
        var path = Write("qrels.dev.tsv", "1 0 10 1\n1\t0\t11\t0\n\n2 0 10 2\n1 0 10 1\n3 Q0 12 -1\n");

        var qrels = MsMarcoReader.ReadQrels(path);

        qrels.QueryIds.Should().Equal("1", "2", "3");
        qrels.JudgementCount.Should().Be(4, "the repeated identical judgement is kept once");
        qrels.JudgementsOf("1").Should().BeEquivalentTo(new Dictionary<string, int> { ["10"] = 1, ["11"] = 0 });
        qrels.RelevantCount("1").Should().Be(1);
        qrels.RelevantCount("3").Should().Be(0);
        qrels.RelevantDocuments("2").Should().Equal("10");
        qrels.RelevantDocuments("1").Should().Equal(["10"], "11 is judged, but at grade 0");
        qrels.RelevantDocuments("3").Should().BeEmpty("a negative grade is not relevant either");
        qrels.JudgementsOf("unjudged").Should().BeEmpty();
    }

    [Theory]
    [InlineData("1 0 10\n", "Line 1 of '*' has 3 fields*")]
    [InlineData("1 0 10 x\n", "Line 1 of '*' has grade 'x', which is not an integer.")]
    [InlineData("1 0 10 1\n1 0 10 2\n", "Line 2 of '*' grades document '10' for query '1' 2, but an earlier judgement graded it 1.")]
    public void Malformed_trec_qrels_are_rejected_with_their_line(string content, string expectedMessage)
    {
        var path = Write("qrels.txt", content);

        var read = () => Qrels.ReadTrec(path);

        read.Should().Throw<FormatException>().WithMessage(expectedMessage);
    }

    [Fact]
    public void Beir_qrels_skip_the_header_row()
    {
        Write("beir/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t2\nq2\td1\t0\n");

        var qrels = BeirReader.ReadQrels(_folder.File("beir"), "test");

        qrels.JudgementCount.Should().Be(3);
        qrels.JudgementsOf("q1").Should().BeEquivalentTo(new Dictionary<string, int> { ["d1"] = 1, ["d2"] = 2 });
    }

    [Fact]
    public void Qrels_naming_an_unknown_query_are_an_error_unless_skipping_is_asked_for()
    {
        var qrels = Qrels.FromJudgements([new("q1", "d1", 1), new("q9", "d1", 1), new("q9", "d2", 1), new("q1", "d404", 2)], "qrels.tsv");
        var queries = IdIndex.Build(["q1", "q2"], "queries.jsonl");
        var documents = IdIndex.Build(["d1", "d2"], "corpus.jsonl");

        var strict = () => qrels.RestrictTo(queries, documents);
        strict.Should().Throw<FormatException>()
            .WithMessage("Qrels 'qrels.tsv' judge 1 queries that are not in 'queries.jsonl' (e.g. 'q9'); skip unknown queries to drop those judgements (UnknownIdHandling.Skip; saeml evaluate --unknown-queries skip).");

        var kept = qrels.RestrictTo(queries, documents, unknownQueries: UnknownIdHandling.Skip);
        kept.QueryIds.Should().Equal("q1");
        kept.JudgementsOf("q1").Keys.Should().Equal("d1");
        kept.SkippedJudgements.Should().Be(3, "two judgements of the unknown query and one of the unknown document");

        var strictDocuments = () => qrels.RestrictTo(queries, documents, UnknownIdHandling.Skip, UnknownIdHandling.Error);
        strictDocuments.Should().Throw<FormatException>().WithMessage("*judge 1 documents that are not in 'corpus.jsonl' (e.g. 'd404')*");
    }

    [Fact]
    public void A_trec_run_reads_back_in_the_order_it_was_written()
    {
        var path = _folder.File("run.trec");
        using (var writer = new TrecRunWriter(path, "dense"))
        {
            // Equal scores: the written order is the ranking, not the document ids' order.
            writer.WriteRanking("q1", [("d2", 0.5f), ("d10", 0.5f), ("d1", 0.1f)]);
            writer.WriteRanking("q0", [("d3", 1f / 3f)]);
            File.Exists(path).Should().BeFalse();
            writer.Commit();
        }

        File.ReadAllLines(path).Should().Equal(
            "q1 Q0 d2 1 0.5 dense",
            "q1 Q0 d10 2 0.5 dense",
            "q1 Q0 d1 3 0.1 dense",
            "q0 Q0 d3 1 0.33333334 dense");
        var run = TrecRun.Read(path);
        run.QueryIds.Should().Equal("q1", "q0");
        run.RankingOf("q1", TrecRunOrder.RankColumn).Should().Equal(new RankedDocument("d2", 1, 0.5), new RankedDocument("d10", 2, 0.5), new RankedDocument("d1", 3, 0.1));
        run.RankingOf("q0").Single().Score.Should().Be(0.33333334, "the writer prints the float's shortest round-trip text, read back as a double");
        ((float)run.RankingOf("q0").Single().Score).Should().Be(1f / 3f);
    }

    [Fact]
    public void A_trec_run_is_ordered_by_score_as_trec_eval_orders_it_or_by_its_rank_column_on_request()
    {
        var path = Write("shuffled.trec", "q1 Q0 b 2 0.5 t\nq1 Q0 a 1 0.9 t\n\nq1 Q0 c 3 0.1 t\nq1 Q0 d10 0 0.5 t\nq1 Q0 d9 0 1e39 t\n");

        var run = TrecRun.Read(path);

        run.RankingOf("q1").Select(r => r.DocumentId).Should().Equal("d9", "a", "d10", "b", "c");
        run.RankingOf("q1", TrecRunOrder.RankColumn).Select(r => r.DocumentId).Should().Equal("d10", "d9", "a", "b", "c");
        run.RankingOf("q1")[0].Score.Should().Be(1e39, "a score beyond float's range is still a finite double");
        run.QueriesRankedOtherwise.Should().Equal(["q1"], "d10 is ranked above a with a lower score");
        run.Tag.Should().Be("t");
        run.LineCount.Should().Be(5);
    }

    [Fact]
    public void Comments_extra_fields_and_ranks_that_are_not_integers_are_read_as_trec_eval_reads_them()
    {
        var path = Write("loose.trec", "# produced by a script\nq1 Q0 a 1.0 0.5 run-a extra\nq1 Q0 b - 0.9 run-b\n");

        var run = TrecRun.Read(path);

        run.RankingOf("q1").Select(r => r.DocumentId).Should().Equal("b", "a");
        run.LineCount.Should().Be(2);
        run.Tag.Should().Be("run-b", "trec_eval names a run by its last line's tag");
        run.Invoking(r => r.RankingOf("q1", TrecRunOrder.RankColumn)).Should().Throw<FormatException>()
            .WithMessage("Line 2 of '*' has rank '1.0', which is not an integer; order by score instead.");
    }

    [Fact]
    public void Scores_that_differ_beyond_float_precision_do_not_tie_and_only_queries_ranked_otherwise_are_named()
    {
        var path = Write("close.trec", "q1 Q0 a 1 0.30000000000000004 x\nq1 Q0 c 2 0.3 y\nq1 Q0 b 3 0.3 x\nq2 Q0 d 1 1 x\nq2 Q0 e 2 1 x\n");

        var run = TrecRun.Read(path);

        ((float)0.30000000000000004).Should().Be(0.3f, "the two scores are one float");
        run.RankingOf("q1").Select(r => r.DocumentId).Should().Equal("a", "c", "b");
        run.QueriesRankedOtherwise.Should().Equal(["q2"], "q1's ranks follow trec_eval's order; q2 ranks its tie d before e, trec_eval e before d");
    }

    [Theory]
    [InlineData("q1 Q0 a 1 0.5\n", "Line 1 of '*' has 5 fields*")]
    [InlineData("q1 Q0 a 1 nan t\n", "Line 1 of '*' has score 'nan', which is not a finite number.")]
    [InlineData("q1 Q0 a 1 1e400 t\n", "Line 1 of '*' has score '1e400', which is not a finite number.")]
    [InlineData("\n  \n", "Run '*' holds no ranking lines*")]
    [InlineData("q1 Q0 a 1 0.5 t\nq1 Q0 a 2 0.4 t\n", "Line 2 of '*' lists document 'a' for query 'q1' a second time (first on line 1).")]
    public void Malformed_trec_runs_are_rejected_with_their_line(string content, string expectedMessage)
    {
        var path = Write("bad.trec", content);

        var read = () => TrecRun.Read(path);

        read.Should().Throw<FormatException>().WithMessage(expectedMessage);
    }

    [Fact]
    public void The_run_writer_rejects_what_the_format_cannot_hold_and_leaves_no_file()
    {
        var path = _folder.File("run.trec");
        using (var writer = new TrecRunWriter(path))
        {
            writer.Invoking(w => w.WriteRanking("q 1", [("d", 1f)])).Should().Throw<ArgumentException>().WithMessage("*query id 'q 1'*whitespace*");
            writer.WriteRanking("q1", [("d", 1f)]);
            writer.Invoking(w => w.WriteRanking("q1", [("e", 1f)])).Should().Throw<ArgumentException>().WithMessage("Query 'q1' was already written*");
            writer.Invoking(w => w.WriteRanking("q2", [("d", 1f), ("d", 0.5f)])).Should().Throw<ArgumentException>().WithMessage("Document 'd' appears twice*");
        }

        _folder.FileNames().Should().BeEmpty();
    }
}
