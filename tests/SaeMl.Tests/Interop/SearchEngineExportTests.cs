using System.Text.Json;
using SaeMl.Autoencoder;
using SaeMl.Cli;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interop;
using SaeMl.Search;
using SaeMl.Tests.Cli;

namespace SaeMl.Tests.Interop;

public sealed class SearchEngineExportTests : IDisposable
{
    private const int D = 12, N = 48, K = 6, Documents = 300, Queries = 20;
    private readonly TempFolder _folder = new();
    private readonly SparseAutoencoder _autoencoder;
    private readonly EmbeddingStore _corpus;
    private readonly EmbeddingStore _queries;
    private readonly IdIndex _documentIds;

    public SearchEngineExportTests()
    {
        var random = new Random(5);
        // A negative encoder bias leaves some rows fewer than K positive latents: the zeros must stay out of exports.
        using (var initial = SparseAutoencoder.Initialize(D, N, K, new float[D], seed: 3, ComputeDevice.Cpu))
            _autoencoder = SparseAutoencoder.FromWeights(initial.GetWeights() with { EncoderBias = Enumerable.Repeat(-0.8f, N).ToArray() }, K, ComputeDevice.Cpu);
        _corpus = Store("corpus", Documents, random, Enumerable.Range(0, Documents).Select(i => $"doc-{i}"));
        _queries = Store("queries", Queries, random, Enumerable.Range(0, Queries).Select(i => $"q{i}"));
        _documentIds = _corpus.LoadIds();
    }

    public void Dispose()
    {
        _autoencoder.Dispose();
        _corpus.Dispose();
        _queries.Dispose();
        _folder.Dispose();
    }

    private EmbeddingStore Store(string name, int rows, Random random, IEnumerable<string> ids)
    {
        var folder = _folder.File(name);
        using (var writer = new EmbeddingStoreWriter(folder, D))
        {
            writer.WriteRows(Enumerable.Range(0, rows * D).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
            writer.Commit();
        }

        File.WriteAllLines(Path.Combine(folder, EmbeddingStore.IdsFileName), ids);
        return EmbeddingStore.Open(folder);
    }

    private static List<JsonElement> Lines(MemoryStream stream) =>
        System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n').SkipLast(1).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private (int[] Indices, float[] Values)[] Expected(EmbeddingStore store)
    {
        var codes = SparseCodes.Concatenate(_autoencoder.EncodeStore(store).Select(b => b.Codes).ToList());
        return Enumerable.Range(0, codes.Rows).Select(r =>
        {
            var kept = Enumerable.Range(0, K).Where(j => codes.ValuesOf(r)[j] > 0).ToArray();
            return (kept.Select(j => codes.IndicesOf(r)[j]).ToArray(), kept.Select(j => codes.ValuesOf(r)[j]).ToArray());
        }).ToArray();
    }

    [Fact]
    public void Elasticsearch_bulk_lines_pair_an_index_action_with_the_documents_positive_latents()
    {
        using var stream = new MemoryStream();

        var written = SearchEngineExport.WriteDocuments(SparseSearchEngine.Elasticsearch, _autoencoder, _corpus, _documentIds, stream, new SearchEngineExportOptions { BatchRows = 64 });

        written.Should().Be(Documents);
        var lines = Lines(stream);
        lines.Should().HaveCount(2 * Documents);
        var expected = Expected(_corpus);
        expected.Sum(e => K - e.Indices.Length).Should().BePositive("some TopK latents are 0 after the ReLU and must be left out");
        for (var row = 0; row < Documents; row++)
        {
            var action = lines[2 * row];
            action.EnumerateObject().Select(p => p.Name).Should().Equal("index");
            action.GetProperty("index").EnumerateObject().Select(p => (p.Name, p.Value.GetString())).Should().Equal(("_index", "saeml"), ("_id", $"doc-{row}"));

            var source = lines[2 * row + 1];
            source.EnumerateObject().Select(p => p.Name).Should().Equal("latents");
            var features = source.GetProperty("latents").EnumerateObject().ToList();
            features.Select(f => int.Parse(f.Name, System.Globalization.CultureInfo.InvariantCulture)).Should().Equal(expected[row].Indices);
            features.Select(f => f.Value.GetSingle()).Should().Equal(expected[row].Values, "float values round-trip through JSON exactly");
            features.Where(f => f.Value.GetSingle() <= 0).Should().BeEmpty();
        }
    }

    [Fact]
    public void Qdrant_points_carry_the_row_as_id_the_document_id_as_payload_and_ascending_indices()
    {
        using var stream = new MemoryStream();

        SearchEngineExport.WriteDocuments(SparseSearchEngine.Qdrant, _autoencoder, _corpus, _documentIds, stream);

        var lines = Lines(stream);
        lines.Should().HaveCount(Documents);
        var expected = Expected(_corpus);
        for (var row = 0; row < Documents; row++)
        {
            var point = lines[row];
            point.EnumerateObject().Select(p => p.Name).Should().Equal("id", "vector", "payload");
            point.GetProperty("id").GetInt64().Should().Be(row);
            point.GetProperty("payload").GetProperty("doc_id").GetString().Should().Be($"doc-{row}");
            var vector = point.GetProperty("vector").GetProperty("latents");
            vector.GetProperty("indices").EnumerateArray().Select(i => i.GetInt32()).Should().Equal(expected[row].Indices).And.BeInAscendingOrder();
            vector.GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).Should().Equal(expected[row].Values);
        }
    }

