using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SaeMl.Autoencoder;
using SaeMl.MLNet;
using SaeMl.Steering;

[assembly: LoadableClass(typeof(LatentSteeringTransformer), typeof(ModelPersistence.Loader<LatentSteeringTransformer>), null, typeof(SignatureLoadModel), "Latent Steering", LatentSteeringTransformer.LoaderSignature)]

namespace SaeMl.Steering;

/// <summary>
/// Steers embeddings through a sparse autoencoder's latents: the estimator of <c>mlContext.Transforms.SteerLatents</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Estimator characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | Only when an edit is relative to a latent's typical activation (its mean non-zero value, measured over the data) |
/// | Input column data type | Known-size vector of Single of length d (the embeddings) |
/// | Output column data type | Vector of Single of length d; optionally the steered latents, a sparse vector of Single of length n |
/// | Exportable to ONNX | No |
/// ]]></format>
/// </remarks>
public sealed class LatentSteeringEstimator : IEstimator<LatentSteeringTransformer>
{
    private const int TypicalBatchRows = 1024;
    private readonly IHost _host;
    private readonly SaeWeights _weights;
    private readonly int _activeLatents;
    private readonly float _activationThreshold;
    private readonly LatentSteeringOptions _options;

    internal LatentSteeringEstimator(IHostEnvironment env, SparseAutoencoder autoencoder, LatentSteeringOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(options.InputColumnName);
        ArgumentNullException.ThrowIfNull(options.Plan);
        options.Plan.Validate(autoencoder.LatentSize);
        _host = env.Register(nameof(LatentSteeringEstimator));
        _weights = autoencoder.GetWeights(); // the transform owns its copy: the caller may dispose the autoencoder
        _activeLatents = autoencoder.ActiveLatents;
        _activationThreshold = autoencoder.ActivationThreshold;
        _options = new LatentSteeringOptions
        {
            OutputColumnName = options.OutputColumnName, InputColumnName = options.InputColumnName, LatentColumnName = options.LatentColumnName,
            Plan = options.Plan, Mode = options.Mode, Normalize = options.Normalize,
        };
    }

    /// <summary>Measures the typical activation of the latents that relative edits name (when there are such edits), and returns the transform.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not a vector of Single of the autoencoder's dimension.</exception>
    /// <exception cref="ArgumentException">A relative edit names a latent that never fires on the data.</exception>
    public LatentSteeringTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var autoencoder = SparseAutoencoder.FromWeights(_weights, _activeLatents, _activationThreshold, Compute.ComputeDevice.Auto);
        try
        {
            var column = ColumnChecks.Find(input.Schema, _options.InputColumnName);
            var reader = new VectorInputColumn(_options.InputColumnName, autoencoder.Dimension);
            if (!reader.Accepts(column.Type))
                throw ColumnChecks.Mismatch(_options.InputColumnName, reader.ExpectedType, column.Type.ToString() ?? "unknown");
            var typical = _options.Plan.NeedsTypicalActivations
                ? TypicalActivations(input, column, reader, autoencoder)
                : _options.Plan.Latents.Select(_ => float.NaN).ToArray();
            return new LatentSteeringTransformer(_host, autoencoder, _options, typical);
        }
        catch
        {
            autoencoder.Dispose();
            throw;
        }
    }

    /// <summary>The transform from the plan alone, for plans without relative edits (nothing is measured).</summary>
    /// <exception cref="InvalidOperationException">An edit is relative to a latent's typical activation, which only data can give.</exception>
    public LatentSteeringTransformer FitWithoutData()
    {
        if (_options.Plan.NeedsTypicalActivations)
            throw new InvalidOperationException("The plan has an edit relative to a latent's typical activation; fit on data to measure it.");
        return new LatentSteeringTransformer(_host, SparseAutoencoder.FromWeights(_weights, _activeLatents, _activationThreshold, Compute.ComputeDevice.Auto), _options,
            _options.Plan.Latents.Select(_ => float.NaN).ToArray());
    }

    /// <summary>The input schema plus the steered embedding column (and the steered latents, when named).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        new VectorInputColumn(_options.InputColumnName, length: 0).Check(inputSchema);
        return ColumnChecks.WithVectorColumns(inputSchema, _options.LatentColumnName is null ? [_options.OutputColumnName] : [_options.OutputColumnName, _options.LatentColumnName]);
    }

    /// <summary>The mean non-zero activation of each edited latent over the input rows, in the order of <see cref="SteeringPlan.Latents"/>.</summary>
    private float[] TypicalActivations(IDataView input, DataViewSchema.Column column, VectorInputColumn reader, SparseAutoencoder autoencoder)
    {
        var latents = _options.Plan.Latents;
        var sums = new double[latents.Count];
        var counts = new long[latents.Count];
        var block = new float[TypicalBatchRows * autoencoder.Dimension];
        var rows = 0;
        using (var cursor = input.GetRowCursor([column]))
        {
            var read = reader.CreateReader(cursor, column);
            while (true)
            {
                var more = cursor.MoveNext();
                if (more)
                    read().CopyTo(block, rows++ * autoencoder.Dimension);
                if (rows == TypicalBatchRows || !more && rows > 0)
                {
                    var codes = autoencoder.Encode(block.AsSpan(0, rows * autoencoder.Dimension));
                    for (var row = 0; row < rows; row++)
                    {
                        var indices = codes.IndicesOf(row);
                        var values = codes.ValuesOf(row);
                        for (var i = 0; i < latents.Count; i++)
                        {
                            var at = indices.BinarySearch(latents[i]);
                            if (at >= 0 && values[at] > 0)
                            {
                                sums[i] += values[at];
                                counts[i]++;
                            }
                        }
                    }

                    rows = 0;
                }

                if (!more)
                    break;
            }
        }

        var relative = _options.Plan.Edits.Where(e => e.Relative).Select(e => e.Latent).ToHashSet();
        for (var i = 0; i < latents.Count; i++)
        {
            if (counts[i] == 0 && relative.Contains(latents[i]))
                throw new ArgumentException($"Latent {latents[i]} never fires on the data SteerLatents was fitted on, so an edit relative to its typical activation has no scale; fit on data where it fires, or give an absolute value.");
        }

        return sums.Zip(counts, (sum, count) => count == 0 ? float.NaN : (float)(sum / count)).ToArray();
    }
}

