using System.Diagnostics;
using SaeMl.Autoencoder;
using SaeMl.Cli;
using SaeMl.Compute;
using SaeMl.Data.Npy;
using SaeMl.Data;
using SaeMl.Evaluation;
using SaeMl.Search;

namespace SaeMl.Tests.Cli;

public sealed class TrainCommandTests : IDisposable
{
    private const int D = 16;
    private readonly TempFolder _folder = new();

    public TrainCommandTests()
    {
        var random = new Random(12);
        float[] UnitRows(int rows) => Enumerable.Range(0, rows).SelectMany(_ =>
        {
            var row = Enumerable.Range(0, D).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var norm = MathF.Sqrt(row.Sum(v => v * v));
            return row.Select(v => v / norm);
        }).ToArray();
        NpyWriter.Write(_folder.File("queries.npy"), UnitRows(240), D);
        NpyWriter.Write(_folder.File("corpus.npy"), UnitRows(500), D);
        using var queries = EmbeddingStore.Open(_folder.File("queries.npy"));
        using var corpus = EmbeddingStore.Open(_folder.File("corpus.npy"));
        ExactSearch.Search(queries, corpus, new ExactSearchOptions { K = 8, Device = ComputeDevice.Cpu })
            .SaveNpy(_folder.File("train.ids.npy"), _folder.File("train.scores.npy"));
    }

    public void Dispose() => _folder.Dispose();

