using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SaeMl.Compute;
using SaeMl.Embedding;
using SaeMl.MLNet;

[assembly: LoadableClass(typeof(TextEmbeddingTransformer), typeof(ModelPersistence.Loader<TextEmbeddingTransformer>), null, typeof(SignatureLoadModel), "Embed Text", TextEmbeddingTransformer.LoaderSignature)]

namespace SaeMl.Embedding;

/// <summary>
/// Embeds a text column with an ONNX embedding model: the estimator of <c>mlContext.Transforms.EmbedText</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | No |
/// | Input column data type | Text |
/// | Output column data type | Known-size vector of Single (the model's hidden size) |
/// | Exportable to ONNX | No |
///
/// Fitting loads the model and vocabulary; see <see cref="TextEmbedder"/> for tokenization, pooling,
/// normalisation and batching. The fitted transformer saves the model and vocabulary into the ML.NET
/// model zip, so the zip alone is enough to embed. The device is not saved: a loaded transform runs on
/// <c>auto</c> until <see cref="TextEmbeddingTransformer.WithDevice"/> chooses another.
/// ]]></format>
/// </remarks>
public sealed class TextEmbeddingEstimator : IEstimator<TextEmbeddingTransformer>
{
    private readonly IHost _host;
    private readonly TextEmbedderOptions _options;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;

    internal TextEmbeddingEstimator(IHostEnvironment env, TextEmbedderOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputColumnName, nameof(options.OutputColumnName));
        ArgumentException.ThrowIfNullOrEmpty(options.InputColumnName, nameof(options.InputColumnName));
        options.Validate();
        _host = env.Register(nameof(TextEmbeddingEstimator));
        _options = options.Copy();
        _outputColumnName = options.OutputColumnName;
        _inputColumnName = options.InputColumnName;
    }

    /// <summary>Loads the model and vocabulary and checks that the input column holds text.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not text.</exception>
    public TextEmbeddingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        new TextInputColumn(_inputColumnName).Check(input.Schema);
        var embedder = TextEmbedder.Create(_options, TextEmbeddingTransformer.Logger(_host));
        return TextEmbeddingTransformer.Owning(embedder, () => new TextEmbeddingTransformer(_host, embedder, _options, _inputColumnName, _outputColumnName));
    }

    /// <summary>The input schema plus the output vector column.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not text.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        new TextInputColumn(_inputColumnName).Check(inputSchema);
        return ColumnChecks.WithVectorColumns(inputSchema, [_outputColumnName]);
    }
}

/// <summary>
/// A fitted <c>EmbedText</c> transform: adds a column with the embedding of each row's text. Rows are
/// read ahead and embedded a batch at a time (sorted by length inside the batch); results keep row
/// order. Saves into and loads from ML.NET model zips, model and vocabulary included.
/// </summary>
public sealed class TextEmbeddingTransformer : ITransformer, ICanSaveModel, IDisposable, IPersistedTransformer<TextEmbeddingTransformer>
{
    internal const string LoaderSignature = "SaeMlEmbedText";
    private const string ModelStream = "model.onnx";
    private const string VocabularyStream = "vocab.txt";
    private const string Component = "EmbedText transformer";

    private readonly IHost _host;
    private readonly TextEmbedderOptions _settings;
    private readonly BatchedColumnMapping<string> _mapping;

    internal TextEmbeddingTransformer(IHost host, TextEmbedder embedder, TextEmbedderOptions settings, string inputColumnName, string outputColumnName)
    {
        _host = host;
        Embedder = embedder;
        _settings = settings.Copy();
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        _mapping = new BatchedColumnMapping<string>(
            Component,
            new TextInputColumn(inputColumnName),
            [VectorOutputColumn.Dense(outputColumnName, embedder.Dimension)],
            settings.BatchSize * TextEmbedderOptions.Defaults.ReadAheadBatches,
            (texts, outputs) => embedder.Embed(texts, outputs[0].Values.AsSpan(0, texts.Count * embedder.Dimension)));
    }

    /// <summary>The text column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The embedding column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>The length of every embedding.</summary>
    public int Dimension => Embedder.Dimension;

