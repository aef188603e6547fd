using SaeMl.Cli;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Search;
using Spectre.Console;

namespace SaeMl.Tests.Cli;

public sealed class CommandLineTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static async Task<(int ExitCode, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, output);
        return (exitCode, output.ToString());
    }

    /// <summary>A corpus of 6 rows and 2 queries in 2-D, with hand-computed rankings.</summary>
    private (string Corpus, string Queries) WriteSmallWorld()
    {
        var corpus = _folder.File("corpus.npy");
        var queries = _folder.File("queries.npy");
        NpyWriter.Write(corpus, [1, 0, 0, 1, 0.5f, 0.5f, -1, 0, 0.9f, 0.1f, 0, -1], columns: 2);
        NpyWriter.Write(queries, [1, 0, 0, 2], columns: 2);
        return (corpus, queries);
    }

    [Fact]
    public async Task Neighbors_writes_ids_and_scores_as_an_npy_pair()
    {
        var (corpus, queries) = WriteSmallWorld();
        var prefix = _folder.File("out");

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--k", "3", "--output", prefix, "--device", "cpu");

        exitCode.Should().Be(0, output);
        var results = SearchResults.LoadNpy(prefix + ".ids.npy", prefix + ".scores.npy");
        // Query (1, 0) scores rows 1, 0, 0.5, -1, 0.9, 0; query (0, 2) scores 0, 2, 1, 0, 0.2, -2.
        results.Rows.ToArray().Should().Equal(0L, 4L, 2L, 1L, 2L, 4L);
        results.Scores.ToArray().Should().Equal(1f, 0.9f, 0.5f, 2f, 1f, 0.2f);
        output.Should().Contain("Searching 2 queries against 6 documents").And.Contain("Wrote");
    }

    [Fact]
    public async Task Neighbors_says_when_k_exceeds_the_corpus()
    {
        var (corpus, queries) = WriteSmallWorld();

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--k", "50", "--output", _folder.File("deep"), "--device", "cpu");

        exitCode.Should().Be(0, output);
        output.Should().Contain("for all 6 (--k 50 is more than the corpus holds)");
        SearchResults.LoadNpy(_folder.File("deep.ids.npy"), _folder.File("deep.scores.npy")).K.Should().Be(6);
    }

    [Fact]
    public async Task Neighbors_writes_a_trec_run_with_the_given_ids()
    {
        var (corpus, queries) = WriteSmallWorld();
        var corpusIds = _folder.File("corpus-ids.txt");
        var queryIds = _folder.File("query-ids.txt");
        File.WriteAllLines(corpusIds, ["a", "b", "c", "d", "e", "f"]);
        File.WriteAllLines(queryIds, ["east", "north"]);
        var run = _folder.File("run.trec");

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--k", "2", "--output", run,
            "--format", "trec", "--corpus-ids", corpusIds, "--query-ids", queryIds, "--tag", "test");

        exitCode.Should().Be(0, output);
        File.ReadAllLines(run).Should().Equal("east Q0 a 1 1 test", "east Q0 e 2 0.9 test", "north Q0 b 1 2 test", "north Q0 c 2 1 test");
    }

    [Fact]
    public async Task Neighbors_reports_a_bad_input_file_in_one_line_and_exits_with_1()
    {
        var (corpus, _) = WriteSmallWorld();
        var queries = _folder.File("queries3.npy");
        NpyWriter.Write(queries, [1, 0, 0], columns: 3);

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--output", _folder.File("out"));

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain($"error: --queries '{queries}' holds vectors of 3 values, but --corpus '{corpus}' holds vectors of 2.");
        output.Should().NotContain("   at ", "users get the message, not a stack trace").And.NotContain("Searching", "the dimensions are checked before the search is announced");
    }

    [Fact]
    public async Task Neighbors_checks_id_files_against_the_stores_before_searching()
    {
        var (corpus, queries) = WriteSmallWorld();
        var corpusIds = _folder.File("corpus-ids.txt");
        File.WriteAllLines(corpusIds, ["a", "b"]);

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--output", _folder.File("run.trec"),
            "--format", "trec", "--corpus-ids", corpusIds);

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain($"'{corpusIds}' holds 2 ids, but embedding store '{corpus}' has 6 rows.");
        File.Exists(_folder.File("run.trec")).Should().BeFalse();
    }

    [Fact]
    public async Task Neighbors_checks_the_output_folder_before_searching()
    {
        var (corpus, queries) = WriteSmallWorld();
        var missing = _folder.File("no-such-folder");

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--output", Path.Combine(missing, "out"));

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain($"error: The output folder '{missing}' (of --output) does not exist").And.NotContain("Searching");
    }

    [Fact]
    public void Argument_errors_are_shown_without_the_parameter_name_and_actual_value_lines()
    {
        var error = new ArgumentOutOfRangeException("options", 5, "A memory budget of 5 bytes cannot hold a block.");

        CommandAction.OneLine(error).Should().Be("A memory budget of 5 bytes cannot hold a block.");
        var inner = new ArgumentException("Row 5 of the input holds NaN or infinity.", "inputs");
        CommandAction.OneLine(new ArgumentException($"Store 'q.npy', batch from row 0: {inner.Message}", "store", inner))
            .Should().Be("Store 'q.npy', batch from row 0: Row 5 of the input holds NaN or infinity.", "the inner error's parameter goes too");
    }

    [Theory]
    [InlineData("--k", "0", "--k must be at least 1.")]
    [InlineData("--format", "csv", "Argument 'csv' not recognized")]
    public async Task Neighbors_rejects_bad_option_values(string option, string value, string expected)
    {
        var (corpus, queries) = WriteSmallWorld();

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--output", _folder.File("out"), option, value);

        exitCode.Should().NotBe(0);
        output.Should().Contain(expected);
    }

    [Fact]
    public async Task Neighbors_on_a_missing_gpu_says_so_instead_of_falling_back()
    {
        var (corpus, queries) = WriteSmallWorld();
        if (TorchSharp.torch.cuda.is_available())
            return; // the behaviour under test needs a machine without CUDA

        var (exitCode, output) = await Run("neighbors", "--corpus", corpus, "--queries", queries, "--output", _folder.File("out"), "--device", "cuda");

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain("error: Device 'cuda:0' was requested, but TorchSharp sees no CUDA device");
    }

    [Fact]
    public async Task Help_names_the_tool_as_users_type_it()
    {
        var (exitCode, output) = await Run("neighbors", "--help");

        exitCode.Should().Be(0);
        output.Should().Contain("saeml neighbors [options]").And.Contain("--corpus <corpus> (REQUIRED)");
    }

    [Theory]
    [InlineData(new[] { "train", "--latents", "-100" }, "error: --latents must be at least 1.", "'saeml train --help' lists the options.")]
    [InlineData(new[] { "neighbors", "--k", "0" }, "error: --k must be at least 1.", "'saeml neighbors --help' lists the options.")]
    [InlineData(new[] { "neighbors", "--format", "csv" }, "error: Argument 'csv' not recognized. Must be one of: 'npy', 'trec'", "'saeml neighbors --help' lists the options.")]
    [InlineData(new[] { "trian" }, "error: Unrecognized command or argument 'trian'.", "did you mean 'train'? 'saeml --help' lists the commands.")]
    public async Task A_command_line_that_does_not_parse_is_one_line_per_error_without_the_help(string[] args, string expected, string hint)
    {
        var (output, error) = (new StringWriter(), new StringWriter());

        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, error);

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().Contain(line => line.StartsWith(expected, StringComparison.Ordinal))
            .And.OnlyContain(line => line.StartsWith("error: ", StringComparison.Ordinal), "each error is one line, an option's allowed values included");
        lines[^1].Should().EndWith($" ({hint})", "the last line says where the options are, instead of printing them all");
        error.ToString().Should().NotContain("Options:").And.NotContain("Required command was not provided", "for a mistyped command that says nothing more");
        output.ToString().Should().BeEmpty();
    }

    [Fact]
    public async Task Saeml_alone_lists_the_commands_as_a_usage_error()
    {
        var output = new StringWriter();

        var exitCode = await SaeMlCommandLine.InvokeAsync([], TestConsole.Create(output), output, output);

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        output.ToString().Should().Contain("saeml [command] [options]").And.Contain("interpret").And.Contain("steer");
    }

    [Theory]
    [InlineData("train", "train", 0)]
    [InlineData("trian", "train", 2)]
    [InlineData("explian", "explain", 2)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void Edit_distance_counts_insertions_deletions_and_substitutions(string a, string b, int expected) =>
        SaeMlCommandLine.EditDistance(a, b).Should().Be(expected);

    [Fact]
    public void Progress_written_to_a_file_is_a_line_at_every_tenth_with_the_time_so_far_and_left()
    {
        var output = new StringWriter();

        var result = ProgressBars.Run(TestConsole.Create(output), "Work", (Action<double, double> report) =>
        {
            for (var i = 0; i <= 100; i++)
                report(i, 100);
            return 7;
        });

        result.Should().Be(7);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(10, "one line at 10 % to 90 %, and one when done");
        lines[..9].Select((line, i) => line.StartsWith($"Work: {(i + 1) * 10} % after ", StringComparison.Ordinal) && line.Contains(" left", StringComparison.Ordinal)).Should().AllBeEquivalentTo(true);
        lines[^1].Should().MatchRegex("^Work: done in [0-9]+ s$");
    }

    [Theory]
    [InlineData("160", 160)]
    [InlineData(null, ToolConsole.RedirectedWidth)]
    [InlineData("wide", ToolConsole.RedirectedWidth)]
    [InlineData("0", ToolConsole.RedirectedWidth)]
    [InlineData("-5", ToolConsole.RedirectedWidth)]
    public void Redirected_output_takes_the_width_COLUMNS_gives_or_one_that_wraps_no_table(string? columns, int expected) =>
        ToolConsole.WidthWhenRedirected(columns).Should().Be(expected);

    [Fact]
    public async Task Demo_generates_embeds_searches_and_reuses_its_work_on_a_second_run()
    {
        string[] args =
        [
            "demo", "--output", _folder.Path, "--documents", "800", "--queries", "30", "--dimension", "32",
            "--training-queries", "200", "--latents", "256", "--epochs", "1", "--device", "cpu",
        ];

        var (firstExit, first) = await Run(args);
        var (secondExit, second) = await Run(args);

        firstExit.Should().Be(0, first);
        first.Should().Contain("Wrote the world").And.Contain("Embedding 800 texts").And.Contain("Relevant documents among the top 10")
            .And.Contain("Training the autoencoder K = 32").And.Contain("Training the autoencoder K = 128, MSE only").And.Contain("Table 1 on the demo world");
        secondExit.Should().Be(0, second);
        second.Should().Contain("Reusing the world").And.Contain("Reusing the embeddings").And.NotContain("Embedding 800 texts")
            .And.Contain("Reusing the training neighbors").And.Contain("Reusing the autoencoder").And.NotContain("Training the autoencoder");
        var folder = Directory.GetDirectories(_folder.Path, "world-s42-800x32-q30-*").Should().ContainSingle().Subject;
        using var corpus = EmbeddingStore.Open(Path.Combine(folder, "corpus-embeddings"));
        corpus.RowCount.Should().Be(800);
        TrecRun.Read(Path.Combine(folder, "exact.trec")).QueryCount.Should().Be(30);
        var table = File.ReadAllLines(Path.Combine(folder, "table1", "table.md"));
        table.Where(line => line.StartsWith("| K = ", StringComparison.Ordinal)).Should().HaveCount(8, "latent and reconstructed lines for K = 32, 64, 128 and the MSE-only ablation");
        table.Should().Contain(line => line.StartsWith("| embeddings | original |", StringComparison.Ordinal));
        first.Should().Contain("Steering one latent (K = 32,").And.Contain("the paper's Figure 4 for the demo world").And.Contain("amplified toward weather");
        new FileInfo(Path.Combine(folder, "table1", "figure4.png")).Length.Should().BeGreaterThan(1000, "the figure is drawn beside Table 1");
        first.Should().Contain("Five labelled latents").And.Contain("term by term").And.Contain("Wrote the feature atlas");
        using var atlas = SaeMl.Interpretation.FeatureAtlas.Open(Path.Combine(folder, "table1", "atlas.sqlite"));
        atlas.Labels("local:words=5,documents=2,share=0.25,z=1.96,stop=english").Should().HaveCountGreaterThan(100, "the demo interprets a sample of 200 latents and its explained query's");
    }
}
