using System.Buffers;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.MLNet;
using SaeMl.Search;

[assembly: LoadableClass(typeof(SparseAutoencoderTransformer), typeof(ModelPersistence.Loader<SparseAutoencoderTransformer>), null, typeof(SignatureLoadModel), "Sparse Autoencoder", SparseAutoencoderTransformer.LoaderSignature)]

namespace SaeMl.Autoencoder;

/// <summary>
/// Trains a TopK sparse autoencoder on an embedding column: the estimator of
/// <c>mlContext.Transforms.SparseAutoencode</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | Yes |
/// | Input column data type | Known-size vector of Single (the embeddings) |
/// | Output column data type | Sparse vector of Single of length n (at most K non-zeros); optionally the reconstruction, a vector of Single of length d |
/// | Exportable to ONNX | No |
///
/// The training objective's KL term keeps each row's score distribution over its M neighbor documents (see
/// <see cref="SparseAutoencoderTrainer"/>). They come from a neighbors column when one is named (a vector of
/// Single of length M·d, best first); otherwise fitting finds them by exact search, over
/// <see cref="SparseAutoencoderOptions.NeighborCorpusPath"/> or over the rows themselves, and holds only their
/// row numbers. <see cref="SparseAutoencoderOptions.KLWeight"/> = 0 trains the MSE-only ablation (reconstruction
/// error and AuxK). Fitting reads the embedding column into memory (rows × d floats); corpus-scale training goes
/// through <see cref="Fit(SaeTrainingData, CancellationToken)"/> with stores (<see cref="SaeTrainingData.OpenStores"/>).
/// ]]></format>
/// </remarks>
public sealed class SparseAutoencoderEstimator : IEstimator<SparseAutoencoderTransformer>
{
    private readonly IHost _host;
    private readonly SparseAutoencoderOptions _options;
    private readonly string _latentColumnName;
    private readonly string _inputColumnName;
    private readonly string? _reconstructionColumnName;
    private readonly string? _neighborsColumnName;
    private readonly IProgress<SaeTrainingProgress>? _progress;

