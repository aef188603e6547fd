using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data.Npy;

namespace SaeMl.Tests.Autoencoder;

public sealed class SparseAutoencodeTests : IDisposable
{
    private const int D = 16, N = 64, K = 4, M = 2;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public sealed class Row
    {
        [VectorType(D)]
        public float[] Embedding { get; set; } = [];

        [VectorType(D * M)]
        public float[] Neighbors { get; set; } = [];
    }

    public sealed class Encoded
    {
        [VectorType(N)]
        public VBuffer<float> Latent { get; set; }

        [VectorType(D)]
        public float[] Reconstruction { get; set; } = [];
    }

    private static float[] UnitVector(Random random, int dimension)
    {
        var values = Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var norm = MathF.Sqrt(values.Sum(v => v * v));
        return values.Select(v => v / norm).ToArray();
    }

    private static Row[] Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => new Row
        {
            Embedding = UnitVector(random, D),
            Neighbors = [.. UnitVector(random, D), .. UnitVector(random, D)],
        }).ToArray();
    }

    private static SparseAutoencoderOptions Options(string? neighbors = null, string input = "Embedding") => new()
    {
        InputColumnName = input, ReconstructionColumnName = "Reconstruction", NeighborsColumnName = neighbors,
        LatentSize = N, ActiveLatents = K, BatchSize = 64, NeighborsPerQuery = M, Epochs = 2, LearningRate = 3e-3f, Seed = 3, Device = ComputeDevice.Cpu,
    };

    private static SparseAutoencoderTransformer Train(MLContext ml, IDataView data) =>
        ml.Transforms.SparseAutoencode(Options(neighbors: "Neighbors")).Fit(data);

    /// <summary>Each row's <see cref="M"/> nearest vectors among <paramref name="candidates"/> by brute force, skipping the row itself when they are the rows.</summary>
    private static Row[] WithBruteForceNeighbors(Row[] rows, float[][] candidates, bool candidatesAreTheRows) =>
        rows.Select((row, r) => new Row
        {
            Embedding = row.Embedding,
            Neighbors = Enumerable.Range(0, candidates.Length)
                .Where(c => !candidatesAreTheRows || c != r)
                .OrderByDescending(c => candidates[c].Zip(row.Embedding).Sum(p => (double)p.First * p.Second))
                .Take(M).SelectMany(c => candidates[c]).ToArray(),
        }).ToArray();

    [Fact]
    public void Without_a_neighbors_column_the_fit_searches_the_rows_for_each_rows_neighbors_and_trains_the_KL_term()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var rows = Rows(100, seed: 4);
        rows[1].Embedding = rows[2].Embedding = rows[0].Embedding; // equal rows are each other's neighbors, never their own

        using var searched = ml.Transforms.SparseAutoencode(Options()).Fit(ml.Data.LoadFromEnumerable(rows));
        using var given = Train(ml, ml.Data.LoadFromEnumerable(WithBruteForceNeighbors(rows, rows.Select(r => r.Embedding).ToArray(), candidatesAreTheRows: true)));
        var ablation = Options();
        ablation.KLWeight = 0;
        using var mseOnly = ml.Transforms.SparseAutoencode(ablation).Fit(ml.Data.LoadFromEnumerable(rows));

        searched.Autoencoder.GetWeights().Should().BeEquivalentTo(given.Autoencoder.GetWeights(), o => o.WithStrictOrdering(),
            "the neighbors found are each row's M nearest other rows, so training sees what an explicit column gives");
        mseOnly.Autoencoder.GetWeights().DecoderWeight.Should().NotEqual(given.Autoencoder.GetWeights().DecoderWeight, "without the KL term training differs");
        messages.Should().ContainSingle(m => m.Contains($"objective: FVU + 1 × (KL (the paper's) + 10 × latent-score KL) over each row's {M} neighbor documents", StringComparison.Ordinal)
            && m.Contains("neighbors by exact search over the 100 training rows", StringComparison.Ordinal));
        messages.Should().ContainSingle(m => m.Contains("objective: MSE only (the ablation; no KL term)", StringComparison.Ordinal));
    }

    [Fact]
    public void NeighborCorpusPath_takes_each_rows_neighbors_from_a_store_and_bad_or_empty_inputs_are_named()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows(80, seed: 5);
        var random = new Random(6);
        var corpus = Enumerable.Range(0, 50).Select(_ => UnitVector(random, D)).ToArray();
        var corpusPath = _folder.File("corpus.npy");
        NpyWriter.Write(corpusPath, corpus.SelectMany(v => v).ToArray(), D);
        var options = Options();
        options.NeighborCorpusPath = corpusPath;

        using var searched = ml.Transforms.SparseAutoencode(options).Fit(ml.Data.LoadFromEnumerable(rows));
        using var given = Train(ml, ml.Data.LoadFromEnumerable(WithBruteForceNeighbors(rows, corpus, candidatesAreTheRows: false)));

        searched.Autoencoder.GetWeights().Should().BeEquivalentTo(given.Autoencoder.GetWeights(), o => o.WithStrictOrdering());
        NpyWriter.Write(_folder.File("wide.npy"), new float[(D + 1) * 4], D + 1);
        options.NeighborCorpusPath = _folder.File("wide.npy");
        FluentActions.Invoking(() => ml.Transforms.SparseAutoencode(options).Fit(ml.Data.LoadFromEnumerable(rows)))
            .Should().Throw<ArgumentException>().WithMessage($"NeighborCorpusPath '*wide.npy' holds vectors of dimension {D + 1}; the input column's are {D}*");
        FluentActions.Invoking(() => ml.Transforms.SparseAutoencode(Options()).Fit(ml.Data.LoadFromEnumerable(rows.Take(M))))
            .Should().Throw<ArgumentException>().WithMessage($"*searches its {M} training rows for each row's {M} nearest others*needs more than {M} rows*");
        FluentActions.Invoking(() => ml.Transforms.SparseAutoencode(Options()).Fit(ml.Data.LoadFromEnumerable(Array.Empty<Row>())))
            .Should().Throw<ArgumentException>().WithMessage("SparseAutoencode was fitted on no rows: the input column 'Embedding' is empty.*");
    }

    [Fact]
    public void Fitting_tells_mlContext_Log_which_objective_trains_and_each_epochs_validation()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var data = ml.Data.LoadFromEnumerable(Rows(100, seed: 4));
        var ablation = Options();
        ablation.KLWeight = 0;
        ablation.BatchSize = null;

        using var paper = Train(ml, data);
        using var mseOnly = ml.Transforms.SparseAutoencode(ablation).Fit(data);

        var lines = messages.Where(m => m.Contains("SparseAutoencode", StringComparison.Ordinal)).ToList();
        lines.Should().ContainSingle(m => m.Contains($"objective: FVU + 1 × (KL (the paper's) + 10 × latent-score KL) over each row's {M} neighbor documents", StringComparison.Ordinal));
        lines.Should().ContainSingle(m => m.Contains("objective: MSE only (the ablation; no KL term)", StringComparison.Ordinal));
        lines.Should().ContainSingle(m => m.Contains(", 64 a step; objective: FVU", StringComparison.Ordinal), "the batch size set");
        lines.Should().ContainSingle(m => m.Contains(", 512 a step (the default at this K); objective: MSE only", StringComparison.Ordinal), "K = 4 takes the default 512");
        lines.Should().OnlyContain(m => !m.Contains("objective") || m.Contains("5 % of the rows held out for validation", StringComparison.Ordinal));
        lines.Count(m => m.Contains("epoch 1/2: validation FVU", StringComparison.Ordinal)).Should().Be(2);
        lines.Count(m => m.Contains("epoch 2/2: validation FVU", StringComparison.Ordinal)).Should().Be(2);
    }

    [Fact]
    public void A_neighbors_column_shorter_than_NeighborsPerQuery_is_an_error()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(100, seed: 4));
        var options = Options(neighbors: "Neighbors");
        options.NeighborsPerQuery = M + 1;

        var fit = () => ml.Transforms.SparseAutoencode(options).Fit(data);

        fit.Should().Throw<ArgumentException>().WithMessage($"*'Neighbors' holds {M} documents per row, but NeighborsPerQuery is {M + 1}*");
    }

    [Fact]
    public void The_latent_column_holds_the_positive_top_k_latents_of_each_row_and_the_reconstruction()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows(300, seed: 4);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var transformer = Train(ml, data);

        var encoded = ml.Data.CreateEnumerable<Encoded>(transformer.Transform(data), reuseRowObject: false).ToList();

        var schema = transformer.GetOutputSchema(data.Schema);
        schema["Latent"].Type.Should().Be(new VectorDataViewType(NumberDataViewType.Single, N));
        schema["Reconstruction"].Type.Should().Be(new VectorDataViewType(NumberDataViewType.Single, D));
        var codes = transformer.Autoencoder.Encode(rows.SelectMany(r => r.Embedding).ToArray());
        var reconstructions = transformer.Autoencoder.Decode(codes);
        for (var i = 0; i < rows.Length; i++)
        {
            var latent = encoded[i].Latent;
            latent.IsDense.Should().BeFalse();
            latent.GetIndices().ToArray().Should().BeInAscendingOrder().And.HaveCountLessThanOrEqualTo(K);
            var expected = Enumerable.Range(0, K).Where(j => codes.ValuesOf(i)[j] > 0).ToList();
            latent.GetIndices().ToArray().Should().Equal(expected.Select(j => codes.IndicesOf(i)[j]));
            latent.GetValues().ToArray().Should().Equal(expected.Select(j => codes.ValuesOf(i)[j]));
            encoded[i].Reconstruction.Should().Equal(reconstructions.AsSpan(i * D, D).ToArray());
        }
    }

    [Fact]
    public void A_saved_zip_loads_in_a_fresh_context_and_encodes_identically()
    {
        var rows = Rows(200, seed: 5);
        var zip = _folder.File("sae.zip");
        List<Encoded> before;
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            using var transformer = Train(ml, data);
            before = ml.Data.CreateEnumerable<Encoded>(transformer.Transform(data), false).ToList();
            ml.Model.Save(transformer, data.Schema, zip);
        }

        var fresh = new MLContext(seed: 9);
        var loaded = fresh.Model.Load(zip, out _);
        var after = fresh.Data.CreateEnumerable<Encoded>(loaded.Transform(fresh.Data.LoadFromEnumerable(rows)), false).ToList();

        loaded.Should().BeOfType<SparseAutoencoderTransformer>().Which.Autoencoder.LatentSize.Should().Be(N);
        for (var i = 0; i < rows.Length; i++)
        {
            after[i].Latent.GetIndices().ToArray().Should().Equal(before[i].Latent.GetIndices().ToArray());
            after[i].Latent.GetValues().ToArray().Should().Equal(before[i].Latent.GetValues().ToArray());
            after[i].Reconstruction.Should().Equal(before[i].Reconstruction);
        }
    }

    [Fact]
    public void Chained_with_built_in_transforms_it_saves_loads_and_runs()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(150, seed: 6));
        var pipeline = ml.Transforms.CopyColumns("Copy", "Embedding")
            .Append(ml.Transforms.SparseAutoencode(Options(neighbors: "Neighbors", input: "Copy")))
            .Append(ml.Transforms.NormalizeMinMax("Scaled", "Reconstruction"));
        var fitted = pipeline.Fit(data);
        var zip = _folder.File("chain.zip");
        ml.Model.Save(fitted, data.Schema, zip);

        var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
        var original = fitted.Transform(data).GetColumn<float[]>("Scaled").ToList();
        var reloaded = loaded.Transform(data).GetColumn<float[]>("Scaled").ToList();

        reloaded.Should().HaveCount(150);
        for (var i = 0; i < original.Count; i++)
            reloaded[i].Should().Equal(original[i]);
    }

    [Fact]
    public void Load_finds_the_autoencoder_in_a_saved_chain_and_Save_writes_a_zip_that_loads_alone()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(150, seed: 6));
        var fitted = ml.Transforms.CopyColumns("Copy", "Embedding")
            .Append(ml.Transforms.SparseAutoencode(Options(neighbors: "Neighbors", input: "Copy")))
            .Fit(data);
        var chain = _folder.File("chain.zip");
        ml.Model.Save(fitted, data.Schema, chain);
        var expected = fitted.LastTransformer.Autoencoder.GetWeights().DecoderWeight;

        using var fromChain = SparseAutoencoderTransformer.Load(chain, ComputeDevice.Cpu);
        fromChain.Autoencoder.GetWeights().DecoderWeight.Should().Equal(expected);
        fromChain.InputColumnName.Should().Be("Copy");

        var alone = _folder.File("alone.zip");
        fromChain.Save(alone);
        using var reloaded = SparseAutoencoderTransformer.Load(alone);
        reloaded.Autoencoder.GetWeights().DecoderWeight.Should().Equal(expected);
        Directory.GetFiles(_folder.Path, "*.tmp").Should().BeEmpty("the zip is written under a temporary name and renamed");
    }

    [Fact]
    public void Load_names_the_zip_when_it_is_missing_not_a_model_or_holds_no_autoencoder()
    {
        var missing = () => SparseAutoencoderTransformer.Load(_folder.File("missing.zip"));
        missing.Should().Throw<FileNotFoundException>().WithMessage("*missing.zip*");

        var text = _folder.File("text.zip");
        File.WriteAllText(text, "not a zip");
        var notZip = () => SparseAutoencoderTransformer.Load(text);
        notZip.Should().Throw<FormatException>().WithMessage("*text.zip*not an ML.NET model zip*");

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(20, seed: 6));
        var other = _folder.File("other.zip");
        ml.Model.Save(ml.Transforms.CopyColumns("Copy", "Embedding").Fit(data), data.Schema, other);
        var noAutoencoder = () => SparseAutoencoderTransformer.Load(other);
        noAutoencoder.Should().Throw<FormatException>().WithMessage("The model zip '*other.zip' holds 0 SparseAutoencode transforms; it needs exactly one.");
    }

    [Fact]
    public void A_prediction_engine_encodes_one_row_at_a_time()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows(100, seed: 7);
        using var transformer = Train(ml, ml.Data.LoadFromEnumerable(rows));
        var engine = ml.Model.CreatePredictionEngine<Row, Encoded>(transformer);

        var single = engine.Predict(rows[42]);

        single.Reconstruction.Should().Equal(transformer.Autoencoder.Reconstruct(rows[42].Embedding));
    }

    [Fact]
    public void Trains_from_store_files_as_saeml_neighbors_writes_them()
    {
        var rows = Rows(120, seed: 8);
        NpyWriter.Write(_folder.File("queries.npy"), rows.SelectMany(r => r.Embedding).ToArray(), D);
        NpyWriter.Write(_folder.File("corpus.npy"), rows.SelectMany(r => r.Neighbors).ToArray(), D);
        NpyWriter.WriteIntegers(_folder.File("train.ids.npy"), Enumerable.Range(0, 120).SelectMany(q => new long[] { 2 * q, 2 * q + 1 }).ToArray(), M);
        var ml = new MLContext(seed: 1);
        var inMemory = ml.Data.LoadFromEnumerable(rows);

        using var data = SaeTrainingData.OpenStores(_folder.File("queries.npy"), _folder.File("corpus.npy"), _folder.File("train.ids.npy"));
        using var fromStores = ml.Transforms.SparseAutoencode(Options()).Fit(data);
        using var fromDataView = Train(ml, inMemory);

        fromStores.Autoencoder.GetWeights().DecoderWeight.Should().Equal(fromDataView.Autoencoder.GetWeights().DecoderWeight,
            "the same queries and documents train the same model, from stores or from an IDataView");
    }

    public sealed class NarrowRow
    {
        [VectorType(8)]
        public float[] Embedding { get; set; } = new float[8];
    }

    [Fact]
    public void Inputs_of_the_wrong_size_or_with_nan_are_rejected_with_column_and_row()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows(100, seed: 9);
        using var transformer = Train(ml, ml.Data.LoadFromEnumerable(rows));
        rows[3].Embedding[5] = float.NaN;

        var narrow = () => transformer.Transform(ml.Data.LoadFromEnumerable(new[] { new NarrowRow() }));
        var withNaN = () => ml.Data.CreateEnumerable<Encoded>(transformer.Transform(ml.Data.LoadFromEnumerable(rows)), false).ToList();

        narrow.Should().Throw<ArgumentOutOfRangeException>().WithMessage("Schema mismatch for input column 'Embedding': expected Vector<Single, 16>, got Vector<Single, 8>*");
        withNaN.Should().Throw<ArgumentException>().WithMessage("Row 3 of input column 'Embedding' holds NaN or infinity*");
    }

    [Theory]
    [InlineData("altered", "*'decoder_weight.bin' stream is corrupt: its bytes do not match their SHA-256 hash*")]
    [InlineData("truncated", "*'decoder_weight.bin' stream is corrupt: it holds * of its * bytes*")]
    public void A_zip_with_damaged_weights_is_a_clear_error(string damage, string expected)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(100, seed: 10));
        var zip = _folder.File($"{damage}.zip");
        using (var transformer = Train(ml, data))
            ml.Model.Save(transformer, data.Schema, zip);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("decoder_weight.bin", StringComparison.Ordinal));
            var name = entry.FullName;
            byte[] bytes;
            using (var stream = entry.Open())
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            if (damage == "altered")
                bytes[^3] ^= 0x40;
            else
                bytes = bytes[..(bytes.Length / 2)];
            entry.Delete();
            using var replaced = archive.CreateEntry(name).Open();
            replaced.Write(bytes);
        }

        var load = () => new MLContext().Model.Load(zip, out _);

        load.Should().Throw<Exception>().Where(e => Messages(e).Any(m => MatchesWildcard(m, expected)));
    }

    private static IEnumerable<string> Messages(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            yield return e.Message;
    }

    private static bool MatchesWildcard(string text, string pattern) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*") + "$", System.Text.RegularExpressions.RegexOptions.Singleline);
}