    [Fact]
    public void Search_requests_scored_as_each_engine_scores_rank_like_the_sparse_latent_index()
    {
        var expectedDocuments = Expected(_corpus);
        var exactIndex = SparseLatentIndex.Build(_autoencoder.EncodeStore(_corpus).Select(b => b.Codes), N);
        var queryCodes = SparseCodes.Concatenate(_autoencoder.EncodeStore(_queries).Select(b => b.Codes).ToList());
        var exact = exactIndex.Search(queryCodes, 5);

        foreach (var engine in Enum.GetValues<SparseSearchEngine>())
        {
            using var stream = new MemoryStream();
            SearchEngineExport.WriteQueries(engine, _autoencoder, _queries, 5, stream).Should().Be(Queries);
            var lines = Lines(stream);
            lines.Should().HaveCount(engine == SparseSearchEngine.Qdrant ? Queries : 2 * Queries);
            for (var q = 0; q < Queries; q++)
            {
                var weights = QueryWeights(engine, lines, q);
                var stored = engine == SparseSearchEngine.Qdrant ? (Func<float, float>)(v => v) : SearchEngineExport.StoredFeatureValue;
                var scores = expectedDocuments.Select(d => d.Indices.Zip(d.Values).Sum(p => weights.GetValueOrDefault(p.First) * (double)stored(p.Second))).ToArray();
                var top = Enumerable.Range(0, Documents).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(5).Select(i => (long)i).ToArray();
                var agree = top.Intersect(exact.RowsOf(q).ToArray()).Count();
                agree.Should().BeGreaterThanOrEqualTo(engine == SparseSearchEngine.Qdrant ? 5 : 4, $"{engine}, query {q}");
            }
        }
    }

    private static Dictionary<int, double> QueryWeights(SparseSearchEngine engine, List<JsonElement> lines, int q)
    {
        if (engine == SparseSearchEngine.Qdrant)
        {
            var request = lines[q];
            request.EnumerateObject().Select(p => p.Name).Should().Equal("query", "using", "limit", "with_payload");
            request.GetProperty("using").GetString().Should().Be("latents");
            request.GetProperty("limit").GetInt32().Should().Be(5);
            var query = request.GetProperty("query");
            return query.GetProperty("indices").EnumerateArray().Select(i => i.GetInt32())
                .Zip(query.GetProperty("values").EnumerateArray().Select(v => v.GetDouble())).ToDictionary(p => p.First, p => p.Second);
        }

        lines[2 * q].GetProperty("index").GetString().Should().Be("saeml");
        var body = lines[2 * q + 1];
        body.GetProperty("size").GetInt32().Should().Be(5);
        if (body.GetProperty("query").TryGetProperty("match_none", out _))
            return []; // no positive latent: nothing scores
        if (engine == SparseSearchEngine.Elasticsearch)
        {
            var sparse = body.GetProperty("query").GetProperty("sparse_vector");
            sparse.GetProperty("field").GetString().Should().Be("latents");
            sparse.GetProperty("prune").GetBoolean().Should().BeFalse("pruned query tokens would not give the dot product");
            return sparse.GetProperty("query_vector").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetDouble());
        }