    /// <summary>The embedder this transform runs: the same model as a bulk API (<see cref="TextEmbedder.Embed(IEnumerable{string})"/>).</summary>
    public TextEmbedder Embedder { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    private static readonly SavedFormat Saved = new("SAEMLEMB", 0x00010001, LoaderSignature, typeof(TextEmbeddingTransformer), Component);

    static SavedFormat IPersistedTransformer<TextEmbeddingTransformer>.Format => Saved;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _mapping.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => _mapping.Transform(input);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _mapping.GetRowToRowMapper(inputSchema);

    /// <summary>Loads the text embedder of a model zip (an <c>EmbedText</c> pipeline saved with <c>mlContext.Model.Save</c>) onto <paramref name="device"/>.</summary>
    /// <param name="path">The model zip; it must hold exactly one EmbedText transform.</param>
    /// <param name="device">Where ONNX Runtime runs; <c>auto</c> when not given.</param>
    /// <param name="allowCpuFallback">With <c>cuda</c> and no usable GPU, run on the CPU (logged) instead of failing.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="FormatException">Not a model zip, no or several EmbedText transforms, or a corrupt one.</exception>
    public static TextEmbeddingTransformer Load(string path, ComputeDevice? device = null, bool allowCpuFallback = false) =>
        ModelZip.LoadSingle<TextEmbeddingTransformer>(path, "EmbedText", loaded => loaded.WithDevice(device ?? ComputeDevice.Auto, allowCpuFallback));

    /// <summary>
    /// The same transform running on another device. A saved transform does not keep its device (a model
    /// file should run anywhere): it loads on <c>auto</c>, and this chooses another.
    /// </summary>
    /// <param name="device">Where ONNX Runtime runs.</param>
    /// <param name="allowCpuFallback">With <c>cuda</c> and no usable GPU, run on the CPU (logged) instead of failing.</param>
    public TextEmbeddingTransformer WithDevice(ComputeDevice device, bool allowCpuFallback = false)
    {
        var settings = _settings.Copy();
        settings.Device = device;
        settings.AllowCpuFallback = allowCpuFallback;
        var embedder = TextEmbedder.Create(Embedder.ModelBytes, $"{Component} model", Embedder.Vocabulary, settings, Logger(_host));
        return Owning(embedder, () => new TextEmbeddingTransformer(_host, embedder, settings, InputColumnName, OutputColumnName));
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => Embedder.Dispose();

    void ICanSaveModel.Save(ModelSaveContext context) => ModelPersistence.Save(context, Saved, entry =>
    {
        var writer = entry.Writer;
        writer.Write(InputColumnName);
        writer.Write(OutputColumnName);
        writer.Write((int)_settings.Pooling);
        writer.Write(_settings.Normalize);
        writer.Write(_settings.Prefix);
        writer.Write(_settings.MaxTokens);
        writer.Write(_settings.BatchSize);
        writer.Write(_settings.SortByLength);
        writer.Write(_settings.OutputName ?? string.Empty);
        writer.Write(Embedder.Vocabulary.LowerCase);
        writer.Write(Embedder.Vocabulary.StripAccents);
        writer.Write(Dimension);
        entry.WriteBlob(ModelStream, Embedder.ModelBytes);
        entry.WriteBlob(VocabularyStream, Embedder.Vocabulary.ToVocabText());
    });

    /// <summary>Reads a transformer written by <see cref="ICanSaveModel.Save"/>; ML.NET calls it through <c>LoadableClass</c>.</summary>
    static TextEmbeddingTransformer IPersistedTransformer<TextEmbeddingTransformer>.Load(IHostEnvironment env, SavedEntryReader entry)
    {
        var host = env.Register(nameof(TextEmbeddingTransformer));
        var reader = entry.Reader;
        var input = reader.ReadString();
        var output = reader.ReadString();
        var settings = new TextEmbedderOptions
        {
            Pooling = entry.ReadEnum<EmbeddingPooling>(),
            Normalize = reader.ReadBoolean(),
            Prefix = reader.ReadString(),
            MaxTokens = entry.ReadInt("MaxTokens", minimum: 2),
            BatchSize = entry.ReadInt("BatchSize", minimum: 1),
            SortByLength = reader.ReadBoolean(),
            OutputName = reader.ReadString() is { Length: > 0 } name ? name : null,
        };
        var lowerCase = reader.ReadBoolean();
        var stripAccents = reader.ReadBoolean();
        var dimension = entry.ReadInt("Dimension", minimum: 1);

        var model = entry.ReadBlob(ModelStream);
        var vocabulary = WordPieceVocabulary.FromVocabText(entry.ReadBlob(VocabularyStream), lowerCase, stripAccents, $"saved {Component} vocabulary");
        var embedder = TextEmbedder.Create(model, $"saved {Component} model", vocabulary, settings, Logger(host));
        return Owning(embedder, () => embedder.Dimension == dimension
            ? new TextEmbeddingTransformer(host, embedder, settings, input, output)
            : throw new FormatException($"The saved {Component} declares dimension {dimension}, but its model embeds to {embedder.Dimension}."));
    }

    /// <summary>Builds a transformer that takes over <paramref name="embedder"/>, releasing it if building fails.</summary>
    internal static TextEmbeddingTransformer Owning(TextEmbedder embedder, Func<TextEmbeddingTransformer> build)
    {
        try
        {
            return build();
        }
        catch
        {
            embedder.Dispose();
            throw;
        }
    }

    /// <summary>Sends the embedder's messages (a CPU fallback) to ML.NET's log.</summary>
    internal static Action<string> Logger(IHost host) => message => MLNetInternals.Warn(host, "EmbedText", message);
}
