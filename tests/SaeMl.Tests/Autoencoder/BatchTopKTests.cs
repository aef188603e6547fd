using SaeMl.Autoencoder;
using SaeMl.Compute;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

public sealed class BatchTopKTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>d = n = 4, encoder and decoder the identity, biases 0: a vector's pre-activations are its own values.</summary>
    private static SaeWeights Identity()
    {
        var identity = new float[16];
        for (var i = 0; i < 4; i++)
            identity[i * 4 + i] = 1;
        return new SaeWeights(4, 4, identity, new float[4], (float[])identity.Clone(), new float[4]);
    }

    private static readonly float[] ThreeRows =
    [
        0.9f, 0.1f, 0.05f, 0,
        0.5f, 0.4f, 0.3f, 0.2f,
        0.02f, 0.01f, 0, 0,
    ];

    [Fact]
    public void Training_keeps_the_batchs_N_times_K_largest_activations_whichever_rows_hold_them_and_only_they_get_gradients()
    {
        using var model = SparseAutoencoder.FromWeights(Identity(), activeLatents: 3, ComputeDevice.Cpu);
        using var scope = NewDisposeScope();
        model.EncoderBias.requires_grad_(true);
        var rows = tensor(ThreeRows, [3, 4]);
        var settings = new SaeObjectiveSettings(KLWeight: 0, Temperature: 1, AuxKWeight: 0, AuxKLatents: 1, BatchActiveLatents: 1);

        var loss = SaeObjective.Compute(model, rows, documents: null, neighbors: 0, settings, deadLatents: null, deadCount: 0);

        // Budget 3 · 1: the batch's three largest are 0.9 (row 0), 0.5 and 0.4 (row 1); row 2 keeps none.
        var kept = Kept(loss.Values);
        kept.Should().BeEquivalentTo(new[] { (0, 0, 0.9f), (1, 0, 0.5f), (1, 1, 0.4f) });
        loss.BatchThreshold!.item<float>().Should().Be(0.4f);
        loss.Values.sum().backward();
        model.EncoderBias.grad!.data<float>().ToArray().Should().Equal([2f, 1f, 0f, 0f], "∂Σh/∂b_enc[j] counts the kept activations of latent j: 0.9 and 0.5 of latent 0, 0.4 of latent 1; the dropped 0.3, 0.1, 0.05, 0.02 and 0.01 give none");
        model.EncoderBias.requires_grad_(false);

        using var noThreshold = NewDisposeScope();
        var perRow = SaeObjective.Compute(model, rows, null, 0, settings with { BatchActiveLatents = 0 }, null, 0);
        Kept(perRow.Values).Should().HaveCount(8, "the control: without BatchTopK every row keeps its 3 largest positive activations");
        perRow.BatchThreshold.Should().BeNull();
    }

    [Fact]
    public void A_trained_autoencoder_keeps_of_its_K_largest_only_the_activations_above_its_threshold()
    {
        using var thresholded = SparseAutoencoder.FromWeights(Identity(), activeLatents: 3, activationThreshold: 0.35f, ComputeDevice.Cpu);
        using var plain = SparseAutoencoder.FromWeights(Identity(), activeLatents: 3, ComputeDevice.Cpu);

        var codes = thresholded.Encode(ThreeRows);
        var control = plain.Encode(ThreeRows);

        codes.ActiveLatents.Should().Be(3);
        codes.ValuesOf(0).ToArray().Should().Equal(0.9f, 0, 0);
        codes.ValuesOf(1).ToArray().Should().Equal(0.5f, 0.4f, 0);
        codes.ValuesOf(2).ToArray().Should().OnlyContain(v => v == 0);
        control.ValuesOf(1).ToArray().Should().Equal(0.5f, 0.4f, 0.3f);
        thresholded.Reconstruct(ThreeRows).Should().Equal(0.9f, 0, 0, 0, 0.5f, 0.4f, 0, 0, 0, 0, 0, 0);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void A_threshold_that_is_negative_or_not_finite_is_refused(float threshold)
    {
        var create = () => SparseAutoencoder.FromWeights(Identity(), 2, threshold, ComputeDevice.Cpu);

        create.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*activation threshold must be 0 or positive and finite*");
    }

    /// <summary>Vectors mixing either 2 or 6 of the unit atoms (alternately) with weights in [0.5, 1.5), plus noise: data whose vectors need different numbers of latents, each of the same size.</summary>
    private static (float[] Data, int[] Atoms) MixturesOfTwoOrSix(Random random, float[] dictionary, int atomCount, int d, int vectors)
    {
        var data = new float[vectors * d];
        var counts = new int[vectors];
        for (var v = 0; v < vectors; v++)
        {
            counts[v] = v % 2 == 0 ? 2 : 6;
            var x = new double[d];
            foreach (var atom in Enumerable.Range(0, atomCount).OrderBy(_ => random.Next()).Take(counts[v]))
            {
                var weight = 0.5 + random.NextDouble();
                for (var j = 0; j < d; j++)
                    x[j] += weight * dictionary[atom * d + j];
            }

            for (var j = 0; j < d; j++)
                data[v * d + j] = (float)(x[j] + 0.01 * (random.NextDouble() - 0.5));
        }

        return (data, counts);
    }

    [Fact]
    public void BatchTopK_gives_vectors_that_mix_more_atoms_more_latents_K_on_average_and_reconstructs_better_than_TopK()
    {
        const int d = 64, atoms = 32, n = 64, k = 4;
        var random = new Random(3);
        var dictionary = Enumerable.Range(0, atoms * d).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        for (var atom = 0; atom < atoms; atom++)
        {
            var row = dictionary.AsSpan(atom * d, d);
            var norm = MathF.Sqrt(row.ToArray().Sum(v => v * v));
            foreach (ref var value in row)
                value /= norm;
        }

        var (data, atomCounts) = MixturesOfTwoOrSix(random, dictionary, atoms, d, vectors: 4_000);
        SparseAutoencoderOptions Options(SparseActivation activation) => new()
        {
            LatentSize = n, ActiveLatents = k, Activation = activation, BatchSize = 256, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 10, LearningRate = 4e-3f,
            ValidationFraction = 0, Seed = 1, Device = ComputeDevice.Cpu,
        };
        var batchTrainer = new SparseAutoencoderTrainer(Options(SparseActivation.BatchTopK));
        var topKTrainer = new SparseAutoencoderTrainer(Options(SparseActivation.TopK));

        using var batchTopK = batchTrainer.Train(SaeTrainingData.FromArrays(data, d));
        using var topK = topKTrainer.Train(SaeTrainingData.FromArrays(data, d));

        batchTopK.ActiveLatents.Should().Be(2 * k, "the default cap is 2K latents per vector");
        batchTopK.ActivationThreshold.Should().BePositive();
        topK.ActivationThreshold.Should().Be(0);
        var codes = batchTopK.Encode(data);
        var active = Enumerable.Range(0, codes.Rows).Select(r => codes.ValuesOf(r).ToArray().Count(v => v > 0)).ToArray();
        active.Average().Should().BeInRange(0.95 * k, 1.05 * k, "the threshold is the mean of the last epoch's batch thresholds, which kept K per vector");
        var (few, many) = (Enumerable.Range(0, active.Length).Where(r => atomCounts[r] == 2).Average(r => active[r]), Enumerable.Range(0, active.Length).Where(r => atomCounts[r] == 6).Average(r => active[r]));
        many.Should().BeGreaterThan(few + 2, "a vector of six atoms takes more latents than one of two");
        batchTrainer.History[^1].L0.Should().BeApproximately(active.Average(), 1e-9, "validation (here over every training vector) measures what the model encodes, θ included");
        batchTrainer.History[^1].Fvu.Should().BeLessThan(topKTrainer.History[^1].Fvu, $"at the same mean L0, latents go where the residual is ({batchTrainer.History[^1].Fvu} against {topKTrainer.History[^1].Fvu})");
    }

    [Fact]
    public void Stopped_mid_epoch_and_resumed_BatchTopK_training_equals_a_straight_run_threshold_included()
    {
        SparseAutoencoderOptions Options(string checkpoint) => new()
        {
            LatentSize = 64, ActiveLatents = 4, Activation = SparseActivation.BatchTopK, MaxActiveLatents = 12, BatchSize = 32, NeighborsPerQuery = 3, Epochs = 3,
            LearningRate = 3e-3f, KLWeight = 0.5f, Temperature = 0.1f, ValidationFraction = 0.1f, Seed = 5, Device = ComputeDevice.Cpu,
            CheckpointPath = checkpoint, CheckpointEverySteps = 4, Resume = true,
        };
        SaeTrainingData Data()
        {
            var random = new Random(2);
            float[] Rows(int count) => Enumerable.Range(0, count * 16).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            return SaeTrainingData.FromArrays(Rows(300), 16, Rows(900), neighborsPerQuery: 3);
        }

        var straightTrainer = new SparseAutoencoderTrainer(Options(_folder.File("straight.ckpt")));
        using var straight = straightTrainer.Train(Data());
        var checkpoint = _folder.File("stopped.ckpt");
        using var stop = new CancellationTokenSource();
        var stopAtStep14 = new CallbackProgress<SaeTrainingProgress>(p =>
        {
            if (p.Step == 14)
                stop.Cancel();
        });
        var first = () => new SparseAutoencoderTrainer(Options(checkpoint)).Train(Data(), stopAtStep14, stop.Token);
        first.Should().Throw<OperationCanceledException>();
        var resumedTrainer = new SparseAutoencoderTrainer(Options(checkpoint));
        var steps = new List<long>();
        using var resumed = resumedTrainer.Train(Data(), new CallbackProgress<SaeTrainingProgress>(p => steps.Add(p.Step)));

        steps[0].Should().Be(13, "the last checkpoint was written after step 12, the third of epoch 2 (9 steps per epoch)");
        resumed.ActivationThreshold.Should().BePositive().And.Be(straight.ActivationThreshold);
        resumed.ActiveLatents.Should().Be(12);
        resumed.GetWeights().EncoderWeight.Should().Equal(straight.GetWeights().EncoderWeight);
        resumedTrainer.History.Should().Equal(straightTrainer.History);
    }

    [Fact]
    public void The_threshold_survives_a_zip_and_a_zip_written_before_thresholds_loads_as_TopK()
    {
        var zip = _folder.File("batchtopk.zip");
        using (var written = SparseAutoencoderTransformer.FromAutoencoder(SparseAutoencoder.FromWeights(Identity(), 3, 0.35f, ComputeDevice.Cpu)))
            written.Save(zip);

        using var loaded = SparseAutoencoderTransformer.Load(zip, ComputeDevice.Cpu);
        using var old = SparseAutoencoderTransformer.Load(Path.Combine(AppContext.BaseDirectory, "Autoencoder", "Fixtures", "sae-format-0x00010001.zip"), ComputeDevice.Cpu);

        loaded.Autoencoder.ActivationThreshold.Should().Be(0.35f);
        loaded.Autoencoder.Encode(ThreeRows).ValuesOf(1).ToArray().Should().Equal(0.5f, 0.4f, 0);
        old.Autoencoder.ActivationThreshold.Should().Be(0, "format 0x00010001 had no threshold");
        old.Autoencoder.ActiveLatents.Should().Be(2);
        // The fixture's weights: encoder rows e1, e2, e3 and (0.5, 0.5, 0); biases 0.1, −0.2, 0, 0.05; b_dec (0.01, 0.02, −0.03).
        var codes = old.Autoencoder.Encode([1.01f, 0.52f, -0.03f]);
        codes.IndicesOf(0).ToArray().Should().Equal(0, 3);
        codes.ValuesOf(0)[0].Should().BeApproximately(1.1f, 1e-6f);
        codes.ValuesOf(0)[1].Should().BeApproximately(0.8f, 1e-6f);
    }

    [Fact]
    public void A_cap_not_above_K_or_above_n_and_K_equal_to_n_are_refused_by_name()
    {
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 4, Activation = SparseActivation.BatchTopK, MaxActiveLatents = 4, NeighborsPerQuery = 0, KLWeight = 0 });
        var tooMany = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 4, Activation = SparseActivation.BatchTopK, MaxActiveLatents = 17, NeighborsPerQuery = 0, KLWeight = 0 });
        var data = SaeTrainingData.FromArrays(new float[40], 4);

        trainer.Invoking(t => t.Train(data)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("MaxActiveLatents must be above ActiveLatents (4) and at most LatentSize (16)*");
        tooMany.Invoking(t => t.Train(data)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("MaxActiveLatents");
        var everyLatent = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 16, Activation = SparseActivation.BatchTopK, NeighborsPerQuery = 0, KLWeight = 0 });
        everyLatent.Invoking(t => t.Train(data)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("ActiveLatents must be below LatentSize (16) with BatchTopK*", "the default cap, 2K at most n, would leave no room above K");
        var topK = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 16, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 1 });
        topK.Invoking(t => t.Train(data)).Should().NotThrow("the control: TopK may keep every latent");
    }

    /// <summary>(row, slot, value) of every non-zero value.</summary>
    private static List<(int Row, int Slot, float Value)> Kept(Tensor values)
    {
        var (rows, slots) = ((int)values.shape[0], (int)values.shape[1]);
        var host = values.detach().contiguous().data<float>().ToArray();
        var result = new List<(int, int, float)>();
        for (var r = 0; r < rows; r++)
        {
            for (var s = 0; s < slots; s++)
            {
                if (host[r * slots + s] != 0)
                    result.Add((r, s, host[r * slots + s]));
            }
        }

        return result;
    }
}
