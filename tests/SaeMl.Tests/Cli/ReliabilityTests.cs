using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Cli;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Demo;
using SaeMl.Search;

namespace SaeMl.Tests.Cli;

/// <summary>
/// What a careful user tries: outputs pointed at inputs, colliding or concurrent runs, full disks, kills,
/// malformed text and model files, bad flag values. Each case must end in one clear line, with every input
/// unchanged and nothing half-written left behind (docs/reliability.md lists them).
/// </summary>
[Collection(AloneCollection.Name)] // kills and file size limits of child processes: nothing else should load the cores meanwhile
public sealed class ReliabilityTests : IDisposable
{
    private const int D = 16;
    private static readonly DemoWorldOptions SmallWorld = new() { Documents = 300, Queries = 20, Dimension = 16, Concepts = 40, MaxRelevantPerQuery = 40 };
    private readonly TempFolder _folder = new();

    public ReliabilityTests()
    {
        var random = new Random(12);
        NpyWriter.Write(_folder.File("queries.npy"), UnitRows(random, 240), D);
        NpyWriter.Write(_folder.File("corpus.npy"), UnitRows(random, 500), D);
        using var queries = EmbeddingStore.Open(_folder.File("queries.npy"));
        using var corpus = EmbeddingStore.Open(_folder.File("corpus.npy"));
        ExactSearch.Search(queries, corpus, new ExactSearchOptions { K = 8, Device = ComputeDevice.Cpu })
            .SaveNpy(_folder.File("train.ids.npy"), _folder.File("train.scores.npy"));
    }

    public void Dispose() => _folder.Dispose();

    private static float[] UnitRows(Random random, int rows) => Enumerable.Range(0, rows).SelectMany(_ =>
    {
        var row = Enumerable.Range(0, D).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var norm = MathF.Sqrt(row.Sum(v => v * v));
        return row.Select(v => v / norm);
    }).ToArray();