    private static async Task<(int ExitCode, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, output);
        return (exitCode, output.ToString());
    }

    private string[] TrainArguments(string output, params string[] extra) =>
    [
        "train", "--queries", _folder.File("queries.npy"), "--corpus", _folder.File("corpus.npy"), "--neighbors", _folder.File("train"),
        "--output", output, "--latents", "64", "--k", "4", "--epochs", "3", "--batch-size", "32", "--neighbors-per-query", "4",
        "--lr", "0.003", "--device", "cpu", .. extra,
    ];

    [Fact]
    public async Task Train_then_encode_in_another_process_gives_the_same_bytes()
    {
        var zip = _folder.File("sae.zip");
        var (trainExit, trainOutput) = await Run(TrainArguments(zip));
        trainExit.Should().Be(0, trainOutput);
        System.Text.RegularExpressions.Regex.Replace(trainOutput, @"\s+", " ").Should().Contain("epoch 3: validation FVU").And.Contain("32 queries a step, on").And.MatchRegex(@"top-10 overlap [01]\.[0-9]{3} \(latents [01]\.[0-9]{3}\)").And.Contain($"Wrote {zip}")
            .And.Contain("The run has 24 steps (8 an epoch); this session took", "228 training queries (240 less the 5 % held out) in steps of 32, 3 epochs")
            .And.Contain("Only 24 steps: on a training set this small, fewer queries a step (--batch-size 16)");

        var (encodeExit, encodeOutput) = await Run("encode", "--model", zip, "--input", _folder.File("corpus.npy"),
            "--latents", _folder.File("in"), "--reconstruction", _folder.File("in-reconstruction"), "--device", "cpu");
        encodeExit.Should().Be(0, encodeOutput);

        var (childExit, childOutput) = await CliProcess.RunAsync("encode", "--model", zip, "--input", _folder.File("corpus.npy"),
            "--latents", _folder.File("out"), "--reconstruction", _folder.File("out-reconstruction"), "--device", "cpu");

        childExit.Should().Be(0, childOutput);
        File.ReadAllBytes(_folder.File("out.latent-values.npy")).Should().Equal(File.ReadAllBytes(_folder.File("in.latent-values.npy")));
        File.ReadAllBytes(_folder.File("out.latent-indices.npy")).Should().Equal(File.ReadAllBytes(_folder.File("in.latent-indices.npy")));
        using var inProcess = EmbeddingStore.Open(_folder.File("in-reconstruction"));
        using var outOfProcess = EmbeddingStore.Open(_folder.File("out-reconstruction"));
        var a = new float[inProcess.RowCount * D];
        var b = new float[outOfProcess.RowCount * D];
        inProcess.ReadRows(0, a);
        outOfProcess.ReadRows(0, b);
        b.Should().Equal(a);
        using var indices = NpyFile.Open(_folder.File("in.latent-indices.npy"));
        indices.Rows.Should().Be(500);
        indices.Columns.Should().Be(4);
    }

    [Fact]
    public async Task Evaluate_writes_table_1_whose_figures_the_written_runs_reproduce()
    {
        var zip = _folder.File("sae.zip");
        File.WriteAllLines(_folder.File("query-ids.txt"), Enumerable.Range(0, 240).Select(q => $"q{q}"));
        File.WriteAllLines(_folder.File("corpus-ids.txt"), Enumerable.Range(0, 500).Select(d => $"d{d}"));
        var random = new Random(3);
        File.WriteAllLines(_folder.File("qrels.txt"), Enumerable.Range(0, 240).SelectMany(q =>
            Enumerable.Range(0, 3).Select(i => $"q{q} 0 d{(q * 7 + i * 131) % 500} {random.Next(0, 3)}")));
        var (trainExit, trainOutput) = await Run(TrainArguments(zip));
        trainExit.Should().Be(0, trainOutput);

        var evaluation = _folder.File("evaluation");
        var (exitCode, output) = await Run("evaluate", "--queries", _folder.File("queries.npy"), "--corpus", _folder.File("corpus.npy"),
            "--query-ids", _folder.File("query-ids.txt"), "--corpus-ids", _folder.File("corpus-ids.txt"), "--qrels", _folder.File("qrels.txt"),
            "--model", zip, "--output", evaluation, "--depth", "100", "--trec", "--device", "cpu");

        exitCode.Should().Be(0, output);
        var qrels = Qrels.Read(_folder.File("qrels.txt"));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(evaluation, "metrics.json")));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        rows.Select(r => r.GetProperty("setting").GetString()).Should().Equal("original", "latent", "reconstructed");
        foreach (var row in rows)
        {
            var fromRun = RetrievalMetrics.Compute(TrecRun.Read(Path.Combine(evaluation, row.GetProperty("setting").GetString() + ".trec")), qrels, order: TrecRunOrder.RankColumn);
            row.GetProperty("mrr").GetDouble().Should().Be(fromRun.MeanReciprocalRank);
            row.GetProperty("ndcg@10").GetDouble().Should().Be(fromRun.NdcgAt(10));
        }

        rows[2].GetProperty("mse").GetDouble().Should().BePositive();
        File.ReadAllText(Path.Combine(evaluation, "table.md")).Should().Contain("| sae | reconstructed |");
    }

    [Fact]
    public async Task Evaluate_without_ids_names_the_option_to_give()
    {
        File.WriteAllText(_folder.File("qrels.txt"), "q0 0 d1 1\n");

        var (exitCode, output) = await Run("evaluate", "--queries", _folder.File("queries.npy"), "--corpus", _folder.File("corpus.npy"),
            "--qrels", _folder.File("qrels.txt"), "--output", _folder.File("evaluation"), "--device", "cpu");

        exitCode.Should().Be(1);
        output.Should().Contain("has no ids.txt beside it; name its ids with --query-ids");
    }

    [Fact]
    public async Task Train_with_resume_picks_up_its_checkpoint_and_saves_the_same_model()
    {
        var checkpoint = _folder.File("sae.ckpt");
        var (straightExit, straightOutput) = await Run(TrainArguments(_folder.File("straight.zip"), "--checkpoint", _folder.File("straight.ckpt")));
        straightExit.Should().Be(0, straightOutput);

        // A finished checkpoint resumed trains nothing more and saves the same model.
        var (firstExit, firstOutput) = await Run(TrainArguments(_folder.File("first.zip"), "--checkpoint", checkpoint));
        var (resumedExit, resumedOutput) = await Run(TrainArguments(_folder.File("resumed.zip"), "--checkpoint", checkpoint, "--resume"));

        firstExit.Should().Be(0, firstOutput);
        resumedExit.Should().Be(0, resumedOutput);
        var (encodeA, _) = await Run("encode", "--model", _folder.File("straight.zip"), "--input", _folder.File("queries.npy"), "--latents", _folder.File("a"), "--device", "cpu");
        var (encodeB, _) = await Run("encode", "--model", _folder.File("resumed.zip"), "--input", _folder.File("queries.npy"), "--latents", _folder.File("b"), "--device", "cpu");
        encodeA.Should().Be(0);
        encodeB.Should().Be(0);
        File.ReadAllBytes(_folder.File("b.latent-values.npy")).Should().Equal(File.ReadAllBytes(_folder.File("a.latent-values.npy")));
    }

    [Fact]
    public async Task Train_with_batchtopk_writes_a_thresholded_model_that_another_process_encodes_alike()
    {
        var zip = _folder.File("batchtopk.zip");
        var (trainExit, trainOutput) = await Run(TrainArguments(zip, "--activation", "batchtopk"));
        trainExit.Should().Be(0, trainOutput);
        System.Text.RegularExpressions.Regex.Replace(trainOutput, @"\s+", " ").Should().Contain("K = 4 on average, BatchTopK, at most 2K");
        using (var model = SparseAutoencoderTransformer.Load(zip, ComputeDevice.Cpu))
        {
            model.Autoencoder.ActiveLatents.Should().Be(8);
            model.Autoencoder.ActivationThreshold.Should().BePositive();
        }

        var (encodeExit, encodeOutput) = await Run("encode", "--model", zip, "--input", _folder.File("corpus.npy"), "--latents", _folder.File("bin"), "--device", "cpu");
        encodeExit.Should().Be(0, encodeOutput);
        System.Text.RegularExpressions.Regex.Replace(encodeOutput, @"\s+", " ").Should().MatchRegex(@"n = 64, at most K = 8 above θ = 0\.[0-9]+\)");
        var (childExit, childOutput) = await CliProcess.RunAsync("encode", "--model", zip, "--input", _folder.File("corpus.npy"), "--latents", _folder.File("bout"), "--device", "cpu");

        childExit.Should().Be(0, childOutput);
        var values = File.ReadAllBytes(_folder.File("bin.latent-values.npy"));
        File.ReadAllBytes(_folder.File("bout.latent-values.npy")).Should().Equal(values);
        using var written = NpyFile.Open(_folder.File("bin.latent-values.npy"));
        written.Columns.Should().Be(8);
        var floats = written.ReadAllSingles();
        var perRow = Enumerable.Range(0, (int)written.Rows).Select(r => floats.AsSpan(r * 8, 8).ToArray().Count(v => v > 0)).ToArray();
        perRow.Distinct().Should().HaveCountGreaterThan(1, "a threshold keeps a different number of latents per vector");
    }

    [Theory]
    [InlineData("--activation", "batchtopk", "--max-active", "4", "--max-active (4) must be above --k (4) and at most --latents (64)")]
    [InlineData("--max-active", "8", null, null, "--max-active applies to --activation batchtopk only")]
    public async Task A_cap_out_of_range_or_without_batchtopk_is_refused(string first, string firstValue, string? second, string? secondValue, string message)
    {
        string[] extra = second is null ? [first, firstValue] : [first, firstValue, second, secondValue!];

        var (exitCode, output) = await Run(TrainArguments(_folder.File("cap.zip"), extra));

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        output.Should().Contain($"error: {message}");
        File.Exists(_folder.File("cap.zip")).Should().BeFalse();
    }

    [Fact]
    public async Task Without_batch_size_the_default_for_K_is_used_and_stated_and_a_batch_size_of_0_is_refused()
    {
        string[] Arguments(string output, string? batchSize)
        {
            var arguments = TrainArguments(output).ToList();
            var at = arguments.IndexOf("--batch-size");
            arguments.RemoveRange(at, 2);
            return batchSize is null ? [.. arguments] : [.. arguments, "--batch-size", batchSize];
        }

        var (exitCode, output) = await Run(Arguments(_folder.File("default.zip"), null));
        exitCode.Should().Be(0, output);
        System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ").Should().Contain("512 queries a step (the default at this K), on");

        var (zeroExit, zeroOutput) = await Run(Arguments(_folder.File("zero.zip"), "0"));
        zeroExit.Should().Be(SaeMlCommandLine.Usage);
        zeroOutput.Should().Contain("--batch-size must be at least 1.");
        File.Exists(_folder.File("zero.zip")).Should().BeFalse();
    }

    [Fact]
    public async Task Resume_without_a_checkpoint_path_is_refused()
    {
        var (exitCode, output) = await Run(TrainArguments(_folder.File("x.zip"), "--resume"));

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        output.Should().Contain("error: --resume needs --checkpoint");
    }

    [Fact]
    public async Task Encode_refuses_a_store_of_another_dimension()
    {
        var zip = _folder.File("sae.zip");
        (await Run(TrainArguments(zip))).ExitCode.Should().Be(0);
        NpyWriter.Write(_folder.File("wide.npy"), new float[2 * 32], 32);

        var (exitCode, output) = await Run("encode", "--model", zip, "--input", _folder.File("wide.npy"), "--latents", _folder.File("w"), "--device", "cpu");

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain($"error: Embedding store '{_folder.File("wide.npy")}' has dimension 32, but the autoencoder reads 16.");
    }
}
