using SaeMl.Autoencoder;
using SaeMl.Compute;

namespace SaeMl.Tests.Autoencoder;

public sealed class SparseAutoencoderTrainerTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static double Normal(Random random)
    {
        var sum = 0.0;
        for (var i = 0; i < 12; i++)
            sum += random.NextDouble();
        return sum - 6;
    }

    private static float[] UnitRows(Random random, int rows, int dimension)
    {
        var values = new float[rows * dimension];
        for (var r = 0; r < rows; r++)
        {
            var row = Enumerable.Range(0, dimension).Select(_ => Normal(random)).ToArray();
            var norm = Math.Sqrt(row.Sum(x => x * x));
            for (var j = 0; j < dimension; j++)
                values[r * dimension + j] = (float)(row[j] / norm);
        }

        return values;
    }

    /// <summary>Unit vectors that each mix 4 of the atoms with weights in [0.5, 1.5), plus noise of 0.01 per value.</summary>
    private static float[] SparseMixtures(Random random, float[] atoms, int atomCount, int dimension, int vectors)
    {
        var data = new float[vectors * dimension];
        for (var v = 0; v < vectors; v++)
        {
            var x = new double[dimension];
            foreach (var atom in Enumerable.Range(0, atomCount).OrderBy(_ => random.Next()).Take(4))
            {
                var weight = 0.5 + random.NextDouble();
                for (var j = 0; j < dimension; j++)
                    x[j] += weight * atoms[atom * dimension + j];
            }

            for (var j = 0; j < dimension; j++)
                x[j] += 0.01 * Normal(random);
            var norm = Math.Sqrt(x.Sum(z => z * z));
            for (var j = 0; j < dimension; j++)
                data[v * dimension + j] = (float)(x[j] / norm);
        }

        return data;
    }

    [Fact]
    public void Recovers_the_atoms_of_a_known_sparse_dictionary()
    {
        const int d = 64, atoms = 256, n = 512;
        var random = new Random(11);
        var dictionary = UnitRows(random, atoms, d);
        var data = SparseMixtures(random, dictionary, atoms, d, vectors: 20_000);
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
        {
            LatentSize = n, ActiveLatents = 8, BatchSize = 512, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 20, LearningRate = 4e-3f, Seed = 1, Device = ComputeDevice.Cpu,
        });

        using var model = trainer.Train(SaeTrainingData.FromArrays(data, d));

        var decoder = model.GetWeights().DecoderWeight;
        var recovered = Enumerable.Range(0, atoms).Count(atom => Enumerable.Range(0, n)
            .Max(latent => Enumerable.Range(0, d).Sum(j => (double)dictionary[atom * d + j] * decoder[latent * d + j])) >= 0.9);
        recovered.Should().BeGreaterThanOrEqualTo((int)(0.9 * atoms), "a TopK SAE recovers the atoms of sparse mixtures");
        trainer.History.Should().HaveCount(20);
        trainer.History[^1].Fvu.Should().BeLessThan(trainer.History[0].Fvu);
        trainer.History.Should().OnlyContain(h => h.L0 <= 8);
        trainer.History.Should().OnlyContain(h => double.IsNaN(h.Top10Overlap) && double.IsNaN(h.LatentTop10Overlap), "without neighbour documents there is nothing to rank");
    }

    [Fact]
    public void Validation_top_10_overlaps_equal_a_brute_force_ranking_of_the_validation_pool()
    {
        const int d = 16, queryCount = 60, m = 4;
        var random = new Random(7);
        var (queries, documents) = (UnitRows(random, queryCount, d), UnitRows(random, queryCount * m, d));
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
        {
            LatentSize = 32, ActiveLatents = 8, BatchSize = 16, NeighborsPerQuery = m, Epochs = 3, KLWeight = 0.1f, ValidationFraction = 0, Seed = 3, Device = ComputeDevice.Cpu,
        });

        using var model = trainer.Train(SaeTrainingData.FromArrays(queries, d, documents, m));

        // One validation pool (up to 512 queries, whatever the training batch of 16) holds every query, so each ranks all 240 documents.
        var (queryCodes, documentCodes) = (model.Encode(queries), model.Encode(documents));
        var (queryRebuilt, documentRebuilt) = (model.Decode(queryCodes), model.Decode(documentCodes));
        double Dot(float[] a, int i, float[] b, int j) => Enumerable.Range(0, d).Sum(k => (double)a[i * d + k] * b[j * d + k]);
        double Latent(int i, int j)
        {
            var query = Enumerable.Range(0, 8).ToDictionary(k => queryCodes.IndicesOf(i)[k], k => (double)queryCodes.ValuesOf(i)[k]);
            return Enumerable.Range(0, 8).Sum(k => query.GetValueOrDefault(documentCodes.IndicesOf(j)[k]) * documentCodes.ValuesOf(j)[k]);
        }

        int[] Top(Func<int, double> score) => [.. Enumerable.Range(0, queryCount * m).OrderByDescending(score).Take(10)];
        double Overlap(Func<int, int, double> other) => Enumerable.Range(0, queryCount)
            .Average(i => Top(j => Dot(queries, i, documents, j)).Intersect(Top(j => other(i, j))).Count() / 10.0);
        var metrics = trainer.History[^1];
        metrics.Top10Overlap.Should().BeApproximately(Overlap((i, j) => Dot(queryRebuilt, i, documentRebuilt, j)), 1e-9);
        metrics.LatentTop10Overlap.Should().BeApproximately(Overlap(Latent), 1e-9);
        metrics.Top10Overlap.Should().BeInRange(0.1, 0.99, "a small, briefly trained autoencoder keeps some of the ranking, not all");
    }

    private static SaeTrainingData QueriesWithNeighbors(int seed)
    {
        var random = new Random(seed);
        return SaeTrainingData.FromArrays(UnitRows(random, 300, 16), 16, UnitRows(random, 300 * 3, 16), neighborsPerQuery: 3);
    }

    private SparseAutoencoderOptions ResumableOptions(string checkpoint) => new()
    {
        LatentSize = 64, ActiveLatents = 4, BatchSize = 32, NeighborsPerQuery = 3, Epochs = 4, LearningRate = 3e-3f, KLWeight = 0.5f, Temperature = 0.1f,
        DeadAfterVectors = 500, ValidationFraction = 0.1f, Seed = 5, Device = ComputeDevice.Cpu, CheckpointPath = checkpoint, Resume = true,
    };

    /// <summary>Trains with <see cref="ResumableOptions"/> and cancels once epoch 2's checkpoint is written.</summary>
    private void StopAfterTwoEpochs(string checkpoint)
    {
        using var stop = new CancellationTokenSource();
        var stopAfterTwo = new CallbackProgress<SaeTrainingProgress>(p =>
        {
            if (p.Validation is not null && p.Epoch == 2)
                stop.Cancel();
        });
        var first = () => new SparseAutoencoderTrainer(ResumableOptions(checkpoint)).Train(QueriesWithNeighbors(seed: 2), stopAfterTwo, stop.Token);
        first.Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public void Two_epochs_stopped_and_resumed_to_four_equal_four_straight_epochs()
    {
        var straightTrainer = new SparseAutoencoderTrainer(ResumableOptions(_folder.File("straight.ckpt")));
        using var straight = straightTrainer.Train(QueriesWithNeighbors(seed: 2));

        var checkpoint = _folder.File("stopped.ckpt");
        StopAfterTwoEpochs(checkpoint);
        var resumedTrainer = new SparseAutoencoderTrainer(ResumableOptions(checkpoint));
        var steps = new List<long>();
        using var resumed = resumedTrainer.Train(QueriesWithNeighbors(seed: 2), new CallbackProgress<SaeTrainingProgress>(p => steps.Add(p.Step)));

        steps[0].Should().Be(2 * 9 + 1, "the resumed run starts at the first step of epoch 3 (270 training queries, batches of 32)");
        resumed.GetWeights().EncoderWeight.Should().Equal(straight.GetWeights().EncoderWeight);
        resumed.GetWeights().DecoderWeight.Should().Equal(straight.GetWeights().DecoderWeight);
        resumed.GetWeights().DecoderBias.Should().Equal(straight.GetWeights().DecoderBias);
        resumedTrainer.History.Should().Equal(straightTrainer.History);
    }

    [Fact]
    public void A_checkpoint_of_format_2_from_before_activation_thresholds_resumes_as_the_TopK_run_it_was()
    {
        var straightTrainer = new SparseAutoencoderTrainer(ResumableOptions(_folder.File("straight2.ckpt")));
        using var straight = straightTrainer.Train(QueriesWithNeighbors(seed: 2));
        var checkpoint = _folder.File("format2.ckpt");
        StopAfterTwoEpochs(checkpoint);

        // Format 2 is format 3 without its last fields (θ: 4 bytes; the tally: 8 + 4), its version after the magic string (1 + 8 bytes).
        var bytes = File.ReadAllBytes(checkpoint);
        BitConverter.ToInt32(bytes, 9).Should().Be(3);
        bytes.AsSpan(bytes.Length - 16).ToArray().Should().OnlyContain(b => b == 0, "a TopK run saves θ = 0 and an empty tally");
        var formatTwo = bytes[..^16];
        BitConverter.GetBytes(2).CopyTo(formatTwo, 9);
        File.WriteAllBytes(checkpoint, formatTwo);
        var resumedTrainer = new SparseAutoencoderTrainer(ResumableOptions(checkpoint));
        using var resumed = resumedTrainer.Train(QueriesWithNeighbors(seed: 2));

        resumed.GetWeights().EncoderWeight.Should().Equal(straight.GetWeights().EncoderWeight);
        resumedTrainer.History.Should().Equal(straightTrainer.History);
    }

    [Fact]
    public void A_checkpoint_of_other_settings_is_refused()
    {
        var checkpoint = _folder.File("other.ckpt");
        var oneEpoch = ResumableOptions(checkpoint);
        oneEpoch.Epochs = 1;
        using (new SparseAutoencoderTrainer(oneEpoch).Train(QueriesWithNeighbors(seed: 2)))
        {
        }

        var resume = () => new SparseAutoencoderTrainer(ResumableOptions(checkpoint)).Train(QueriesWithNeighbors(seed: 2));

        resume.Should().Throw<FormatException>().WithMessage(
            $"'{checkpoint}' was written by a training run with other settings or data (it has epochs 1 where this run has epochs 4); resume it with the settings it was written with, or train afresh.");
        var twoChanged = ResumableOptions(checkpoint);
        twoChanged.BatchSize = 16;
        FluentActions.Invoking(() => new SparseAutoencoderTrainer(twoChanged).Train(QueriesWithNeighbors(seed: 2))).Should().Throw<FormatException>()
            .WithMessage("*(it has B 32 where this run has B 16, and epochs 1 where this run has epochs 4)*", "each setting that differs is named");
    }

    [Fact]
    public void Training_vectors_with_nan_are_refused_with_their_query_row()
    {
        var random = new Random(3);
        var queries = UnitRows(random, 40, 8);
        queries[17 * 8 + 2] = float.NaN;
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 2, BatchSize = 8, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 1, Device = ComputeDevice.Cpu });

        var train = () => trainer.Train(SaeTrainingData.FromArrays(queries, 8, source: "queries.npy"));

        train.Should().Throw<FormatException>().WithMessage("Query row 17 of 'queries.npy' holds NaN or infinity.");
    }

    [Fact]
    public void Asking_for_more_neighbors_than_the_data_holds_is_refused()
    {
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 2, NeighborsPerQuery = 16, Device = ComputeDevice.Cpu });

        var train = () => trainer.Train(QueriesWithNeighbors(seed: 1));

        train.Should().Throw<ArgumentException>().WithMessage("NeighborsPerQuery is 16, but 'training data' has 3 neighbor documents per query.*");
    }

    [Fact]
    public void Options_out_of_range_are_named()
    {
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 32, Device = ComputeDevice.Cpu });

        var train = () => trainer.Train(QueriesWithNeighbors(seed: 1));

        train.Should().Throw<ArgumentOutOfRangeException>().WithMessage("ActiveLatents must be from 1 to LatentSize (16).*");
    }

    [Theory]
    [InlineData(1, 512)]
    [InlineData(32, 512)]
    [InlineData(48, 341)]
    [InlineData(64, 256)]
    [InlineData(128, 128)]
    [InlineData(1000, 128)]
    public void The_default_batch_holds_16384_active_query_latents_between_128_and_512_queries(int activeLatents, int expected)
    {
        SparseAutoencoderOptions.Defaults.BatchSizeFor(activeLatents).Should().Be(expected);
        new SparseAutoencoderOptions { ActiveLatents = activeLatents }.EffectiveBatchSize.Should().Be(expected);
        new SparseAutoencoderOptions { ActiveLatents = activeLatents, BatchSize = 7 }.EffectiveBatchSize.Should().Be(7, "a batch size that is set is taken as set");
    }

    [Theory]
    [InlineData(8, null, 2)]      // 512 a step: ceil(600 / 512)
    [InlineData(64, null, 3)]     // 256
    [InlineData(128, null, 5)]    // 128
    [InlineData(128, 100, 6)]     // as set
    public void Training_takes_the_steps_of_the_default_batch_for_its_K_or_of_the_batch_set(int activeLatents, int? batchSize, int stepsPerEpoch)
    {
        const int d = 8, queryCount = 600;
        var queries = UnitRows(new Random(4), queryCount, d);
        var (totals, steps) = (new List<long>(), new List<long>());
        var options = new SparseAutoencoderOptions
        {
            LatentSize = 256, ActiveLatents = activeLatents, BatchSize = batchSize, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 2, ValidationFraction = 0, Seed = 1,
            Device = ComputeDevice.Cpu,
        };

        using var model = new SparseAutoencoderTrainer(options).Train(SaeTrainingData.FromArrays(queries, d), new CallbackProgress<SaeTrainingProgress>(p => { totals.Add(p.TotalSteps); steps.Add(p.Step); }));

        totals.Should().NotBeEmpty().And.OnlyContain(t => t == 2 * stepsPerEpoch);
        steps.Max().Should().Be(2 * stepsPerEpoch, "the epochs are cut into batches of that size");
    }

    [Fact]
    public void A_batch_size_below_1_is_refused_by_name()
    {
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions { LatentSize = 16, ActiveLatents = 2, BatchSize = 0, Device = ComputeDevice.Cpu });

        var train = () => trainer.Train(QueriesWithNeighbors(seed: 1));

        train.Should().Throw<ArgumentOutOfRangeException>().WithMessage("BatchSize must be at least 1 (or null: the default for ActiveLatents).*");
        var noK = () => SparseAutoencoderOptions.Defaults.BatchSizeFor(0);
        noK.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Tau_defaults_to_the_neighbors_score_spread_times_the_relative_temperature()
    {
        const int d = 16, queryCount = 40, m = 5;
        var random = new Random(9);
        var (queries, documents) = (UnitRows(random, queryCount, d), UnitRows(random, queryCount * m, d));
        var spread = Enumerable.Range(0, queryCount).Average(q =>
        {
            var scores = Enumerable.Range(0, m).Select(j => Enumerable.Range(0, d).Sum(k => (double)queries[q * d + k] * documents[(q * m + j) * d + k])).ToArray();
            var mean = scores.Average();
            return Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / m);
        });

        double TemperatureOf(SparseAutoencoderOptions options)
        {
            var temperatures = new List<double>();
            using var model = new SparseAutoencoderTrainer(options).Train(SaeTrainingData.FromArrays(queries, d, documents, m), new CallbackProgress<SaeTrainingProgress>(p => temperatures.Add(p.Temperature)));
            temperatures.Should().OnlyContain(t => t == temperatures[0], "one τ for the whole run");
            return temperatures[0];
        }

        SparseAutoencoderOptions Options() => new()
        {
            LatentSize = 32, ActiveLatents = 4, BatchSize = 20, NeighborsPerQuery = m, Epochs = 1, ValidationFraction = 0, Seed = 1, Device = ComputeDevice.Cpu,
        };
        TemperatureOf(Options()).Should().BeApproximately(spread, 1e-5, "every training query is in the sample, so τ is their mean spread");
        var twice = Options();
        twice.RelativeTemperature = 2;
        TemperatureOf(twice).Should().BeApproximately(2 * spread, 1e-5);
        var fixedTau = Options();
        fixedTau.Temperature = 0.07f;
        TemperatureOf(fixedTau).Should().BeApproximately(0.07, 1e-7, "a set temperature is used as it is");

        var alike = Enumerable.Range(0, queryCount * m).SelectMany(j => queries.AsSpan((j / m) * d, d).ToArray()).ToArray(); // every neighbor is its query: one score
        var train = () => new SparseAutoencoderTrainer(Options()).Train(SaeTrainingData.FromArrays(queries, d, alike, m, source: "alike"));
        train.Should().Throw<ArgumentException>().WithMessage("*'alike' score their 5 neighbors alike*set Temperature*");
    }
}