    private static async Task<(int ExitCode, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, output);
        return (exitCode, output.ToString());
    }

    /// <summary>A small train command line; <paramref name="extra"/> adds options (a flag followed by its value, or a switch) and replaces defaults of the same name.</summary>
    private string[] Train(string output, params string[] extra)
    {
        var options = new List<(string Flag, string? Value)>
        {
            ("--queries", _folder.File("queries.npy")), ("--corpus", _folder.File("corpus.npy")), ("--neighbors", _folder.File("train")), ("--output", output),
            ("--latents", "64"), ("--k", "4"), ("--epochs", "3"), ("--batch-size", "32"), ("--neighbors-per-query", "4"), ("--device", "cpu"),
        };
        for (var i = 0; i < extra.Length; i++)
        {
            var value = i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal) ? extra[++i] : null;
            var flag = extra[value is null ? i : i - 1];
            options.RemoveAll(o => o.Flag == flag);
            options.Add((flag, value));
        }

        return ["train", .. options.SelectMany(o => o.Value is null ? new[] { o.Flag } : [o.Flag, o.Value])];
    }

    private string TrainedModel()
    {
        var zip = _folder.File("model.zip");
        using var data = SaeTrainingData.OpenStores(_folder.File("queries.npy"), _folder.File("corpus.npy"), _folder.File("train.ids.npy"));
        using var transformer = new MLContext().Transforms.SparseAutoencode(new SparseAutoencoderOptions
        {
            LatentSize = 64, ActiveLatents = 4, Epochs = 1, BatchSize = 32, NeighborsPerQuery = 4, Device = ComputeDevice.Cpu,
        }).Fit(data);
        transformer.Save(zip);
        return zip;
    }

    /// <summary>
    /// Every file under the test folder with the SHA-256 of its bytes, to show that nothing changed; lock files are
    /// listed by name only (one another run holds cannot be read).
    /// </summary>
    private Dictionary<string, string> Snapshot() => _folder.FileNames().ToDictionary(name => name, name =>
        name.EndsWith(".saeml-lock", StringComparison.Ordinal) ? "lock" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_folder.File(name)))));

    private static string[] Leftovers(string folder) => Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories)
        .Where(f => f.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".saeml-lock", StringComparison.Ordinal) || f.EndsWith(".saeml-run", StringComparison.Ordinal)).ToArray();

    [Theory]
    [InlineData("neighbors-trec-over-corpus")]
    [InlineData("neighbors-prefix-over-corpus")]
    [InlineData("train-over-queries")]
    [InlineData("encode-over-input")]
    [InlineData("through-a-linked-folder")]
    [InlineData("relative-spelling")]
    [InlineData("explain-html-over-query-store")]
    [InlineData("explain-html-over-query-ids")]
    [InlineData("explain-html-over-vocab")]
    public async Task An_output_that_is_an_input_is_refused_before_any_work_and_every_input_stays(string scenario)
    {
        File.WriteAllLines(_folder.File("qids.txt"), Enumerable.Range(0, 240).Select(i => $"q{i}"));
        File.WriteAllLines(_folder.File("cids.txt"), Enumerable.Range(0, 500).Select(i => $"d{i}"));
        File.WriteAllText(_folder.File("model.onnx"), "an embedding model");
        File.WriteAllLines(_folder.File("vocab.txt"), ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "rain"]);
        File.Copy(_folder.File("corpus.npy"), _folder.File("x.ids.npy"));
        File.Copy(_folder.File("corpus.npy"), _folder.File("y.latent-values.npy"));
        Directory.CreateDirectory(_folder.File("real/sub"));
        File.Copy(_folder.File("corpus.npy"), _folder.File("real/sub/c.npy"));
        Directory.CreateSymbolicLink(_folder.File("link"), _folder.File("real"));
        var model = scenario.StartsWith("encode", StringComparison.Ordinal) || scenario.StartsWith("explain", StringComparison.Ordinal) ? TrainedModel() : null;
        string[] Explain(string html, params string[] extra) => ["explain", "--model", model!, "--corpus", _folder.File("corpus.npy"), "--corpus-ids", _folder.File("cids.txt"),
            "--queries", _folder.File("queries.npy"), "--query-ids", _folder.File("qids.txt"), "--query-id", "q3", "--html", html, "--overwrite", "--device", "cpu", .. extra];
        var before = Snapshot();
        string[] args = scenario switch
        {
            "neighbors-trec-over-corpus" => ["neighbors", "--corpus", _folder.File("corpus.npy"), "--queries", _folder.File("queries.npy"), "--format", "trec", "--output", _folder.File("corpus.npy"), "--overwrite"],
            "neighbors-prefix-over-corpus" => ["neighbors", "--corpus", _folder.File("x.ids.npy"), "--queries", _folder.File("queries.npy"), "--output", _folder.File("x"), "--overwrite"],
            "train-over-queries" => Train(_folder.File("queries.npy"), "--overwrite"),
            "through-a-linked-folder" => ["neighbors", "--corpus", _folder.File("real/sub/c.npy"), "--queries", _folder.File("queries.npy"), "--format", "trec", "--output", _folder.File("link/sub/c.npy"), "--overwrite"],
            "relative-spelling" => ["neighbors", "--corpus", _folder.File("corpus.npy"), "--queries", _folder.File("queries.npy"), "--format", "trec",
                "--output", Path.Combine(Path.GetRelativePath(Environment.CurrentDirectory, _folder.Path), ".", "real", "..", "corpus.npy"), "--overwrite"],
            "explain-html-over-query-store" => Explain(_folder.File("queries.npy")),
            "explain-html-over-query-ids" => Explain(_folder.File("qids.txt")),
            "explain-html-over-vocab" => Explain(_folder.File("vocab.txt"), "--onnx", _folder.File("model.onnx"), "--vocab", _folder.File("vocab.txt")),
            _ => ["encode", "--model", model!, "--input", _folder.File("y.latent-values.npy"), "--latents", _folder.File("y"), "--overwrite"],
        };

        var (exitCode, output) = await Run(args);

        exitCode.Should().Be(CommandAction.Failed, output);
        output.Should().Contain("is the --").And.Contain("input; SaeMl never writes over its inputs").And.NotContain("Searching").And.NotContain("Training");
        Snapshot().Should().Equal(before, "even with --overwrite, no input changes and nothing is written");
    }

    [Fact]
    public async Task An_output_inside_an_input_store_folder_and_two_colliding_outputs_are_refused()
    {
        Directory.CreateDirectory(_folder.File("store"));
        File.Copy(_folder.File("corpus.npy"), _folder.File("store/part-0.npy"));
        var before = Snapshot();

        var (insideExit, inside) = await Run("neighbors", "--corpus", _folder.File("store"), "--queries", _folder.File("queries.npy"), "--output", _folder.File("store/run"));
        var (collideExit, collide) = await Run(Train(_folder.File("sae.zip"), "--checkpoint", _folder.File("sae.zip")));

        insideExit.Should().Be(CommandAction.Failed);
        inside.Should().Contain($"--output '{_folder.File("store/run.ids.npy")}' lies inside the --corpus folder '{_folder.File("store")}'");
        collideExit.Should().Be(CommandAction.Failed);
        collide.Should().Contain($"--checkpoint '{_folder.File("sae.zip")}' and --output '{_folder.File("sae.zip")}' would write the same files");
        Snapshot().Should().Equal(before);
    }

    [Fact]
    public async Task Overwrite_replaces_only_what_the_command_writes_and_a_failed_check_leaves_no_lock()
    {
        Directory.CreateDirectory(_folder.File("documents"));
        File.WriteAllText(_folder.File("documents/thesis.txt"), "years of work");
        var model = TrainedModel();
        File.WriteAllText(_folder.File("sae.ckpt.saeml-run"), "process 1, started long ago");
        using (new FileStream(_folder.File("sae.ckpt.saeml-lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None)) // another run holds the checkpoint
        {
            var before = Snapshot();

            var (encodeExit, encode) = await Run("encode", "--model", model, "--input", _folder.File("corpus.npy"), "--reconstruction", _folder.File("documents"), "--overwrite");
            var (trainExit, train) = await Run(Train(_folder.File("sae.zip"), "--checkpoint", _folder.File("sae.ckpt")));

            encodeExit.Should().Be(CommandAction.Failed);
            encode.Should().Contain($"--reconstruction '{_folder.File("documents")}' holds 'thesis.txt', which is not the command's own");
            trainExit.Should().Be(CommandAction.Failed);
            train.Should().Contain($"Another saeml run is writing --checkpoint '{_folder.File("sae.ckpt")}' (process 1, started long ago)");
            Snapshot().Should().Equal(before, "the folder is intact, and the lock taken on --output before --checkpoint failed is gone");
            File.Exists(_folder.File("sae.zip.saeml-lock")).Should().BeFalse();
        }
    }

    [Fact]
    public async Task An_existing_output_is_reported_before_the_work_and_replaced_only_with_overwrite()
    {
        var args = new[] { "neighbors", "--corpus", _folder.File("corpus.npy"), "--queries", _folder.File("queries.npy"), "--output", _folder.File("run"), "--device", "cpu" };
        (await Run(args)).ExitCode.Should().Be(0);
        var before = Snapshot();

        var (again, output) = await Run(args);
        var refused = Snapshot();
        File.WriteAllBytes(_folder.File("run.ids.npy"), [1, 2, 3]); // so that a replacement that wrote nothing would show
        var (replaced, replacedOutput) = await Run([.. args, "--overwrite"]);

        again.Should().Be(CommandAction.Failed);
        output.Should().Contain($"--output '{_folder.File("run.ids.npy")}' exists; pass --overwrite to replace it.").And.NotContain("Searching");
        refused.Should().Equal(before, "the refused run changed nothing");
        replaced.Should().Be(0, replacedOutput);
        Snapshot().Should().Equal(before, "the same search writes the same bytes again");
        Leftovers(_folder.Path).Should().BeEmpty();
    }

    [Fact]
    public async Task A_second_run_writing_the_same_output_fails_at_once_and_names_the_first()
    {
        var zip = _folder.File("sae.zip");
        using var first = CliProcess.Start(Train(zip, "--epochs", "100000"));
        try
        {
            var lockFile = zip + ".saeml-run";
            var waited = Stopwatch.StartNew();
            while (!(File.Exists(lockFile) && new FileInfo(lockFile).Length > 0) && waited.Elapsed < TimeSpan.FromSeconds(60))
                await Task.Delay(50);
            File.Exists(lockFile).Should().BeTrue("the first run holds its output by now");
            first.HasExited.Should().BeFalse("the first run trains for a long time");

            var (exitCode, output) = await Run(Train(zip, "--seed", "7"));

            exitCode.Should().Be(CommandAction.Failed, output);
            output.Should().Contain($"Another saeml run is writing --output '{zip}' (process {first.Id}, started ").And.NotContain("Training a sparse");
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }
    }

    [Theory]
    [InlineData(200, false)] // neither file of the pair fits
    [InlineData(600, false)] // the scores (480 KB) fit, the rows (960 KB) do not
    [InlineData(600, true)]  // the same, replacing an earlier pair with --overwrite
    public async Task A_full_disk_leaves_neither_half_a_pair_nor_temporary_files_and_the_message_names_the_output(int limitKiB, bool replacing)
    {
        string[] args = ["neighbors", "--corpus", _folder.File("corpus.npy"), "--queries", _folder.File("queries.npy"), "--k", "400", "--output", _folder.File("run"), "--device", "cpu"];
        if (replacing)
            (await Run(args)).ExitCode.Should().Be(0);
        var before = Snapshot();

        var result = await CliProcess.RunSeparatelyAsync(replacing ? [.. args, "--overwrite"] : args, fileSizeLimitKiB: limitKiB);

        result.ExitCode.Should().Be(CommandAction.Failed, result.Output + result.Error);
        result.Error.Should().MatchRegex($"^error: Could not write '{_folder.File("run")}\\.(ids|scores)\\.npy': .*\n$");
        Snapshot().Should().Equal(before, "the earlier pair (if any) stays whole, and no new file, temporary file or lock is left");
    }

    [Fact]
    public async Task Embed_stopped_by_a_full_disk_resumes_to_the_uninterrupted_store_and_leaves_no_temporary_file()
    {
        var world = _folder.File("world");
        DemoWorld.Generate(SmallWorld).Write(world);
        string[] Embed(string output) =>
            ["embed", "--input", world, "--model", Path.Combine(world, DemoWorld.ModelFile), "--vocab", Path.Combine(world, DemoWorld.VocabularyFile),
             "--output", output, "--rows-per-shard", "40", "--device", "cpu"];

        var stopped = await CliProcess.RunSeparatelyAsync(Embed(_folder.File("store")), fileSizeLimitKiB: 2);
        stopped.ExitCode.Should().Be(CommandAction.Failed, stopped.Output + stopped.Error);
        stopped.Error.Should().StartWith("error: Could not write '").And.NotContain(".tmp");
        var resumed = await CliProcess.RunSeparatelyAsync(Embed(_folder.File("store")));
        var straight = await CliProcess.RunSeparatelyAsync(Embed(_folder.File("straight")));

        resumed.ExitCode.Should().Be(0, resumed.Error);
        straight.ExitCode.Should().Be(0, straight.Error);
        using var a = EmbeddingStore.Open(_folder.File("store"));
        using var b = EmbeddingStore.Open(_folder.File("straight"));
        ReadAll(a).Should().Equal(ReadAll(b), (x, y) => Math.Abs(x - y) < 1e-6f);
        Leftovers(_folder.Path).Should().BeEmpty();
        File.Exists(Path.Combine(_folder.File("store"), EmbeddingStore.UnfinishedMarkerFileName)).Should().BeFalse();
    }

    private static float[] ReadAll(EmbeddingStore store)
    {
        var values = new float[store.RowCount * store.Dimension];
        store.ReadRows(0, values);
        return values;
    }

    [Fact]
    public async Task Encode_that_fails_midway_leaves_no_store_no_latents_and_no_staging_folder()
    {
        var model = TrainedModel();
        var rows = UnitRows(new Random(3), 9000);
        rows[8000 * D + 3] = float.NaN;
        NpyWriter.Write(_folder.File("bad.npy"), rows, D);
        var before = Snapshot();

        var (exitCode, output) = await Run("encode", "--model", model, "--input", _folder.File("bad.npy"), "--latents", _folder.File("codes"),
            "--reconstruction", _folder.File("reconstructed"), "--device", "cpu");

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain("NaN");
        Snapshot().Should().Equal(before, "the failed encode left no file of its own");
        Directory.GetDirectories(_folder.Path).Should().BeEmpty("no reconstruction store and no staging folder");
    }

    [Fact]
    public async Task Text_that_is_not_UTF8_is_an_error_naming_the_line_and_an_empty_input_is_an_error()
    {
        var world = _folder.File("world");
        DemoWorld.Generate(SmallWorld).Write(world);
        var corpus = Path.Combine(world, DemoWorld.CorpusFile);
        var lines = File.ReadAllLines(corpus);
        using (var bad = File.Create(_folder.File("bad.jsonl")))
        {
            foreach (var (line, index) in lines.Take(5).Select((l, i) => (l, i)))
            {
                var bytes = Encoding.UTF8.GetBytes(line);
                if (index == 2)
                    bytes = [.. Encoding.UTF8.GetBytes("{\"_id\": \"d"), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\", \"title\": \"\", \"text\": \"rain\"}")];
                bad.Write(bytes);
                bad.WriteByte((byte)'\n');
            }
        }

        File.WriteAllText(_folder.File("empty.jsonl"), "");
        string[] Embed(string input, string output) =>
            ["embed", "--input", input, "--model", Path.Combine(world, DemoWorld.ModelFile), "--vocab", Path.Combine(world, DemoWorld.VocabularyFile), "--output", output, "--device", "cpu"];

        var (badExit, badOutput) = await Run(Embed(_folder.File("bad.jsonl"), _folder.File("bad-store")));
        var (emptyExit, emptyOutput) = await Run(Embed(_folder.File("empty.jsonl"), _folder.File("empty-store")));

        badExit.Should().Be(CommandAction.Failed);
        badOutput.Should().Contain($"error: '{_folder.File("bad.jsonl")}' line 3 is not valid UTF-8 text.");
        emptyExit.Should().Be(CommandAction.Failed);
        emptyOutput.Should().Contain($"error: --input '{_folder.File("empty.jsonl")}' holds no texts");
        Directory.Exists(_folder.File("bad-store")).Should().BeFalse();
        Directory.Exists(_folder.File("empty-store")).Should().BeFalse();
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("truncated")]
    [InlineData("random bytes")]
    [InlineData("another zip")]
    public async Task A_model_file_that_is_not_a_SaeMl_model_zip_is_one_line_naming_it(string kind)
    {
        var bad = _folder.File("bad.zip");
        var model = File.ReadAllBytes(TrainedModel());
        switch (kind)
        {
            case "empty":
                File.WriteAllBytes(bad, []);
                break;
            case "truncated":
                File.WriteAllBytes(bad, model[..(model.Length / 2)]);
                break;
            case "random bytes":
                File.WriteAllBytes(bad, RandomNumberGenerator.GetBytes(4096));
                break;
            default:
                using (var zip = System.IO.Compression.ZipFile.Open(bad, System.IO.Compression.ZipArchiveMode.Create))
                using (var entry = new StreamWriter(zip.CreateEntry("notes.txt").Open()))
                    entry.Write("not a model");
                break;
        }

        var (exitCode, output) = await Run("encode", "--model", bad, "--input", _folder.File("corpus.npy"), "--latents", _folder.File("codes"), "--device", "cpu");

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain($"error: '{bad}' is not an ML.NET model zip that SaeMl can read").And.NotContain("   at ");
    }

    [Theory]
    [InlineData("--validation", "1.5", "--validation must be at least 0 and below 1; got 1.5.")]
    [InlineData("--lr", "0", "--lr must be a positive number; got 0.")]
    [InlineData("--temperature", "0", "--temperature must be auto or a positive number; got '0'.")]
    [InlineData("--kl-weight", "-1", "--kl-weight must be 0 or a positive number; got -1.")]
    [InlineData("--latent-kl-ratio", "-1", "--latent-kl-ratio must be 0 or a positive number; got -1.")]
    [InlineData("--temperature", "warm", "--temperature must be auto or a positive number; got 'warm'.")]
    [InlineData("--latents", "2", "--k (4) must not exceed --latents (2).")]
    [InlineData("--neighbors-per-query", "1", "--neighbors-per-query (1) must be at least 2 while --kl-weight is above 0")]
    public async Task Train_flags_are_checked_before_any_work_in_the_words_the_user_typed(string flag, string value, string expected)
    {
        var (exitCode, output) = await Run(Train(_folder.File("sae.zip"), flag, value));

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        output.Should().Contain(expected).And.NotContain("Training");
        File.Exists(_folder.File("sae.zip")).Should().BeFalse();
    }

    [Fact]
    public async Task Flags_checked_against_the_files_name_the_file_the_user_gave()
    {
        var (neighborsExit, neighbors) = await Run(Train(_folder.File("sae.zip"), "--neighbors-per-query", "32"));
        var (shardsExit, shards) = await Run("embed", "--input", _folder.File("x.jsonl"), "--model", _folder.File("m.onnx"), "--vocab", _folder.File("v.txt"),
            "--output", _folder.File("s"), "--rows-per-shard", "0");

        neighborsExit.Should().Be(CommandAction.Failed);
        neighbors.Should().Contain($"--neighbors-per-query is 32, but --neighbors '{_folder.File("train.ids.npy")}' holds 8 neighbors per query.");
        shardsExit.Should().Be(SaeMlCommandLine.Usage);
        shards.Should().Contain("--rows-per-shard must be at least 1.");
    }

    [Fact]
    public async Task Unknown_queries_in_the_qrels_point_to_the_option_that_skips_them()
    {
        File.WriteAllLines(_folder.File("query-ids.txt"), Enumerable.Range(0, 240).Select(i => $"q{i}"));
        File.WriteAllLines(_folder.File("corpus-ids.txt"), Enumerable.Range(0, 500).Select(i => $"d{i}"));
        File.WriteAllLines(_folder.File("qrels.tsv"), ["q1 0 d3 1", "q999 0 d4 1"]);
        string[] Evaluate(params string[] extra) =>
        [
            "evaluate", "--queries", _folder.File("queries.npy"), "--corpus", _folder.File("corpus.npy"), "--qrels", _folder.File("qrels.tsv"),
            "--query-ids", _folder.File("query-ids.txt"), "--corpus-ids", _folder.File("corpus-ids.txt"), "--device", "cpu", .. extra,
        ];

        var (strictExit, strict) = await Run(Evaluate("--output", _folder.File("strict")));
        var (skipExit, skip) = await Run(Evaluate("--output", _folder.File("skip"), "--unknown-queries", "skip"));

        strictExit.Should().Be(CommandAction.Failed);
        strict.Should().Contain("judge 1 queries that are not in").And.Contain("--unknown-queries skip");
        skipExit.Should().Be(0, skip);
        File.Exists(Path.Combine(_folder.File("skip"), "table.md")).Should().BeTrue();
    }

    [Fact]
    public async Task Demo_refuses_a_file_as_its_folder_and_too_few_latents_before_any_work()
    {
        File.WriteAllText(_folder.File("a-file"), "x");

        var (fileExit, file) = await Run("demo", "--output", _folder.File("a-file"), "--device", "cpu");
        var (latentsExit, latents) = await Run("demo", "--output", _folder.File("demo"), "--latents", "64");

        fileExit.Should().Be(CommandAction.Failed);
        file.Should().Contain($"--output '{_folder.File("a-file")}' is a file; the demo needs a folder");
        latentsExit.Should().Be(SaeMlCommandLine.Usage);
        latents.Should().Contain("--latents (64) must be at least 128");
        Directory.Exists(_folder.File("demo")).Should().BeFalse();
    }

    [Fact]
    public async Task Errors_go_to_standard_error_as_one_line_never_wrapped()
    {
        var missing = _folder.File(new string('m', 120) + ".npy");

        var result = await CliProcess.RunSeparatelyAsync(["neighbors", "--corpus", missing, "--queries", _folder.File("queries.npy"), "--output", _folder.File("run")]);

        result.ExitCode.Should().Be(CommandAction.Failed);
        result.Error.Should().StartWith("error: ").And.Contain(missing).And.EndWith("\n");
        result.Error.TrimEnd('\n').Should().NotContain("\n", "one line, however long");
        result.Output.Should().NotContain("error");
    }

    [Fact]
    public async Task Embed_and_train_killed_at_random_points_resume_to_the_uninterrupted_result_and_leave_nothing_behind()
    {
        var world = _folder.File("world");
        DemoWorld.Generate(SmallWorld with { Documents = 20_000 }).Write(world); // its model embeds about 10,000 texts a second
        string[] Embed(string output) =>
            ["embed", "--input", world, "--model", Path.Combine(world, DemoWorld.ModelFile), "--vocab", Path.Combine(world, DemoWorld.VocabularyFile),
             "--output", output, "--rows-per-shard", "200", "--batch-size", "8", "--device", "cpu"];
        string[] Training(string output) => Train(output, "--epochs", "40", "--checkpoint", output + ".ckpt", "--checkpoint-every", "1", "--resume");
        var random = new Random(2026);

        // Kill points: the first run dies at its first complete shard or checkpoint, later runs after a random number
        // of shards or a random time after their first checkpoint.
        var first = true;
        Func<bool> EmbedPoint(string store)
        {
            var shards = first ? 1 : random.Next(1, 60);
            return () => Directory.Exists(store) && Directory.GetFiles(store, "part-*.npy").Length >= shards;
        }

        Func<bool> TrainingPoint(string zip)
        {
            var after = TimeSpan.FromMilliseconds(first ? 0 : random.Next(0, 300));
            Stopwatch? since = null;
            return () => File.Exists(zip + ".ckpt") && (since ??= Stopwatch.StartNew()).Elapsed >= after;
        }

        (Func<string, string[]> Command, Func<string, Func<bool>> KillPoint, string Target, string Straight)[] jobs =
        [
            (Embed, EmbedPoint, _folder.File("store"), _folder.File("store-straight")),
            (Training, TrainingPoint, _folder.File("sae.zip"), _folder.File("sae-straight.zip")),
        ];
        foreach (var (command, killPoint, target, straight) in jobs)
        {
            var kills = 0;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                using var child = CliProcess.Start(command(target));
                var errors = new StringBuilder();
                child.OutputDataReceived += (_, _) => { }; // drained, so a full pipe never blocks the child
                child.ErrorDataReceived += (_, e) => errors.AppendLine(e.Data);
                child.BeginOutputReadLine();
                child.BeginErrorReadLine();
                var reached = killPoint(target);
                var deadline = Stopwatch.StartNew();
                while (!child.HasExited && !reached())
                {
                    deadline.Elapsed.Should().BeLessThan(TimeSpan.FromMinutes(2), "the kill point comes within two minutes");
                    await Task.Delay(5);
                }

                if (child.HasExited)
                {
                    await child.WaitForExitAsync();
                    var error = errors.ToString();
                    (child.ExitCode == 0 || error.Contains("exists; pass --overwrite")).Should().BeTrue(
                        $"a run that was not killed finishes, or finds that a killed run had already finished: {error}");
                    break;
                }

                child.Kill(entireProcessTree: true); // SIGKILL: no cleanup code of the child runs
                await child.WaitForExitAsync();
                kills++;
                first = false;
            }

            first = true;

            kills.Should().BeGreaterThan(0, "at least one run must have been killed for the test to mean anything");
            var last = await CliProcess.RunSeparatelyAsync(command(target));
            (last.ExitCode == 0 || last.Error.Contains("exists; pass --overwrite")).Should().BeTrue(
                $"the run after the kills resumes to the end, or finds that a killed run had already finished: {last.Error}");
            var uninterrupted = await CliProcess.RunSeparatelyAsync(command(straight));
            uninterrupted.ExitCode.Should().Be(0, uninterrupted.Error);
        }

        using (var a = EmbeddingStore.Open(_folder.File("store")))
        using (var b = EmbeddingStore.Open(_folder.File("store-straight")))
            ReadAll(a).Should().Equal(ReadAll(b), (x, y) => Math.Abs(x - y) < 1e-6f, "a resumed store holds the same vectors (batches differ only in their last bits)");
        using (var a = SparseAutoencoderTransformer.Load(_folder.File("sae.zip"), ComputeDevice.Cpu))
        using (var b = SparseAutoencoderTransformer.Load(_folder.File("sae-straight.zip"), ComputeDevice.Cpu))
            a.Autoencoder.GetWeights().DecoderWeight.Should().Equal(b.Autoencoder.GetWeights().DecoderWeight, "a resumed run trains exactly the uninterrupted model");
        Leftovers(_folder.Path).Should().BeEmpty();
    }
}
