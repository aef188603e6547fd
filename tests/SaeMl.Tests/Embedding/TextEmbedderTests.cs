using SaeMl.Compute;
using SaeMl.Embedding;

namespace SaeMl.Tests.Embedding;

public sealed class TextEmbedderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private TextEmbedderOptions Options(byte[]? model = null, EmbeddingPooling pooling = EmbeddingPooling.Cls, bool normalize = true)
    {
        var modelPath = _folder.File($"model-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(modelPath, model ?? TinyBert.Model());
        var vocabulary = _folder.File("vocab.txt");
        TinyBert.WriteVocabulary(vocabulary);
        return new TextEmbedderOptions { ModelPath = modelPath, VocabularyPath = vocabulary, Pooling = pooling, Normalize = normalize, Device = ComputeDevice.Cpu };
    }

    private static float[] Row(float[,] matrix, int row) => Enumerable.Range(0, matrix.GetLength(1)).Select(j => matrix[row, j]).ToArray();

    private static void ShouldBeClose(float[] actual, float[] expected) =>
        actual.Should().Equal(expected, (a, e) => Math.Abs(a - e) < 1e-5f);

    [Theory]
    [InlineData(EmbeddingPooling.Cls, true)]
    [InlineData(EmbeddingPooling.Mean, true)]
    [InlineData(EmbeddingPooling.LastToken, true)]
    [InlineData(EmbeddingPooling.Cls, false)]
    [InlineData(EmbeddingPooling.Mean, false)]
    [InlineData(EmbeddingPooling.LastToken, false)]
    public void Pooling_and_normalisation_match_the_hand_computed_embedding(EmbeddingPooling pooling, bool normalize)
    {
        using var embedder = TextEmbedder.Create(Options(pooling: pooling, normalize: normalize));

        var vectors = embedder.Embed(["the cat sat on the mat", "dog runs"]);

        embedder.Dimension.Should().Be(TinyBert.Hidden);
        ShouldBeClose(Row(vectors, 0), TinyBert.Expected(TinyBert.Tokens("the cat sat on the mat"), pooling, normalize));
        ShouldBeClose(Row(vectors, 1), TinyBert.Expected(TinyBert.Tokens("dog runs"), pooling, normalize));
    }

    [Fact]
    public void Texts_of_mixed_lengths_come_back_in_input_order_whatever_the_batching()
    {
        string[] texts = ["a", "the cat sat on the mat very fast", "dog", "rain rain rain", "", "the dog runs fast on a long text"];
        var options = Options(pooling: EmbeddingPooling.Mean);
        options.BatchSize = 2;
        using var embedder = TextEmbedder.Create(options);

        var vectors = embedder.Embed(texts);

        for (var i = 0; i < texts.Length; i++)
            ShouldBeClose(Row(vectors, i), TinyBert.Expected(TinyBert.Tokens(texts[i]), EmbeddingPooling.Mean, normalize: true));
    }

    [Fact]
    public void Long_texts_are_cut_to_max_tokens_keeping_the_final_separator()
    {
        var options = Options(pooling: EmbeddingPooling.Mean);
        options.MaxTokens = 5;
        using var embedder = TextEmbedder.Create(options);

        var vector = Row(embedder.Embed(["the cat sat on the mat"]), 0);

        embedder.Tokenize("the cat sat on the mat").Should().Equal(TinyBert.Cls, TinyBert.Id("the"), TinyBert.Id("cat"), TinyBert.Id("sat"), TinyBert.Sep);
        ShouldBeClose(vector, TinyBert.Expected([TinyBert.Cls, TinyBert.Id("the"), TinyBert.Id("cat"), TinyBert.Id("sat"), TinyBert.Sep], EmbeddingPooling.Mean, normalize: true));
    }

    [Fact]
    public void The_prefix_is_put_before_every_text()
    {
        var options = Options(pooling: EmbeddingPooling.Mean);
        options.Prefix = "query: ";
        using var prefixed = TextEmbedder.Create(options);

        var vector = Row(prefixed.Embed(["rain"]), 0);

        ShouldBeClose(vector, TinyBert.Expected(TinyBert.Tokens("query : rain"), EmbeddingPooling.Mean, normalize: true));
    }

    [Fact]
    public void Models_without_token_type_ids_and_with_int32_inputs_embed_alike()
    {
        using var withoutTypes = TextEmbedder.Create(Options(TinyBert.Model(tokenTypes: false), EmbeddingPooling.Mean));
        using var int64 = TextEmbedder.Create(Options(TinyBert.Model(tokenTypes: true), EmbeddingPooling.Mean));
        using var int32 = TextEmbedder.Create(Options(TinyBert.Model(tokenTypes: true, int32: true), EmbeddingPooling.Mean));

        var text = "the dog sat on a mat";
        ShouldBeClose(Row(withoutTypes.Embed([text]), 0), TinyBert.Expected(TinyBert.Tokens(text), EmbeddingPooling.Mean, true, tokenTypes: false));
        ShouldBeClose(Row(int64.Embed([text]), 0), TinyBert.Expected(TinyBert.Tokens(text), EmbeddingPooling.Mean, true));
        Row(int32.Embed([text]), 0).Should().Equal(Row(int64.Embed([text]), 0));
    }

    [Fact]
    public void A_pooled_sentence_embedding_output_is_used_as_it_is()
    {
        using var embedder = TextEmbedder.Create(Options(TinyBert.Model(pooled: true), EmbeddingPooling.Cls));

        var vector = Row(embedder.Embed(["cat on a mat"]), 0);

        embedder.ModelIsPooled.Should().BeTrue();
        // The model's masked mean of h_t; the Cls setting does not apply to a pooled output.
        ShouldBeClose(vector, TinyBert.Expected(TinyBert.Tokens("cat on a mat"), EmbeddingPooling.Mean, normalize: true));
    }

    [Fact]
    public void Empty_text_is_embedded_as_cls_and_sep_and_unknown_words_as_unk()
    {
        using var embedder = TextEmbedder.Create(Options(pooling: EmbeddingPooling.Mean));

        var vectors = embedder.Embed(["", "zebra"]);

        ShouldBeClose(Row(vectors, 0), TinyBert.Expected([TinyBert.Cls, TinyBert.Sep], EmbeddingPooling.Mean, true));
        ShouldBeClose(Row(vectors, 1), TinyBert.Expected([TinyBert.Cls, TinyBert.Unknown, TinyBert.Sep], EmbeddingPooling.Mean, true));
    }

    [Fact]
    public void A_wordpiece_tokenizer_json_embeds_like_its_vocab_txt()
    {
        var json = _folder.File("tokenizer.json");
        File.WriteAllText(json,
            "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true}, \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {"
            + string.Join(", ", TinyBert.Vocabulary.Select((token, id) => $"\"{token}\": {id}")) + "}}}");
        var fromText = Options(pooling: EmbeddingPooling.Mean);
        var fromJson = Options(pooling: EmbeddingPooling.Mean);
        fromJson.VocabularyPath = json;
        using var textEmbedder = TextEmbedder.Create(fromText);
        using var jsonEmbedder = TextEmbedder.Create(fromJson);

        Row(jsonEmbedder.Embed(["The CAT sat"]), 0).Should().Equal(Row(textEmbedder.Embed(["The CAT sat"]), 0));
    }

    [Fact]
    public void Sorting_by_length_cuts_padding_without_changing_results()
    {
        string[] texts = ["a", "the cat sat on the mat very fast", "dog", "the dog runs fast on a long text", "rain", "cat"];
        var sorted = Options(pooling: EmbeddingPooling.Mean);
        sorted.BatchSize = 2;
        var unsorted = Options(pooling: EmbeddingPooling.Mean);
        unsorted.BatchSize = 2;
        unsorted.SortByLength = false;
        using var sortedEmbedder = TextEmbedder.Create(sorted);
        using var unsortedEmbedder = TextEmbedder.Create(unsorted);

        var a = sortedEmbedder.Embed(texts);
        var b = unsortedEmbedder.Embed(texts);

        for (var i = 0; i < texts.Length; i++)
            ShouldBeClose(Row(a, i), Row(b, i));
        // Token counts 3, 10, 3, 10, 3, 3. Sorted: batches (10, 10), (3, 3), (3, 3) pad nothing.
        // Unsorted: (3, 10), (3, 10), (3, 3) pad 7 + 7 of 46 positions.
        sortedEmbedder.Statistics.Should().Be(new EmbeddingStatistics(Texts: 6, Tokens: 32, PaddedTokens: 32, ModelRuns: 3));
        unsortedEmbedder.Statistics.Should().Be(new EmbeddingStatistics(Texts: 6, Tokens: 32, PaddedTokens: 46, ModelRuns: 3));
    }

    [Fact]
    public void Missing_files_are_named()
    {
        var noModel = Options();
        noModel.ModelPath = _folder.File("missing.onnx");
        var noVocabulary = Options();
        noVocabulary.VocabularyPath = _folder.File("missing-vocab.txt");

        var loadModel = () => TextEmbedder.Create(noModel);
        var loadVocabulary = () => TextEmbedder.Create(noVocabulary);

        loadModel.Should().Throw<FileNotFoundException>().WithMessage($"*'{noModel.ModelPath}'*");
        loadVocabulary.Should().Throw<FileNotFoundException>().WithMessage($"*'{noVocabulary.VocabularyPath}'*");
    }

    [Fact]
    public void Models_without_the_inputs_and_outputs_of_an_embedding_model_are_rejected()
    {
        var extra = Options(TinyBert.Model(extraInput: "pixel_values"));
        var noMask = Options(TinyBert.Model(withMask: false));
        var wrongOutput = Options();
        wrongOutput.OutputName = "logits";

        FluentActions.Invoking(() => TextEmbedder.Create(extra)).Should().Throw<FormatException>()
            .WithMessage("*has input 'pixel_values', which EmbedText cannot fill*");
        FluentActions.Invoking(() => TextEmbedder.Create(noMask)).Should().Throw<FormatException>()
            .WithMessage("*has no 'attention_mask' input*");
        FluentActions.Invoking(() => TextEmbedder.Create(wrongOutput)).Should().Throw<FormatException>()
            .WithMessage("*has no output 'logits'; its outputs are last_hidden_state*");
    }

    [Fact]
    public void An_output_of_another_shape_than_declared_is_reported_with_the_model_and_the_shape()
    {
        var options = Options(TinyBert.Model(wrongShape: true));

        var embed = () =>
        {
            using var embedder = TextEmbedder.Create(options);
            embedder.Embed(["the cat sat", "rain"]);
        };

        embed.Should().Throw<FormatException>()
            .WithMessage($"ONNX model '{options.ModelPath}' returned 'last_hidden_state' of shape [2, 1, 8] for a batch of 2 texts of 5 tokens; expected [2, 5, 8].");
    }

    [Fact]
    public void Uncased_vocabularies_strip_accents_and_cased_ones_keep_them()
    {
        var vocabulary = _folder.File("vocab-accents.txt");
        File.WriteAllLines(vocabulary, [.. TinyBert.Vocabulary, "cafe", "naive", "Café"]);
        var uncased = Options();
        uncased.VocabularyPath = vocabulary;
        var cased = Options();
        cased.VocabularyPath = vocabulary;
        cased.LowerCase = false;
        using var uncasedEmbedder = TextEmbedder.Create(uncased);
        using var casedEmbedder = TextEmbedder.Create(cased);

        uncasedEmbedder.Tokenize("Café naïve").Should().Equal(TinyBert.Cls, TinyBert.Vocabulary.Length, TinyBert.Vocabulary.Length + 1, TinyBert.Sep);
        casedEmbedder.Tokenize("Café").Should().Equal(TinyBert.Cls, TinyBert.Vocabulary.Length + 2, TinyBert.Sep);
    }

    [Fact]
    public void Batch_sizes_and_token_limits_beyond_the_bounds_are_refused()
    {
        var huge = Options();
        huge.BatchSize = 200_000;
        var tiny = Options();
        tiny.MaxTokens = 1;

        FluentActions.Invoking(() => TextEmbedder.Create(huge)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("BatchSize must be from 1 to 4096*");
        FluentActions.Invoking(() => TextEmbedder.Create(tiny)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("MaxTokens must be from 2*");
    }

    [Fact]
    public void Bytes_that_are_not_an_onnx_model_are_a_clear_error_not_a_native_crash()
    {
        var options = Options([1, 2, 3, 4, 5, 6, 7, 8]);

        var load = () => TextEmbedder.Create(options);

        load.Should().Throw<FormatException>().WithMessage($"ONNX Runtime cannot load '{options.ModelPath}'*");
    }

    [Fact]
    public void A_vocabulary_without_bert_special_tokens_is_rejected()
    {
        var options = Options();
        File.WriteAllLines(options.VocabularyPath, ["hello", "world"]);

        var load = () => TextEmbedder.Create(options);

        load.Should().Throw<FormatException>().WithMessage("*has no [CLS] token*");
    }

    [Fact]
    public void Cuda_without_a_gpu_fails_unless_cpu_fallback_is_allowed_and_then_says_so()
    {
        var strict = Options();
        strict.Device = ComputeDevice.Cuda();
        var lenient = Options();
        lenient.Device = ComputeDevice.Cuda();
        lenient.AllowCpuFallback = true;
        var messages = new List<string>();

        var load = () => TextEmbedder.Create(strict);
        load.Should().Throw<InvalidOperationException>().WithMessage("Device 'cuda:0' was requested, but ONNX Runtime cannot use CUDA here*");

        using var embedder = TextEmbedder.Create(lenient, messages.Add);
        embedder.Device.Should().Be(ComputeDevice.Cpu);
        messages.Should().ContainSingle().Which.Should().Contain("embedding on the CPU");
        ShouldBeClose(Row(embedder.Embed(["rain"]), 0), TinyBert.Expected(TinyBert.Tokens("rain"), EmbeddingPooling.Cls, true));

        if (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            return; // what follows needs ONNX Runtime's CPU build, as the tests reference it
        var automatic = Options();
        automatic.Device = ComputeDevice.Auto;
        var autoMessages = new List<string>();
        using var onCpu = TextEmbedder.Create(automatic, autoMessages.Add);
        onCpu.Device.Should().Be(ComputeDevice.Cpu);
        autoMessages.Should().BeEmpty("'auto' with ONNX Runtime's CPU build expects the CPU: no warning");
    }
}