        return body.GetProperty("query").GetProperty("bool").GetProperty("should").EnumerateArray().Select(c => c.GetProperty("rank_feature")).ToDictionary(
            f => int.Parse(f.GetProperty("field").GetString()!["latents.".Length..], System.Globalization.CultureInfo.InvariantCulture),
            f =>
            {
                f.GetProperty("linear").EnumerateObject().Should().BeEmpty();
                return f.GetProperty("boost").GetDouble();
            });
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(1.00390625f, 1.00390625f)] // 1 + 2⁻⁸: nine significant bits
    [InlineData(1.005859375f, 1.00390625f)] // 1 + 2⁻⁸ + 2⁻⁹: the tenth bit is cut
    [InlineData(0.7f, 0.69921875f)]
    [InlineData(0f, 0f)]
    [InlineData(-0.5f, 0f)]
    [InlineData(1e-39f, 0f)] // subnormal
    public void Feature_fields_keep_nine_significant_bits(float value, float stored) =>
        SearchEngineExport.StoredFeatureValue(value).Should().Be(stored);

    [Fact]
    public void Stored_values_lose_less_than_one_part_in_256()
    {
        var random = new Random(1);
        for (var i = 0; i < 10_000; i++)
        {
            var value = (float)Math.Exp(random.NextDouble() * 20 - 10);
            var stored = SearchEngineExport.StoredFeatureValue(value);
            stored.Should().BeLessThanOrEqualTo(value);
            ((value - stored) / value).Should().BeLessThan(1f / 256);
        }
    }

    [Fact]
    public void Index_definitions_name_each_engines_field_type()
    {
        JsonDocument.Parse(SearchEngineExport.IndexDefinition(SparseSearchEngine.Elasticsearch)).RootElement
            .GetProperty("mappings").GetProperty("properties").GetProperty("latents").GetProperty("type").GetString().Should().Be("sparse_vector");
        JsonDocument.Parse(SearchEngineExport.IndexDefinition(SparseSearchEngine.OpenSearch, new SearchEngineExportOptions { FieldName = "sae" })).RootElement
            .GetProperty("mappings").GetProperty("properties").GetProperty("sae").GetProperty("type").GetString().Should().Be("rank_features");
        JsonDocument.Parse(SearchEngineExport.IndexDefinition(SparseSearchEngine.Qdrant)).RootElement
            .GetProperty("sparse_vectors").GetProperty("latents").EnumerateObject().Should().BeEmpty();
        FluentActions.Invoking(() => SearchEngineExport.IndexDefinition(SparseSearchEngine.OpenSearch, new SearchEngineExportOptions { FieldName = "a.b" }))
            .Should().Throw<ArgumentException>().WithMessage("*FieldName must hold no dot*'a.b'*");
    }

    [Fact]
    public void A_store_of_another_dimension_or_ids_of_another_length_are_refused_before_writing()
    {
        using var stream = new MemoryStream();
        using var other = SparseAutoencoder.Initialize(D + 1, N, K, new float[D + 1], seed: 3, ComputeDevice.Cpu);

        FluentActions.Invoking(() => SearchEngineExport.WriteDocuments(SparseSearchEngine.Qdrant, other, _corpus, _documentIds, stream))
            .Should().Throw<ArgumentException>().WithMessage("*has dimension 12; the autoencoder reads 13*");
        FluentActions.Invoking(() => SearchEngineExport.WriteDocuments(SparseSearchEngine.Qdrant, _autoencoder, _corpus, IdIndex.Build(["a"], "one.txt"), stream))
            .Should().Throw<ArgumentException>().WithMessage("*300 vectors but 'one.txt' names 1 documents*");
        stream.Length.Should().Be(0);
    }

    [Fact]
    public async Task Saeml_export_writes_the_folder_for_each_engine_and_never_replaces_an_input()
    {
        var zip = _folder.File("sae.zip");
        using (var transformer = SparseAutoencoderTransformer.FromAutoencoder(SparseAutoencoder.FromWeights(_autoencoder.GetWeights(), K, ComputeDevice.Cpu)))
            transformer.Save(zip);

        foreach (var (engine, files) in new[]
        {
            ("elasticsearch", new[] { "documents.ndjson", "mapping.json", "queries.msearch.ndjson", "query-ids.txt" }),
            ("qdrant", new[] { "collection.json", "points.jsonl", "queries.jsonl", "query-ids.txt" }),
        })
        {
            var output = _folder.File($"export-{engine}");
            var (exitCode, text) = await Run("export", "--model", zip, "--format", engine, "--corpus", _folder.File("corpus"), "--queries", _folder.File("queries"),
                "--output", output, "--device", "cpu");

            exitCode.Should().Be(0, text);
            Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal).Should().Equal(files);
            File.ReadAllLines(Path.Combine(output, "query-ids.txt")).Should().Equal(Enumerable.Range(0, Queries).Select(i => $"q{i}"));
            text.Should().Contain($"Exported {Documents} documents' latents (n = {N}, K = {K})");
        }

        var again = await Run("export", "--model", zip, "--format", "qdrant", "--corpus", _folder.File("corpus"), "--output", _folder.File("export-qdrant"), "--device", "cpu");
        again.ExitCode.Should().Be(1);
        again.Output.Should().Contain("--overwrite");
        var intoInput = await Run("export", "--model", zip, "--format", "qdrant", "--corpus", _folder.File("corpus"), "--output", _folder.File("corpus"), "--overwrite", "--device", "cpu");
        intoInput.ExitCode.Should().Be(1);
        File.Exists(Path.Combine(_folder.File("corpus"), EmbeddingStore.IdsFileName)).Should().BeTrue();
        (await Run("export", "--model", zip, "--format", "onnx", "--corpus", _folder.File("corpus"), "--output", _folder.File("onnx"))).Output
            .Should().Contain("--corpus applies to the search-engine formats");
    }

    [Fact]
    public async Task A_model_exported_as_safetensors_imports_back_into_an_identical_zip_and_as_onnx_beside_it()
    {
        var zip = _folder.File("sae.zip");
        using (var transformer = SparseAutoencoderTransformer.FromAutoencoder(SparseAutoencoder.FromWeights(_autoencoder.GetWeights(), K, ComputeDevice.Cpu)))
            transformer.Save(zip);

        var exported = await Run("export", "--model", zip, "--format", "safetensors", "--output", _folder.File("python"), "--device", "cpu");
        exported.ExitCode.Should().Be(0, exported.Output);
        var onnx = await Run("export", "--model", zip, "--format", "onnx", "--output", _folder.File("onnx"), "--device", "cpu");
        onnx.ExitCode.Should().Be(0, onnx.Output);
        onnx.Output.Should().Contain("decoder.onnx, encoder.onnx");
        var imported = await Run("import", "--safetensors", _folder.File("python"), "--output", _folder.File("back.zip"));
        imported.ExitCode.Should().Be(0, imported.Output);

        using var back = SparseAutoencoderTransformer.Load(_folder.File("back.zip"), ComputeDevice.Cpu);
        back.Autoencoder.GetWeights().Should().BeEquivalentTo(_autoencoder.GetWeights(), o => o.WithStrictOrdering());
        back.Autoencoder.ActiveLatents.Should().Be(K);
        (await Run("import", "--safetensors", _folder.File("python"), "--output", _folder.File("python"))).ExitCode.Should().Be(1, "an input is never overwritten");

        var weightsFile = Path.Combine(_folder.File("python"), SparseAutoencoderSafetensors.WeightsFileName);
        var configFile = Path.Combine(_folder.File("python"), SparseAutoencoderSafetensors.ConfigFileName);
        var before = (File.ReadAllBytes(weightsFile), File.ReadAllBytes(configFile));
        var beside = await Run("import", "--safetensors", weightsFile, "--output", _folder.File("python/imported.zip"));
        beside.ExitCode.Should().Be(0, "a zip beside the weights changes neither file the import reads: " + beside.Output);
        var overConfig = await Run("import", "--safetensors", weightsFile, "--output", configFile, "--overwrite");
        overConfig.ExitCode.Should().Be(1);
        overConfig.Output.Should().Contain("is the --safetensors input");
        (await Run("import", "--safetensors", _folder.File("python"), "--output", weightsFile, "--overwrite")).ExitCode.Should().Be(1);
        (File.ReadAllBytes(weightsFile), File.ReadAllBytes(configFile)).Should().BeEquivalentTo(before);
    }

    private static async Task<(int ExitCode, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exitCode = await SaeMlCommandLine.InvokeAsync(args, TestConsole.Create(output), output, output);
        return (exitCode, output.ToString());
    }
}