    internal SparseAutoencoderEstimator(IHostEnvironment env, SparseAutoencoderOptions options, IProgress<SaeTrainingProgress>? progress)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputColumnName, nameof(options.OutputColumnName));
        ArgumentException.ThrowIfNullOrEmpty(options.InputColumnName, nameof(options.InputColumnName));
        _host = env.Register(nameof(SparseAutoencoderEstimator));
        _options = options.Copy();
        _latentColumnName = options.OutputColumnName;
        _inputColumnName = options.InputColumnName;
        _reconstructionColumnName = options.ReconstructionColumnName;
        _neighborsColumnName = options.NeighborsColumnName;
        _progress = progress;
    }

    /// <summary>
    /// Trains on the embedding column of <paramref name="input"/> with the paper's objective: each row's M
    /// neighbor documents come from the neighbors column when one is named, else from exact search over
    /// <see cref="SparseAutoencoderOptions.NeighborCorpusPath"/> or over the rows themselves. Only
    /// <see cref="SparseAutoencoderOptions.KLWeight"/> = 0 trains the MSE-only ablation; <c>mlContext.Log</c>
    /// says which objective ran.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    /// <exception cref="ArgumentException">
    /// The input is empty; a vector holds NaN or infinity (reported with its row); the neighbors column holds fewer
    /// documents per row than <see cref="SparseAutoencoderOptions.NeighborsPerQuery"/>; or the rows searched for
    /// neighbors are too few or of another dimension.
    /// </exception>
    public SparseAutoencoderTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var dimension = InputDimension(input.Schema);
        var options = _options.Copy();
        var findNeighbors = _neighborsColumnName is null && options.KLWeight > 0 && options.NeighborsPerQuery > 0;
        if (_neighborsColumnName is null && !findNeighbors)
            options.NeighborsPerQuery = 0; // the MSE-only ablation, asked for with KLWeight = 0
        options.Validate(dimension); // before any search, so a bad setting costs nothing

        var queries = new List<float[]>();
        var documents = new List<float[]>();
        var neighbors = 0;
        var columns = new List<DataViewSchema.Column> { input.Schema[_inputColumnName] };
        if (_neighborsColumnName is not null)
        {
            var documentColumn = ColumnChecks.Find(input.Schema, _neighborsColumnName);
            if (documentColumn.Type is not VectorDataViewType { ItemType: NumberDataViewType item, Size: var size } || item != NumberDataViewType.Single || size == 0 || size % dimension != 0)
                throw ColumnChecks.Mismatch(_neighborsColumnName, $"a vector of Single of M × {dimension} values", documentColumn.Type.ToString() ?? "unknown");
            neighbors = ((VectorDataViewType)documentColumn.Type).Size / dimension;
            if (neighbors < options.NeighborsPerQuery)
            {
                throw new ArgumentException(
                    $"The neighbors column '{_neighborsColumnName}' holds {neighbors} documents per row, but NeighborsPerQuery is {options.NeighborsPerQuery}: "
                    + "give at least that many, or lower NeighborsPerQuery.");
            }

            columns.Add(documentColumn);
        }

        using (var cursor = input.GetRowCursor(columns))
        {
            var readQuery = new VectorInputColumn(_inputColumnName, dimension).CreateReader(cursor, columns[0]);
            var readDocuments = neighbors > 0 ? new VectorInputColumn(_neighborsColumnName!, neighbors * dimension).CreateReader(cursor, columns[1]) : null;
            while (cursor.MoveNext())
            {
                queries.Add(readQuery());
                if (readDocuments is not null)
                    documents.Add(readDocuments());
            }
        }

        if (queries.Count == 0)
            throw new ArgumentException($"SparseAutoencode was fitted on no rows: the input column '{_inputColumnName}' is empty.", nameof(input));
        var rows = new float[(long)queries.Count * dimension];
        for (var i = 0; i < queries.Count; i++)
            queries[i].CopyTo(rows, (long)i * dimension);
        queries.Clear();
        var source = $"input column '{_inputColumnName}'";
        if (FiniteValues.FirstNonFiniteRow(rows, dimension) is var bad and >= 0)
            throw new ArgumentException($"Row {bad} of {source} holds NaN or infinity; embeddings must be finite.", nameof(input));

        using var data = findNeighbors
            ? WithNearestDocuments(rows, dimension, options, source)
            : SaeTrainingData.FromArrays(rows, dimension, neighbors > 0 ? documents.SelectMany(d => d).ToArray() : null, neighbors, source);
        return Fit(data, options, CancellationToken.None);
    }

    /// <summary>
    /// The rows with each row's M nearest documents by exact inner-product search, held as row numbers: over
    /// <see cref="SparseAutoencoderOptions.NeighborCorpusPath"/> when given, else over the rows themselves (each
    /// row's M nearest other rows; a row is never its own neighbor, even when another row equals it).
    /// </summary>
    private static SaeTrainingData WithNearestDocuments(float[] rows, int dimension, SparseAutoencoderOptions options, string source)
    {
        var m = options.NeighborsPerQuery;
        var count = rows.Length / dimension;
        var neighborRows = new long[(long)count * m];
        if (options.NeighborCorpusPath is { } corpusPath)
        {
            var corpus = EmbeddingStore.Open(corpusPath);
            try
            {
                if (corpus.Dimension != dimension)
                    throw new ArgumentException($"NeighborCorpusPath '{corpusPath}' holds vectors of dimension {corpus.Dimension}; the input column's are {dimension}.", nameof(options));
                if (corpus.RowCount < m)
                    throw new ArgumentException($"NeighborCorpusPath '{corpusPath}' holds {corpus.RowCount} documents; NeighborsPerQuery needs {m}.", nameof(options));
                var found = ExactSearch.Search(rows, corpus, new ExactSearchOptions { K = m, Device = options.Device });
                found.Rows.CopyTo(neighborRows);
                return SaeTrainingData.FromArrayWithNeighborRows(rows, dimension, neighborRows, m, corpus, source + string.Create(CultureInfo.InvariantCulture,
                    $", neighbors by exact search over '{corpus.Name}' ({corpus.RowCount:N0} documents)"), corpusPath);
            }
            catch
            {
                corpus.Dispose();
                throw;
            }
        }

        if (count <= m)
            throw new ArgumentException($"SparseAutoencode searches its {count} training rows for each row's {m} nearest others (no neighbors column, no NeighborCorpusPath); it needs more than {m} rows.");
        var results = ExactSearch.Search(rows, rows, dimension, new ExactSearchOptions { K = m + 1, Device = options.Device });
        for (var row = 0; row < count; row++)
        {
            var j = 0;
            foreach (var other in results.RowsOf(row))
            {
                if (other != row && j < m)
                    neighborRows[(long)row * m + j++] = other;
            }
        }

        return SaeTrainingData.FromArrayWithNeighborRows(rows, dimension, neighborRows, m, null,
            source + string.Create(CultureInfo.InvariantCulture, $", neighbors by exact search over the {count:N0} training rows"), "the training rows");
    }

    /// <summary>
    /// Trains on data outside ML.NET, e.g. <see cref="SaeTrainingData.OpenStores"/> at corpus scale,
    /// and returns a transformer that reads this estimator's input column.
    /// </summary>
    /// <param name="data">Queries and their neighbor documents.</param>
    /// <param name="cancellationToken">Checked before every training step.</param>
    public SparseAutoencoderTransformer Fit(SaeTrainingData data, CancellationToken cancellationToken = default) => Fit(data, _options, cancellationToken);

    /// <summary>The input schema plus the latent column (and the reconstruction column, when named).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not a vector of Single.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        new VectorInputColumn(_inputColumnName, length: 0).Check(inputSchema);
        return ColumnChecks.WithVectorColumns(inputSchema, _reconstructionColumnName is null ? [_latentColumnName] : [_latentColumnName, _reconstructionColumnName]);
    }

    private SparseAutoencoderTransformer Fit(SaeTrainingData data, SparseAutoencoderOptions options, CancellationToken cancellationToken)
    {
        // What trains, and each epoch's validation, go to ML.NET's log (mlContext.Log) as well as to the progress callback.
        const string Channel = "Training the sparse autoencoder";
        var objective = options.KLWeight > 0 && options.NeighborsPerQuery > 0
            ? string.Create(CultureInfo.InvariantCulture, $"FVU + {options.KLWeight} × (KL (the paper's) + {options.LatentKLRatio} × latent-score KL) over each row's {options.NeighborsPerQuery} neighbor documents at temperature {(options.Temperature is { } tau ? tau.ToString(CultureInfo.InvariantCulture) : $"{options.RelativeTemperature} × their score spread")}")
            : "MSE only (the ablation; no KL term)";
        MLNetInternals.Info(_host, Channel, string.Create(CultureInfo.InvariantCulture,
            $"SparseAutoencode: n = {options.LatentSize}, K = {options.ActiveLatents}, {options.Epochs} epochs over {data.QueryCount} rows from {data.Source}, {options.EffectiveBatchSize} a step{(options.BatchSize is null ? " (the default at this K)" : "")}; objective: {objective}; {options.ValidationFraction:P0} of the rows held out for validation."));
        var progress = new CallbackProgress<SaeTrainingProgress>(p =>
        {
            if (p.Validation is { } v)
            {
                MLNetInternals.Info(_host, Channel, $"SparseAutoencode epoch {p.Epoch}/{p.Epochs}: validation {v}");
            }

            _progress?.Report(p);
        });
        var trainer = new SparseAutoencoderTrainer(options);
        var model = trainer.Train(data, progress, cancellationToken);
        return new SparseAutoencoderTransformer(_host, model, _inputColumnName, _latentColumnName, _reconstructionColumnName);
    }

    private int InputDimension(DataViewSchema schema)
    {
        var column = ColumnChecks.Find(schema, _inputColumnName);
        return column.Type is VectorDataViewType { ItemType: NumberDataViewType item, Size: > 0 and var size } && item == NumberDataViewType.Single
            ? size
            : throw ColumnChecks.Mismatch(_inputColumnName, "a known-size vector of Single", column.Type.ToString() ?? "unknown");
    }
}