/// <summary>
/// A fitted <c>SteerLatents</c> transform: encodes each embedding with its sparse autoencoder, applies the plan's
/// edits to the latents, and writes the steered embedding (and, when named, the steered latents). Rows are read
/// ahead and steered a block at a time. Saves into ML.NET model zips with the autoencoder's weights.
/// </summary>
public sealed class LatentSteeringTransformer : ITransformer, ICanSaveModel, IDisposable, IPersistedTransformer<LatentSteeringTransformer>
{
    internal const string LoaderSignature = "SaeMlLatentSteering";
    private const string Component = "SteerLatents transformer";
    private const int BatchRows = 1024;
    private static readonly SavedFormat Saved = new("SAEMLSTR", SavedAutoencoder.ThresholdVersion, LoaderSignature, typeof(LatentSteeringTransformer), Component, OldestReadable: 0x00010001);

    private readonly IHost _host;
    private readonly LatentSteeringOptions _options;
    private readonly float[] _typical;
    private readonly LatentSteerer _steerer;
    private readonly BatchedColumnMapping<float[]> _mapping;

    internal LatentSteeringTransformer(IHost host, SparseAutoencoder autoencoder, LatentSteeringOptions options, float[] typical)
    {
        _host = host;
        Autoencoder = autoencoder;
        _options = options;
        _typical = typical;
        _steerer = new LatentSteerer(autoencoder, options.Plan, typical, options.Mode, options.Normalize, withLatents: options.LatentColumnName is not null);
        var outputs = new List<VectorOutputColumn> { VectorOutputColumn.Dense(options.OutputColumnName, autoencoder.Dimension) };
        if (options.LatentColumnName is not null)
            outputs.Add(VectorOutputColumn.Sparse(options.LatentColumnName, autoencoder.LatentSize, _steerer.MaxLatents));
        _mapping = new BatchedColumnMapping<float[]>(Component, new VectorInputColumn(options.InputColumnName, autoencoder.Dimension), outputs, BatchRows, Compute);
    }

    /// <summary>The embedding column read.</summary>
    public string InputColumnName => _options.InputColumnName;

    /// <summary>The steered embedding column written.</summary>
    public string OutputColumnName => _options.OutputColumnName;

    /// <summary>The steered latent column written, or null.</summary>
    public string? LatentColumnName => _options.LatentColumnName;

    /// <summary>The edits.</summary>
    public SteeringPlan Plan => _options.Plan;

    /// <summary>How the output is made.</summary>
    public SteeringMode Mode => _options.Mode;

