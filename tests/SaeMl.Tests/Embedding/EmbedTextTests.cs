using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Compute;
using SaeMl.Embedding;

namespace SaeMl.Tests.Embedding;

public sealed class EmbedTextTests : IDisposable
{
    private static readonly string[] Words = ["the", "cat", "sat", "on", "mat", "dog", "runs", "fast", "a", "rain"];
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public sealed class Row
    {
        public int Id { get; set; }

        public string? Text { get; set; }
    }

    public sealed class Embedded
    {
        public int Id { get; set; }

        public float[] Embedding { get; set; } = [];
    }

    private (string Model, string Vocabulary) WriteModel()
    {
        var model = _folder.File("model.onnx");
        var vocabulary = _folder.File("vocab.txt");
        File.WriteAllBytes(model, TinyBert.Model());
        TinyBert.WriteVocabulary(vocabulary);
        return (model, vocabulary);
    }

    /// <summary>Texts of 0 to 12 words, so read-ahead batches mix lengths.</summary>
    private static Row[] Rows(int count) => Enumerable.Range(0, count)
        .Select(i => new Row { Id = i, Text = string.Join(' ', Enumerable.Range(0, i % 13).Select(j => Words[(i * 7 + j * 3) % Words.Length])) })
        .ToArray();

    private static void ShouldMatchHandComputed(IEnumerable<Embedded> embedded, Row[] rows, EmbeddingPooling pooling)
    {
        var list = embedded.ToList();
        list.Select(e => e.Id).Should().Equal(rows.Select(r => r.Id), "rows keep their order and their other columns");
        foreach (var (actual, row) in list.Zip(rows))
            actual.Embedding.Should().Equal(TinyBert.Expected(TinyBert.Tokens(row.Text ?? ""), pooling, normalize: true), (a, e) => Math.Abs(a - e) < 1e-5f);
    }

    [Fact]
    public void A_pipeline_embeds_every_row_across_read_ahead_batches_in_row_order()
    {
        var ml = new MLContext(seed: 1);
        var (model, vocabulary) = WriteModel();
        var rows = Rows(75); // batch size 2 reads ahead 32 rows: three batches, the last one short
        var data = ml.Data.LoadFromEnumerable(rows);

        var transformer = ml.Transforms.EmbedText("Embedding", "Text", model, vocabulary, EmbeddingPooling.Mean, batchSize: 2, device: ComputeDevice.Cpu).Fit(data);
        var embedded = ml.Data.CreateEnumerable<Embedded>(transformer.Transform(data), reuseRowObject: false);

        transformer.GetOutputSchema(data.Schema)["Embedding"].Type.Should().Be(new VectorDataViewType(NumberDataViewType.Single, TinyBert.Hidden));
        ShouldMatchHandComputed(embedded, rows, EmbeddingPooling.Mean);
    }

    [Fact]
    public void A_prediction_engine_embeds_one_row_at_a_time()
    {
        var ml = new MLContext(seed: 1);
        var (model, vocabulary) = WriteModel();
        var data = ml.Data.LoadFromEnumerable(Rows(3));
        var transformer = ml.Transforms.EmbedText("Embedding", "Text", model, vocabulary, device: ComputeDevice.Cpu).Fit(data);

        var engine = ml.Model.CreatePredictionEngine<Row, Embedded>(transformer);
        var first = engine.Predict(new Row { Id = 7, Text = "the cat sat" });
        var second = engine.Predict(new Row { Id = 8, Text = "rain" });

        first.Embedding.Should().Equal(TinyBert.Expected(TinyBert.Tokens("the cat sat"), EmbeddingPooling.Cls, true), (a, e) => Math.Abs(a - e) < 1e-5f);
        second.Embedding.Should().Equal(TinyBert.Expected(TinyBert.Tokens("rain"), EmbeddingPooling.Cls, true), (a, e) => Math.Abs(a - e) < 1e-5f);
    }

    [Fact]
    public void A_saved_zip_alone_embeds_identically_in_a_fresh_context()
    {
        var (model, vocabulary) = WriteModel();
        var rows = Rows(20);
        var zip = _folder.File("embed.zip");
        float[][] before;
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var options = new TextEmbedderOptions
            {
                ModelPath = model, VocabularyPath = vocabulary, Pooling = EmbeddingPooling.LastToken, Prefix = "query: ", MaxTokens = 9, BatchSize = 3, Device = ComputeDevice.Cpu,
            };
            using var transformer = ml.Transforms.EmbedText(options).Fit(data);
            before = ml.Data.CreateEnumerable<Embedded>(transformer.Transform(data), false).Select(e => e.Embedding).ToArray();
            ml.Model.Save(transformer, data.Schema, zip);
        }

        File.Delete(model);
        File.Delete(vocabulary);
        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(zip, out var schema);
        var after = fresh.Data.CreateEnumerable<Embedded>(loaded.Transform(fresh.Data.LoadFromEnumerable(rows)), false).Select(e => e.Embedding).ToArray();

