using System.Diagnostics;
using Microsoft.ML;
using SaeMl.Cli;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Demo;
using SaeMl.Embedding;
using Spectre.Console;

namespace SaeMl.Tests.Cli;

public sealed class EmbedCommandTests : IDisposable
{
    private static readonly DemoWorldOptions Small = new() { Documents = 300, Queries = 20, Dimension = 16, Concepts = 40, MaxRelevantPerQuery = 40 };
    private readonly TempFolder _folder = new();

    public EmbedCommandTests() => DemoWorld.Generate(Small).Write(World);

    public void Dispose() => _folder.Dispose();

    private string World => _folder.File("world");

    private string Model => Path.Combine(World, DemoWorld.ModelFile);

    private string Vocabulary => Path.Combine(World, DemoWorld.VocabularyFile);

    private static IAnsiConsole Console(StringWriter output) => TestConsole.Create(output);

    private static async Task<(int ExitCode, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, output);
        return (exitCode, output.ToString());
    }

    private static float[] ReadAll(string store)
    {
        using var opened = EmbeddingStore.Open(store);
        var values = new float[opened.RowCount * opened.Dimension];
        opened.ReadRows(0, values);
        return values;
    }

    [Fact]
    public async Task Embeds_a_beir_corpus_into_a_store_with_its_ids()
    {
        var store = _folder.File("corpus-store");

        var (exitCode, output) = await Run("embed", "--input", World, "--model", Model, "--vocab", Vocabulary, "--output", store, "--rows-per-shard", "128", "--device", "cpu");

        exitCode.Should().Be(0, output);
        var records = BeirReader.ReadCorpus(World).ToList();
        IdIndex.Load(Path.Combine(store, EmbeddingStore.IdsFileName)).Ids.Should().Equal(records.Select(r => r.Id));
        using (var opened = EmbeddingStore.Open(store))
            opened.ShardPaths.Should().HaveCount(3, "300 rows in shards of 128");
        using var embedder = TextEmbedder.Create(new TextEmbedderOptions { ModelPath = Model, VocabularyPath = Vocabulary, Device = ComputeDevice.Cpu });
        ReadAll(store).Should().Equal(embedder.Embed(records.Select(r => r.EmbeddingText)).Cast<float>(), (a, e) => Math.Abs(a - e) < 1e-6f);
        output.Should().Contain("Embedding 300 texts").And.Contain("texts/s");
    }

    [Fact]
    public async Task Embeds_queries_with_a_prefix_from_a_jsonl_file()
    {
        var store = _folder.File("query-store");

        var (exitCode, output) = await Run("embed", "--input", Path.Combine(World, DemoWorld.QueriesFile), "--model", Model, "--vocab", Vocabulary,
            "--output", store, "--prefix", "rain ", "--pooling", "mean", "--float16", "--device", "cpu");

        exitCode.Should().Be(0, output);
        var world = DemoWorld.Generate(Small);
        var first = world.ReferenceEmbedding("rain " + world.Queries[0].Text);
        ReadAll(store)[..Small.Dimension].Should().Equal(first, (a, e) => Math.Abs(a - e) < 2e-3f, "float16 keeps about three decimals");
    }

    [Fact]
    public void An_interrupted_embedding_resumes_after_its_last_complete_shard_and_ends_identical()
    {
        var records = BeirReader.ReadCorpus(World).ToList();
        var ids = IdIndex.Build(records, "corpus");
        using var embedder = TextEmbedder.Create(new TextEmbedderOptions { ModelPath = Model, VocabularyPath = Vocabulary, BatchSize = 2, Device = ComputeDevice.Cpu });
        var interrupted = _folder.File("interrupted");
        var straight = _folder.File("straight");
        var output = new StringWriter();

        // The text stream breaks at record 130: chunks of 32 texts have filled two shards of 50 rows by then.
        void Embed(IEnumerable<TextRecord> texts, string folder) => EmbeddingJob.Run(Console(output), embedder, ids.Count, folder,
            progress => embedder.EmbedToStoreFolder(texts, ids, folder, "job", NpyDataType.Float32, 50, progress));
        var run = () => Embed(FailingAt(records, 130), interrupted);
        run.Should().Throw<IOException>().WithMessage("disk went away");
        EmbeddingStoreWriter.CanResume(interrupted).Should().BeTrue();

        Embed(records, interrupted);
        Embed(records, straight);

        output.ToString().Should().Contain("Resuming").And.Contain("after 100 of 300 texts");
        // Rows after the resume point share their ONNX batches with other rows than in the straight
        // run, and a batch's shape can change the last bits of a product: equal within rounding.
        ReadAll(interrupted).Should().Equal(ReadAll(straight), (a, b) => Math.Abs(a - b) < 1e-6f);
        ReadAll(interrupted)[..(100 * Small.Dimension)].Should().Equal(ReadAll(straight)[..(100 * Small.Dimension)], "the kept shards are the first run's");
    }

    [Fact]
    public async Task A_saved_embed_text_zip_embeds_the_same_bytes_in_a_separate_process()
    {
        var zip = _folder.File("embed.zip");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "rain" } });
        using (var transformer = ml.Transforms.EmbedText("Embedding", "Text", Model, Vocabulary, EmbeddingPooling.Mean, batchSize: 8, device: ComputeDevice.Cpu).Fit(data))
            ml.Model.Save(transformer, data.Schema, zip);

        var inProcess = _folder.File("in-process");
        var (exitCode, output) = await Run("embed", "--input", World, "--model", zip, "--output", inProcess, "--device", "cpu");
        exitCode.Should().Be(0, output);

        var outOfProcess = _folder.File("out-of-process");
        var (childExit, childOutput) = await CliProcess.RunAsync("embed", "--input", World, "--model", zip, "--output", outOfProcess, "--device", "cpu");

        childExit.Should().Be(0, childOutput);
        var shards = Directory.GetFiles(inProcess, "*.npy").Select(Path.GetFileName).Order().ToList();
        Directory.GetFiles(outOfProcess, "*.npy").Select(Path.GetFileName).Order().Should().Equal(shards);
        foreach (var shard in shards)
            File.ReadAllBytes(Path.Combine(outOfProcess, shard!)).Should().Equal(File.ReadAllBytes(Path.Combine(inProcess, shard!)));
    }

    [Fact]
    public async Task A_corrupt_model_zip_is_one_clear_error_not_a_wrapped_stack_trace()
    {
        var zip = _folder.File("corrupt.zip");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "rain" } });
        using (var transformer = ml.Transforms.EmbedText("Embedding", "Text", Model, Vocabulary, device: ComputeDevice.Cpu).Fit(data))
            ml.Model.Save(transformer, data.Schema, zip);
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("model.onnx", StringComparison.Ordinal));
            var name = entry.FullName;
            entry.Delete();
            using var replaced = archive.CreateEntry(name).Open();
            replaced.Write([0, 0, 0, 0, 0, 0, 0, 0]);
        }

        var (exitCode, output) = await Run("embed", "--input", World, "--model", zip, "--output", _folder.File("x"), "--device", "cpu");

        exitCode.Should().Be(CommandAction.Failed);
        output.Should().Contain($"error: '{zip}': The saved EmbedText transformer's 'model.onnx' stream is corrupt").And.NotContain("TargetInvocationException");
    }

    [Fact]
    public void The_job_of_a_beir_folder_stamps_the_file_it_reads()
    {
        TextInputs.FileRead(World, "corpus").Should().Be(Path.Combine(World, "corpus.jsonl"));
        TextInputs.FileRead(World, "queries").Should().Be(Path.Combine(World, "queries.jsonl"));
        TextInputs.FileRead(Path.Combine(World, "corpus.jsonl"), "queries").Should().Be(Path.Combine(World, "corpus.jsonl"));
    }

    [Fact]
    public async Task Embedding_settings_next_to_a_model_zip_are_refused()
    {
        var (exitCode, output) = await Run("embed", "--input", World, "--model", _folder.File("some.zip"), "--pooling", "mean", "--output", _folder.File("x"));

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        output.Should().Contain("error: --pooling is stored in the model zip");
    }

    [Fact]
    public async Task An_onnx_model_without_a_vocabulary_is_refused()
    {
        var (exitCode, output) = await Run("embed", "--input", World, "--model", Model, "--output", _folder.File("x"));

        exitCode.Should().Be(SaeMlCommandLine.Usage);
        output.Should().Contain("error: --vocab is needed with an ONNX model");
    }

    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    private static IEnumerable<TextRecord> FailingAt(IEnumerable<TextRecord> records, int failAt)
    {
        var count = 0;
        foreach (var record in records)
        {
            if (count++ == failAt)
                throw new IOException("disk went away");
            yield return record;
        }
    }
}