    /// <summary>Whether outputs are scaled to unit length.</summary>
    public bool Normalize => _options.Normalize;

    /// <summary>The typical activation of each latent the plan edits (<see cref="SteeringPlan.Latents"/> order); NaN where none was measured.</summary>
    public IReadOnlyList<float> TypicalActivations => _typical;

    /// <summary>The autoencoder whose latents are edited (this transform's own copy).</summary>
    public SparseAutoencoder Autoencoder { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    static SavedFormat IPersistedTransformer<LatentSteeringTransformer>.Format => Saved;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _mapping.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => _mapping.Transform(input);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _mapping.GetRowToRowMapper(inputSchema);

    /// <summary>Steers a block of embeddings (row-major <c>[rows, d]</c>) outside ML.NET; returns the steered embeddings.</summary>
    /// <exception cref="ArgumentException">The input is not a whole number of rows, or holds NaN or infinity.</exception>
    public float[] Steer(ReadOnlySpan<float> embeddings)
    {
        var outputs = new float[embeddings.Length];
        _steerer.Steer(embeddings, outputs);
        return outputs;
    }

    /// <summary>Releases the autoencoder's weights.</summary>
    public void Dispose() => Autoencoder.Dispose();

    void ICanSaveModel.Save(ModelSaveContext context) => ModelPersistence.Save(context, Saved, entry =>
    {
        var writer = entry.Writer;
        writer.Write(_options.InputColumnName);
        writer.Write(_options.OutputColumnName);
        writer.Write(_options.LatentColumnName ?? string.Empty);
        writer.Write((int)_options.Mode);
        writer.Write(_options.Normalize);
        writer.Write(_options.Plan.Edits.Count);
        foreach (var edit in _options.Plan.Edits)
        {
            writer.Write(edit.Latent);
            writer.Write((int)edit.Kind);
            writer.Write(edit.Value);
            writer.Write(edit.Relative);
        }

        foreach (var value in _typical)
            writer.Write(value);
        SavedAutoencoder.Write(entry, Autoencoder);
    });

    /// <summary>Reads a transformer written by <see cref="ICanSaveModel.Save"/>; ML.NET calls it through <c>LoadableClass</c>.</summary>
    static LatentSteeringTransformer IPersistedTransformer<LatentSteeringTransformer>.Load(IHostEnvironment env, SavedEntryReader entry)
    {
        var host = env.Register(nameof(LatentSteeringTransformer));
        var reader = entry.Reader;
        var options = new LatentSteeringOptions
        {
            InputColumnName = reader.ReadString(),
            OutputColumnName = reader.ReadString(),
            LatentColumnName = reader.ReadString() is { Length: > 0 } name ? name : null,
            Mode = entry.ReadEnum<SteeringMode>(),
            Normalize = reader.ReadBoolean(),
        };
        var edits = new LatentEdit[entry.ReadInt("Edits", minimum: 0, maximum: 1 << 20)];
        for (var i = 0; i < edits.Length; i++)
            edits[i] = new LatentEdit(reader.ReadInt32(), entry.ReadEnum<LatentEditKind>(), reader.ReadSingle(), reader.ReadBoolean());
        options.Plan = new SteeringPlan(edits);
        var typical = new float[options.Plan.Latents.Count];
        for (var i = 0; i < typical.Length; i++)
            typical[i] = reader.ReadSingle();
        var autoencoder = SavedAutoencoder.Read(entry);
        try
        {
            options.Plan.Validate(autoencoder.LatentSize);
            return new LatentSteeringTransformer(host, autoencoder, options, typical);
        }
        catch (ArgumentException e)
        {
            autoencoder.Dispose();
            throw new FormatException($"The saved {Component} holds a plan its autoencoder cannot take: {e.Message}", e);
        }
    }

    private void Compute(IReadOnlyList<float[]> inputs, IReadOnlyList<VectorOutputBatch> outputs)
    {
        var dimension = Autoencoder.Dimension;
        var flat = new float[inputs.Count * dimension];
        for (var i = 0; i < inputs.Count; i++)
            inputs[i].CopyTo(flat, i * dimension);
        var embeddings = outputs[0].Values.AsSpan(0, flat.Length);
        if (outputs.Count > 1)
            _steerer.Steer(flat, embeddings, outputs[1].Values, outputs[1].Indices, outputs[1].Counts);
        else
            _steerer.Steer(flat, embeddings);
    }
}
