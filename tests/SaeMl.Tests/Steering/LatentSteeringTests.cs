using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Steering;
using SaeMl.Tests.Cli;

namespace SaeMl.Tests.Steering;

public sealed class LatentSteeringTests : IDisposable
{
    private const int D = 16, N = 64, K = 4;
    private readonly TempFolder _folder = new();
    private readonly SparseAutoencoder _autoencoder = SparseAutoencoder.Initialize(D, N, K, new float[D], seed: 5, ComputeDevice.Cpu);
    private readonly float[] _rows = Gaussian(40, seed: 9);

    public void Dispose()
    {
        _autoencoder.Dispose();
        _folder.Dispose();
    }

    private static float[] Gaussian(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * D).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    public sealed class Row
    {
        [VectorType(D)]
        public float[] Embedding { get; set; } = [];
    }

    public sealed class Steered
    {
        [VectorType(D)]
        public float[] Output { get; set; } = [];

        [VectorType(N)]
        public VBuffer<float> Latents { get; set; }
    }

    private IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, _rows.Length / D).Select(r => new Row { Embedding = _rows[(r * D)..((r + 1) * D)] }));

    private LatentSteeringTransformer Fit(SteeringPlan plan, SteeringMode mode = SteeringMode.ErrorPreserving, bool normalize = false)
    {
        var ml = new MLContext(seed: 1);
        return ml.Transforms.SteerLatents(_autoencoder, new LatentSteeringOptions
        {
            OutputColumnName = "Output", InputColumnName = "Embedding", LatentColumnName = "Latents", Plan = plan, Mode = mode, Normalize = normalize,
        }).Fit(Data(ml));
    }

    private List<Steered> Run(LatentSteeringTransformer transformer)
    {
        var ml = new MLContext(seed: 1);
        return ml.Data.CreateEnumerable<Steered>(transformer.Transform(Data(ml)), reuseRowObject: false).ToList();
    }

    private float[] Direction(int latent) => _autoencoder.GetWeights().DecoderWeight[(latent * D)..((latent + 1) * D)];

    /// <summary>A latent no row uses and one the first row uses.</summary>
    private (int Unused, int UsedByFirstRow) Latents()
    {
        var codes = _autoencoder.Encode(_rows);
        var used = codes.Indices.ToHashSet();
        return (Enumerable.Range(0, N).First(j => !used.Contains(j)), codes.IndicesOf(0)[0]);
    }

    [Fact]
    public void An_empty_plan_returns_each_input_bitwise_in_error_preserving_mode_and_the_reconstruction_in_decode_mode()
    {
        using var preserving = Fit(SteeringPlan.Empty);
        using var decoding = Fit(SteeringPlan.Empty, SteeringMode.Decode);

        Run(preserving).SelectMany(r => r.Output).Should().Equal(_rows);
        Run(decoding).SelectMany(r => r.Output).Should().Equal(_autoencoder.Reconstruct(_rows));
        preserving.Steer(_rows).Should().Equal(_rows);
    }

    [Theory]
    [InlineData(SteeringMode.ErrorPreserving)]
    [InlineData(SteeringMode.Decode)]
    public void Adding_alpha_to_a_latent_moves_the_output_by_alpha_times_its_decoder_direction(SteeringMode mode)
    {
        var (unused, _) = Latents();
        const float alpha = 0.75f;
        using var steered = Fit(SteeringPlan.Empty.Then(LatentEdit.Add(unused, alpha)), mode);

        var results = Run(steered);

        var baseline = mode == SteeringMode.ErrorPreserving ? _rows : _autoencoder.Reconstruct(_rows);
        var direction = Direction(unused);
        for (var row = 0; row < results.Count; row++)
        {
            for (var i = 0; i < D; i++)
                results[row].Output[i].Should().BeApproximately(baseline[row * D + i] + alpha * direction[i], 1e-6f);
            results[row].Latents.GetIndices().ToArray().Should().Contain(unused, "an edit may switch on a latent the row did not use");
            results[row].Latents.GetValues().ToArray()[results[row].Latents.GetIndices().IndexOf(unused)].Should().Be(alpha);
        }
    }

    [Fact]
    public void Ablating_an_unused_latent_changes_nothing_and_ablating_a_used_one_removes_exactly_its_part()
    {
        var (unused, used) = Latents();
        using var noOp = Fit(SteeringPlan.Empty.Then(LatentEdit.Ablate(unused)));
        using var ablated = Fit(SteeringPlan.Empty.Then(LatentEdit.Ablate(used)));

        Run(noOp).SelectMany(r => r.Output).Should().Equal(_rows);
        var first = Run(ablated)[0];
        var activation = _autoencoder.Encode(_rows.AsSpan(0, D)).ValuesOf(0)[0];
        var direction = Direction(used);
        for (var i = 0; i < D; i++)
            first.Output[i].Should().BeApproximately(_rows[i] - activation * direction[i], 1e-6f);
        first.Latents.GetIndices().ToArray().Should().NotContain(used).And.HaveCount(K - 1);
    }

    [Fact]
    public void Scale_and_set_apply_in_order_and_the_output_can_be_normalised()
    {
        var (_, used) = Latents();
        var activation = _autoencoder.Encode(_rows.AsSpan(0, D)).ValuesOf(0)[0];
        using var scaled = Fit(SteeringPlan.Empty.Then(LatentEdit.Scale(used, 3)).Then(LatentEdit.Add(used, 0.5f)));
        using var set = Fit(SteeringPlan.Empty.Then(LatentEdit.Set(used, 2)), normalize: true);

        var scaledFirst = Run(scaled)[0];
        scaledFirst.Latents.GetValues().ToArray()[scaledFirst.Latents.GetIndices().IndexOf(used)].Should().BeApproximately(3 * activation + 0.5f, 1e-6f);
        var setFirst = Run(set)[0];
        setFirst.Latents.GetValues().ToArray()[setFirst.Latents.GetIndices().IndexOf(used)].Should().Be(2);
        MathF.Sqrt(setFirst.Output.Sum(v => v * v)).Should().BeApproximately(1, 1e-5f);
    }

    [Fact]
    public void A_relative_edit_scales_by_the_latent_mean_nonzero_activation_over_the_fitted_data()
    {
        var codes = _autoencoder.Encode(_rows);
        var (latent, mean) = Enumerable.Range(0, N)
            .Select(j => (j, Values: Enumerable.Range(0, codes.Rows).Select(r => (codes.IndicesOf(r).ToArray(), codes.ValuesOf(r).ToArray()))
                .Where(p => p.Item1.Contains(j)).Select(p => (double)p.Item2[Array.IndexOf(p.Item1, j)]).Where(v => v > 0).ToList()))
            .Where(p => p.Values.Count > 0).Select(p => (p.j, p.Values.Average())).First();
        var (unused, _) = Latents();

        using var relative = Fit(SteeringPlan.Empty.Then(LatentEdit.Add(latent, 2, relative: true)));
        var never = () => Fit(SteeringPlan.Empty.Then(LatentEdit.Add(unused, 2, relative: true)));

        relative.TypicalActivations[0].Should().BeApproximately((float)mean, 1e-5f);
        var first = Run(relative)[0];
        var before = codes.IndicesOf(0).IndexOf(latent) is var at and >= 0 ? codes.ValuesOf(0)[at] : 0;
        first.Latents.GetValues().ToArray()[first.Latents.GetIndices().IndexOf(latent)].Should().BeApproximately(before + 2 * (float)mean, 1e-5f);
        never.Should().Throw<ArgumentException>().WithMessage($"Latent {unused} never fires on the data SteerLatents was fitted on*");
    }

    [Theory]
    [InlineData("latent", $"The Add edit names latent 64, but the autoencoder has latents 0 to 63.")]
    [InlineData("nan", "The Add edit of latent 3 has the value NaN; it must be a finite number.")]
    [InlineData("negative set", "The Set edit of latent 3 has the value -1; activations are never negative, so it must be 0 or more.")]
    [InlineData("relative scale", "The Scale edit of latent 3 is marked relative; only Add and Set values can be relative*")]
    public void A_plan_the_autoencoder_cannot_take_is_refused_naming_the_value_and_what_was_expected(string problem, string expected)
    {
        var edit = problem switch
        {
            "latent" => LatentEdit.Add(N, 1),
            "nan" => LatentEdit.Add(3, float.NaN),
            "negative set" => LatentEdit.Set(3, -1),
            _ => new LatentEdit(3, LatentEditKind.Scale, 2, Relative: true),
        };

        var create = () => new MLContext().Transforms.SteerLatents(_autoencoder, new LatentSteeringOptions { Plan = SteeringPlan.Empty.Then(edit) });

        create.Should().Throw<ArgumentException>().WithMessage(expected);
    }

    [Fact]
    public void Text_embed_steer_saves_as_one_pipeline_that_loads_in_a_fresh_context_with_identical_outputs()
    {
        var world = _folder.File("world");
        DemoWorld.Generate(new DemoWorldOptions { Documents = 60, Queries = 5, Dimension = D, Concepts = 40, MaxRelevantPerQuery = 10 }).Write(world);
        var ml = new MLContext(seed: 1);
        var texts = ml.Data.LoadFromEnumerable(new[] { "rain and snow", "markets fell", "the river floods", "a quiet library" }.Select(t => new TextRow { Text = t }));
        var (unused, _) = Latents();
        var pipeline = ml.Transforms.EmbedText("Embedding", "Text", Path.Combine(world, DemoWorld.ModelFile), Path.Combine(world, DemoWorld.VocabularyFile), device: ComputeDevice.Cpu)
            .Append(ml.Transforms.SteerLatents(_autoencoder, new LatentSteeringOptions
            {
                OutputColumnName = "Steered", InputColumnName = "Embedding", Plan = SteeringPlan.Empty.Then(LatentEdit.Add(unused, 0.4f)).Then(LatentEdit.Ablate(3)), Normalize = true,
            }));
        var fitted = pipeline.Fit(texts);
        var zip = _folder.File("steer.zip");
        ml.Model.Save(fitted, texts.Schema, zip);
        var before = fitted.Transform(texts).GetColumn<float[]>("Steered").ToList();

        var fresh = new MLContext(seed: 7);
        var loaded = fresh.Model.Load(zip, out _);
        var after = loaded.Transform(fresh.Data.LoadFromEnumerable(new[] { "rain and snow", "markets fell", "the river floods", "a quiet library" }.Select(t => new TextRow { Text = t })))
            .GetColumn<float[]>("Steered").ToList();

        after.Should().HaveCount(4);
        for (var i = 0; i < before.Count; i++)
            after[i].Should().Equal(before[i]);
        ((IEnumerable<ITransformer>)loaded).OfType<LatentSteeringTransformer>().Single().Plan.ToString().Should().Be($"add {unused} 0.4, ablate 3");

        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("decoder_weight.bin", StringComparison.Ordinal));
            using var stream = entry.Open();
            stream.Position = 60;
            stream.WriteByte(0x7F);
        }

        var load = () => new MLContext().Model.Load(zip, out _);
        load.Should().Throw<Exception>().Which.GetBaseException().Message.Should().Be(
            "The saved SteerLatents transformer's 'decoder_weight.bin' stream is corrupt: its bytes do not match their SHA-256 hash.");
    }

    [Fact]
    public async Task A_saved_text_embed_steer_pipeline_gives_identical_vectors_in_a_fresh_process_and_a_damaged_zip_is_refused()
    {
        // The examples app trains, saves and prints on its first run, and only loads and prints on the next: two processes.
        var folder = _folder.File("example");
        var saved = await CliProcess.RunExampleAsync("steer-text", folder);
        var loaded = await CliProcess.RunExampleAsync("steer-text", folder);

        saved.ExitCode.Should().Be(0, saved.Error);
        loaded.ExitCode.Should().Be(0, loaded.Error);
        var zip = Path.Combine(folder, "steered-embedder.zip");
        saved.Output.Should().StartWith($"saved {zip}");
        loaded.Output.Should().StartWith($"loaded {zip}");
        static string[] Vectors(string output) => [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)];
        Vectors(saved.Output).Should().HaveCount(3).And.OnlyContain(line => line.Contains("sha256"));
        Vectors(loaded.Output).Should().Equal(Vectors(saved.Output), "the loaded pipeline embeds and steers bit for bit as the saved one did");

        var bytes = File.ReadAllBytes(zip);
        File.WriteAllBytes(zip, bytes[..(bytes.Length / 2)]);
        var truncated = await CliProcess.RunExampleAsync("steer-text", folder);
        truncated.ExitCode.Should().NotBe(0);
        truncated.Error.Should().Contain("Failed to open a zip archive");
    }

    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }
}