        loaded.Should().BeOfType<TextEmbeddingTransformer>().Which.Dimension.Should().Be(TinyBert.Hidden);
        schema["Text"].Type.Should().Be(TextDataViewType.Instance);
        after.Should().BeEquivalentTo(before, options => options.WithStrictOrdering(), "the zip carries the model, the vocabulary and every setting");
        after[5].Should().Equal(before[5]);
    }

    [Fact]
    public void Embed_text_chained_after_built_in_transforms_saves_and_loads()
    {
        var (model, vocabulary) = WriteModel();
        var rows = Rows(10);
        var zip = _folder.File("chain.zip");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.CopyColumns("Copy", "Text")
            .Append(ml.Transforms.EmbedText("Embedding", "Copy", model, vocabulary, EmbeddingPooling.Mean, device: ComputeDevice.Cpu))
            .Append(ml.Transforms.NormalizeMinMax("Scaled", "Embedding"));
        var fitted = pipeline.Fit(data);
        ml.Model.Save(fitted, data.Schema, zip);

        var loaded = new MLContext(seed: 3).Model.Load(zip, out _);
        var scaled = ml.Data.CreateEnumerable<ScaledRow>(loaded.Transform(data), false).ToList();
        var original = ml.Data.CreateEnumerable<ScaledRow>(fitted.Transform(data), false).ToList();

        scaled.Select(r => r.Scaled).Should().BeEquivalentTo(original.Select(r => r.Scaled), o => o.WithStrictOrdering());
        ((TransformerChain<ITransformer>)loaded).Should().Contain(t => t is TextEmbeddingTransformer);
    }

    public sealed class ScaledRow
    {
        public float[] Scaled { get; set; } = [];
    }

    [Fact]
    public void Missing_text_is_embedded_as_the_empty_string()
    {
        var ml = new MLContext(seed: 1);
        var (model, vocabulary) = WriteModel();
        Row[] rows = [new() { Id = 0, Text = null }, new() { Id = 1, Text = "" }];
        var data = ml.Data.LoadFromEnumerable(rows);

        var embedded = ml.Data.CreateEnumerable<Embedded>(ml.Transforms.EmbedText("Embedding", "Text", model, vocabulary, device: ComputeDevice.Cpu).Fit(data).Transform(data), false).ToList();

        embedded[0].Embedding.Should().Equal(embedded[1].Embedding);
        embedded[0].Embedding.Should().Equal(TinyBert.Expected([TinyBert.Cls, TinyBert.Sep], EmbeddingPooling.Cls, true), (a, e) => Math.Abs(a - e) < 1e-5f);
    }

    public sealed class NumberRow
    {
        public float Text { get; set; }
    }

    [Fact]
    public void An_input_column_that_is_missing_or_not_text_is_rejected_in_ml_net_words()
    {
        var ml = new MLContext(seed: 1);
        var (model, vocabulary) = WriteModel();
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Text = 1 } });
        var estimator = ml.Transforms.EmbedText("Embedding", "Text", model, vocabulary, device: ComputeDevice.Cpu);
        var missing = ml.Transforms.EmbedText("Embedding", "Body", model, vocabulary, device: ComputeDevice.Cpu);

        estimator.Invoking(e => e.Fit(numbers)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("Schema mismatch for input column 'Text': expected Text, got Single*");
        missing.Invoking(e => e.Fit(numbers)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("Could not find input column 'Body'*");
    }

    [Fact]
    public void A_zip_whose_model_bytes_were_altered_is_reported_before_onnx_runtime_sees_them()
    {
        var zip = SaveSmallModel();
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("model.onnx", StringComparison.Ordinal));
            byte[] bytes;
            using (var stream = entry.Open())
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            bytes[^10] ^= 0xFF;
            entry.Delete();
            using var replaced = archive.CreateEntry(entry.FullName).Open();
            replaced.Write(bytes);
        }

        var load = () => new MLContext().Model.Load(zip, out _);

        load.Should().Throw<Exception>().Where(e => Flatten(e).Any(m => m.Contains("'model.onnx' stream is corrupt: its bytes do not match their SHA-256 hash")));
    }

    [Fact]
    public void A_truncated_zip_fails_to_load_with_a_format_error_not_a_crash()
    {
        var zip = SaveSmallModel();
        var bytes = File.ReadAllBytes(zip);
        File.WriteAllBytes(zip, bytes[..(bytes.Length / 2)]);

        var load = () => new MLContext().Model.Load(zip, out _);

        load.Should().Throw<FormatException>().WithMessage("Failed to open a zip archive*")
            .WithInnerException<InvalidDataException>();
    }

    [Fact]
    public void A_loaded_transform_runs_on_auto_and_can_be_moved_to_another_device()
    {
        var zip = SaveSmallModel();
        var loaded = (TextEmbeddingTransformer)new MLContext().Model.Load(zip, out _);

        using var onCpu = loaded.WithDevice(ComputeDevice.Cpu);
        var onMissingGpu = () => loaded.WithDevice(ComputeDevice.Cuda());

        loaded.Embedder.Device.Should().Be(ComputeDevice.Cpu, "auto falls back to the CPU on a machine without CUDA");
        onCpu.Embedder.Device.Should().Be(ComputeDevice.Cpu);
        onCpu.Embedder.Embed(["rain"]).Cast<float>().Should().Equal(loaded.Embedder.Embed(["rain"]).Cast<float>());
        onMissingGpu.Should().Throw<InvalidOperationException>().WithMessage("Device 'cuda:0' was requested*");
        loaded.Dispose();
    }

    private string SaveSmallModel()
    {
        var (model, vocabulary) = WriteModel();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(2));
        var zip = _folder.File($"small-{Guid.NewGuid():N}.zip");
        ml.Model.Save(ml.Transforms.EmbedText("Embedding", "Text", model, vocabulary, device: ComputeDevice.Cpu).Fit(data), data.Schema, zip);
        return zip;
    }

    private static IEnumerable<string> Flatten(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            yield return e.Message;
    }
}
