using System.Numerics.Tensors;
using Microsoft.ML.Tokenizers;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;

namespace SaeMl.Embedding;

/// <summary>
/// Embeds text with a BERT-family ONNX model: WordPiece tokenization, batched ONNX Runtime calls,
/// pooling and L2 normalisation. The bulk API for corpus-scale jobs, without ML.NET in the way; the
/// <c>EmbedText</c> transform runs the same code.
/// </summary>
/// <remarks>
/// <para>Each call tokenizes its texts (prefix first, truncated to <see cref="TextEmbedderOptions.MaxTokens"/>),
/// orders them by token count when <see cref="TextEmbedderOptions.SortByLength"/> is set, runs them
/// through the model <see cref="TextEmbedderOptions.BatchSize"/> at a time padded to the longest text
/// of the batch, pools each text's token vectors and writes the vectors back in input order.</para>
/// <para>Empty text (and a missing value in ML.NET) is embedded as the empty string: the tokens
/// <c>[CLS] [SEP]</c>. Embedding calls may run from several threads at once.</para>
/// <para>The same texts in the same order with the same settings give the same bits. A text's vector
/// can differ in its last bits when it shares a batch with other texts, because the matrix library
/// rounds differently for other batch shapes; differences are at the level of float32 rounding.</para>
/// </remarks>
public sealed class TextEmbedder : IDisposable
{
    private readonly OnnxEmbeddingModel _model;
    private readonly BertTokenizer _tokenizer;
    private readonly EmbeddingPooling _pooling;
    private readonly bool _normalize;
    private readonly string _prefix;
    private readonly int _maxTokens;
    private readonly int _batchSize;
    private readonly bool _sortByLength;
    private long _texts;
    private long _tokens;
    private long _paddedTokens;
    private long _modelRuns;

    private TextEmbedder(byte[] modelBytes, WordPieceVocabulary vocabulary, OnnxEmbeddingModel model, TextEmbedderOptions options)
    {
        ModelBytes = modelBytes;
        Vocabulary = vocabulary;
        _model = model;
        _tokenizer = vocabulary.CreateTokenizer();
        _pooling = options.Pooling;
        _normalize = options.Normalize;
        _prefix = options.Prefix;
        _maxTokens = options.MaxTokens;
        _batchSize = options.BatchSize;
        _sortByLength = options.SortByLength;
        if (_model.HiddenSize <= 0)
            Embed([string.Empty], new float[1].AsSpan(..0), discoverOnly: true);
        Dimension = _model.HiddenSize;
    }

    /// <summary>The length of every embedding.</summary>
    public int Dimension { get; }

    /// <summary>The device ONNX Runtime runs on, after any fallback to the CPU.</summary>
    public ComputeDevice Device => _model.Device;

    /// <summary>Whether the model outputs one vector per text already (then no pooling is applied).</summary>
    public bool ModelIsPooled => _model.IsPooled;

    /// <summary>Counts since creation: texts embedded, real tokens, tokens including padding, model calls.</summary>
    public EmbeddingStatistics Statistics => new(
        Interlocked.Read(ref _texts), Interlocked.Read(ref _tokens), Interlocked.Read(ref _paddedTokens), Interlocked.Read(ref _modelRuns));

    internal byte[] ModelBytes { get; }

    internal WordPieceVocabulary Vocabulary { get; }