/// <summary>
/// A trained sparse autoencoder as an ML.NET transform: maps an embedding column to its sparse latent
/// (a vector of length n with at most K non-zeros, indices ascending) and, when named, its
/// reconstruction. Rows are read ahead and encoded a batch at a time. Saves into ML.NET model zips.
/// </summary>
public sealed class SparseAutoencoderTransformer : ITransformer, ICanSaveModel, IDisposable, IPersistedTransformer<SparseAutoencoderTransformer>
{
    internal const string LoaderSignature = "SaeMlSparseAutoencoder";
    private const string Component = "SparseAutoencode transformer";
    private const int BatchRows = 1024;

    private readonly IHost _host;
    private readonly BatchedColumnMapping<float[]> _mapping;

    internal SparseAutoencoderTransformer(IHost host, SparseAutoencoder autoencoder, string inputColumnName, string latentColumnName, string? reconstructionColumnName)
    {
        _host = host;
        Autoencoder = autoencoder;
        InputColumnName = inputColumnName;
        LatentColumnName = latentColumnName;
        ReconstructionColumnName = reconstructionColumnName;
        var outputs = new List<VectorOutputColumn> { VectorOutputColumn.Sparse(latentColumnName, autoencoder.LatentSize, autoencoder.ActiveLatents) };
        if (reconstructionColumnName is not null)
            outputs.Add(VectorOutputColumn.Dense(reconstructionColumnName, autoencoder.Dimension));
        _mapping = new BatchedColumnMapping<float[]>(Component, new VectorInputColumn(inputColumnName, autoencoder.Dimension), outputs, BatchRows, Compute);
    }