    /// <summary>Loads the model and vocabulary files named in <paramref name="options"/>.</summary>
    /// <param name="options">Model, vocabulary and embedding settings.</param>
    /// <param name="log">Receives messages such as a fall back from CUDA to the CPU.</param>
    /// <exception cref="FileNotFoundException">The model or vocabulary file does not exist.</exception>
    /// <exception cref="FormatException">The model or the vocabulary cannot be used.</exception>
    public static TextEmbedder Create(TextEmbedderOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!File.Exists(options.ModelPath))
            throw new FileNotFoundException($"Could not find the ONNX model file '{options.ModelPath}'.", options.ModelPath);
        var vocabulary = WordPieceVocabulary.Load(options.VocabularyPath, options.LowerCase);
        return Create(File.ReadAllBytes(options.ModelPath), options.ModelPath, vocabulary, options, log);
    }

    internal static TextEmbedder Create(byte[] modelBytes, string source, WordPieceVocabulary vocabulary, TextEmbedderOptions options, Action<string>? log)
    {
        options.Validate();
        var model = OnnxEmbeddingModel.Load(modelBytes, source, options.Device, options.AllowCpuFallback, options.OutputName, log);
        try
        {
            return new TextEmbedder(modelBytes, vocabulary, model, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Embeds texts; row <c>i</c> of the result is text <c>i</c>'s embedding.</summary>
    public float[,] Embed(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var list = texts as IReadOnlyList<string> ?? texts.ToList();
        var result = new float[list.Count, Dimension];
        if (list.Count > 0)
            Embed(list, System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref result[0, 0], result.Length));
        return result;
    }

    /// <summary>Embeds texts into <paramref name="destination"/>, row-major <c>[texts, Dimension]</c>.</summary>
    /// <exception cref="ArgumentException">The destination is not exactly texts × <see cref="Dimension"/> long.</exception>
    public void Embed(IReadOnlyList<string> texts, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (destination.Length != (long)texts.Count * Dimension)
            throw new ArgumentException($"The destination holds {destination.Length} values; {texts.Count} texts need {(long)texts.Count * Dimension}.", nameof(destination));
        Embed(texts, destination, discoverOnly: false);
    }

    /// <summary>
    /// Embeds a stream of texts into a store, a read-ahead chunk at a time, reporting the number of
    /// texts done after each chunk. Returns how many texts were written.
    /// </summary>
    public long EmbedToStore(
        IEnumerable<string> texts,
        EmbeddingStoreWriter store,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(store);
        if (store.Dimension != Dimension)
            throw new ArgumentException($"Store '{store.Folder}' holds vectors of dimension {store.Dimension}; this model embeds to {Dimension}.", nameof(store));

        var chunk = new List<string>(_batchSize * TextEmbedderOptions.Defaults.ReadAheadBatches);
        var vectors = new float[chunk.Capacity * Dimension];
        var done = 0L;
        foreach (var text in texts)
        {
            chunk.Add(text);
            if (chunk.Count == chunk.Capacity)
                Flush();
        }

        Flush();
        return done;

        void Flush()
        {
            if (chunk.Count == 0)
                return;
            cancellationToken.ThrowIfCancellationRequested();
            var span = vectors.AsSpan(0, chunk.Count * Dimension);
            Embed(chunk, span);
            store.WriteRows(span);
            done += chunk.Count;
            chunk.Clear();
            progress?.Report(done);
        }
    }

    /// <summary>
    /// Embeds records into a store folder, as <c>saeml embed</c> writes one: the rows' ids in
    /// <see cref="EmbeddingStore.IdsFileName"/> beside the shards and, last, the manifest. A folder holding an
    /// unfinished store of the same <paramref name="job"/> is resumed after its last complete shard.
    /// </summary>
    /// <param name="records">The texts, in row order; resuming skips the ones already written.</param>
    /// <param name="ids">The records' ids, in the same order.</param>
    /// <param name="folder">The store folder.</param>
    /// <param name="job">What the store is written from (input, model, settings); a resumed store must have been started with the same.</param>
    /// <param name="dataType">Float32 or Float16 values.</param>
    /// <param name="rowsPerShard">Rows per shard file; null for shards of about <see cref="EmbeddingStoreWriter.DefaultShardBytes"/>.</param>
    /// <param name="progress">Receives the number of records in the store so far, resumed ones included.</param>
    /// <param name="cancellationToken">Stops between chunks; the complete shards stay for a resumed run.</param>
    /// <returns>How many records an earlier run had already written.</returns>
    /// <exception cref="IOException">The folder holds an unfinished store of another job.</exception>
    /// <exception cref="InvalidOperationException">The unfinished store's dimension is not this model's.</exception>
    /// <exception cref="ArgumentException">The records and the ids differ in number (checked before the manifest is written).</exception>
    public long EmbedToStoreFolder(
        IEnumerable<TextRecord> records,
        IdIndex ids,
        string folder,
        string job,
        NpyDataType dataType = NpyDataType.Float32,
        long? rowsPerShard = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(ids);
        using var writer = EmbeddingStoreWriter.CanResume(folder)
            ? EmbeddingStoreWriter.Resume(folder, job)
            : new EmbeddingStoreWriter(folder, Dimension, dataType, rowsPerShard, job);
        if (writer.Dimension != Dimension)
            throw new InvalidOperationException($"The unfinished store '{folder}' holds vectors of dimension {writer.Dimension}, but the model embeds to {Dimension}.");
        ids.Save(System.IO.Path.Combine(folder, EmbeddingStore.IdsFileName));

        var skipped = writer.RowsWritten;
        progress?.Report(skipped);
        EmbedToStore(
            records.Skip(checked((int)skipped)).Select(r => r.EmbeddingText),
            writer,
            progress is null ? null : new CallbackProgress<long>(done => progress.Report(skipped + done)),
            cancellationToken);
        if (writer.RowsWritten != ids.Count)
            throw new ArgumentException($"{writer.RowsWritten} records were embedded into '{folder}', but {ids.Count} ids were given for them; the store stays unfinished.", nameof(ids));
        writer.Commit();
        return skipped;
    }

    /// <summary>The token ids of one text: [CLS], the prefixed text's WordPiece tokens, [SEP], cut to MaxTokens.</summary>
    internal int[] Tokenize(string text)
    {
        var ids = _tokenizer.EncodeToIds(_prefix + text, addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true);
        if (ids.Count <= _maxTokens)
            return [.. ids];
        var cut = new int[_maxTokens];
        for (var i = 0; i < _maxTokens - 1; i++)
            cut[i] = ids[i];
        cut[^1] = _tokenizer.SeparatorTokenId;
        return cut;
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _model.Dispose();

    private void Embed(IReadOnlyList<string> texts, Span<float> destination, bool discoverOnly)
    {
        var tokens = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
            tokens[i] = Tokenize(texts[i] ?? string.Empty);
        var order = Enumerable.Range(0, texts.Count).ToArray();
        if (_sortByLength)
            order = order.OrderByDescending(i => tokens[i].Length).ToArray(); // stable: equal lengths keep input order

        for (var start = 0; start < order.Length; start += _batchSize)
        {
            var rows = Math.Min(_batchSize, order.Length - start);
            var width = 0;
            for (var r = 0; r < rows; r++)
                width = Math.Max(width, tokens[order[start + r]].Length);

            var ids = new long[rows * width];
            var mask = new long[rows * width];
            Array.Fill(ids, _tokenizer.PaddingTokenId);
            for (var r = 0; r < rows; r++)
            {
                var text = tokens[order[start + r]];
                for (var t = 0; t < text.Length; t++)
                {
                    ids[r * width + t] = text[t];
                    mask[r * width + t] = 1;
                }
            }

            var output = _model.Run(ids, mask, rows, width);
            Interlocked.Increment(ref _modelRuns);
            if (discoverOnly)
                return;

            for (var r = 0; r < rows; r++)
            {
                var row = order[start + r];
                var target = destination.Slice(row * Dimension, Dimension);
                Pool(output, r, tokens[row].Length, width, target);
                if (_normalize)
                    NormalizeInPlace(target);
                Interlocked.Add(ref _tokens, tokens[row].Length);
            }

            Interlocked.Add(ref _paddedTokens, (long)rows * width);
            Interlocked.Add(ref _texts, rows);
        }
    }

    /// <summary>One text's vector from the batch output (row <paramref name="row"/>, <paramref name="length"/> real tokens of <paramref name="width"/>).</summary>
    private void Pool(float[] output, int row, int length, int width, Span<float> target)
    {
        if (_model.IsPooled)
        {
            output.AsSpan(row * Dimension, Dimension).CopyTo(target);
            return;
        }

        var rowStart = (long)row * width * Dimension;                     // [rows, width, hidden]
        switch (_pooling)
        {
            case EmbeddingPooling.Cls:
                output.AsSpan((int)rowStart, Dimension).CopyTo(target);
                break;
            case EmbeddingPooling.LastToken:
                output.AsSpan((int)(rowStart + (long)(length - 1) * Dimension), Dimension).CopyTo(target);
                break;
            default:
                target.Clear();
                for (var t = 0; t < length; t++)
                    TensorPrimitives.Add(target, output.AsSpan((int)(rowStart + (long)t * Dimension), Dimension), target);
                TensorPrimitives.Divide(target, length, target);
                break;
        }
    }

    private static void NormalizeInPlace(Span<float> vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
            TensorPrimitives.Divide(vector, norm, vector);
    }
}