    /// <summary>The embedding column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The sparse latent column written.</summary>
    public string LatentColumnName { get; }

    /// <summary>The reconstruction column written, or null.</summary>
    public string? ReconstructionColumnName { get; }

    /// <summary>The autoencoder: batch <see cref="SparseAutoencoder.Encode(ReadOnlySpan{float})"/> and <see cref="SparseAutoencoder.Decode(SparseCodes)"/>, and its weights.</summary>
    public SparseAutoencoder Autoencoder { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    private static readonly SavedFormat Saved = new("SAEMLSAE", SavedAutoencoder.ThresholdVersion, LoaderSignature, typeof(SparseAutoencoderTransformer), Component, OldestReadable: 0x00010001);

    static SavedFormat IPersistedTransformer<SparseAutoencoderTransformer>.Format => Saved;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _mapping.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => _mapping.Transform(input);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _mapping.GetRowToRowMapper(inputSchema);

    /// <summary>
    /// Loads the sparse autoencoder of a model zip (as <c>saeml train</c> or <c>mlContext.Model.Save</c> wrote it,
    /// alone or in a chain) onto <paramref name="device"/>.
    /// </summary>
    /// <param name="path">The model zip; it must hold exactly one SparseAutoencode transform.</param>
    /// <param name="device">Where the weights go; <c>auto</c> when not given.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="FormatException">Not a model zip, no or several SparseAutoencode transforms, or a corrupt one.</exception>
    public static SparseAutoencoderTransformer Load(string path, ComputeDevice? device = null) =>
        ModelZip.LoadSingle<SparseAutoencoderTransformer>(path, "SparseAutoencode", loaded => loaded.WithDevice(device ?? ComputeDevice.Auto));

    /// <summary>
    /// A transform over an autoencoder made elsewhere (weights imported from Python, for instance), which it
    /// then owns: it transforms like a fitted one and <see cref="Save"/> writes it as a model zip.
    /// </summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="outputColumnName">The sparse latent column it writes.</param>
    /// <param name="inputColumnName">The embedding column it reads.</param>
    /// <param name="reconstructionColumnName">The reconstruction column it writes, or null for none.</param>
    public static SparseAutoencoderTransformer FromAutoencoder(
        SparseAutoencoder autoencoder,
        string outputColumnName = SaeColumnNames.Latent,
        string inputColumnName = SaeColumnNames.Embedding,
        string? reconstructionColumnName = SaeColumnNames.Reconstruction)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        return new(((IHostEnvironment)new MLContext()).Register(nameof(SparseAutoencoderTransformer)), autoencoder, inputColumnName, outputColumnName, reconstructionColumnName);
    }

    /// <summary>
    /// Saves this transform alone as an ML.NET model zip whose input is a vector column named
    /// <see cref="InputColumnName"/> of <see cref="SparseAutoencoder.Dimension"/> floats (what <c>saeml train</c>
    /// writes). The zip is written under a temporary name and renamed, so a reader never sees half of it.
    /// </summary>
    /// <param name="path">The zip to write; an existing file there is replaced.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var schema = new DataViewSchema.Builder();
        schema.AddColumn(InputColumnName, new VectorDataViewType(NumberDataViewType.Single, Autoencoder.Dimension));
        var ml = new MLContext();
        AtomicFile.Write(path, stream => ml.Model.Save(this, schema.ToSchema(), stream));
    }

    /// <summary>The same transform with its weights on another device (a saved transform loads on <c>auto</c>).</summary>
    public SparseAutoencoderTransformer WithDevice(ComputeDevice device) =>
        new(_host, SparseAutoencoder.FromWeights(Autoencoder.GetWeights(), Autoencoder.ActiveLatents, Autoencoder.ActivationThreshold, device), InputColumnName, LatentColumnName, ReconstructionColumnName);

    /// <summary>Releases the weights.</summary>
    public void Dispose() => Autoencoder.Dispose();

    void ICanSaveModel.Save(ModelSaveContext context) => ModelPersistence.Save(context, Saved, entry =>
    {
        var writer = entry.Writer;
        writer.Write(InputColumnName);
        writer.Write(LatentColumnName);
        writer.Write(ReconstructionColumnName ?? string.Empty);
        SavedAutoencoder.Write(entry, Autoencoder);
    });

    /// <summary>Reads a transformer written by <see cref="ICanSaveModel.Save"/>; ML.NET calls it through <c>LoadableClass</c>.</summary>
    static SparseAutoencoderTransformer IPersistedTransformer<SparseAutoencoderTransformer>.Load(IHostEnvironment env, SavedEntryReader entry)
    {
        var host = env.Register(nameof(SparseAutoencoderTransformer));
        var reader = entry.Reader;
        var input = reader.ReadString();
        var latent = reader.ReadString();
        var reconstruction = reader.ReadString() is { Length: > 0 } name ? name : null;
        return new SparseAutoencoderTransformer(host, SavedAutoencoder.Read(entry), input, latent, reconstruction);
    }

    /// <summary>Encodes a batch of input rows; fills the latent batch (non-zeros only) and the reconstruction batch.</summary>
    private void Compute(IReadOnlyList<float[]> inputs, IReadOnlyList<VectorOutputBatch> outputs)
    {
        var dimension = Autoencoder.Dimension;
        var length = inputs.Count * dimension;
        var flat = ArrayPool<float>.Shared.Rent(length);
        try
        {
            for (var i = 0; i < inputs.Count; i++)
                inputs[i].CopyTo(flat, i * dimension);
            var (codes, reconstruction) = Autoencoder.EncodeRows(flat.AsSpan(0, length), reconstruct: outputs.Count > 1);
            var latents = outputs[0];
            for (var row = 0; row < inputs.Count; row++)
            {
                var values = codes.ValuesOf(row);
                var indices = codes.IndicesOf(row);
                var targetValues = latents.ValuesOf(row);
                var targetIndices = latents.IndicesOf(row);
                var count = 0;
                for (var j = 0; j < values.Length; j++)
                {
                    if (values[j] > 0)
                    {
                        targetValues[count] = values[j];
                        targetIndices[count++] = indices[j];
                    }
                }

                latents.Counts![row] = count;
            }

            reconstruction?.CopyTo(outputs[1].Values, 0);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(flat);
        }
    }
}
