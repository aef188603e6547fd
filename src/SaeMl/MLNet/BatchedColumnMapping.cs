using Microsoft.ML;
using Microsoft.ML.Data;

namespace SaeMl.MLNet;

/// <summary>
/// The ML.NET side of a transformer that computes vector columns from one input column a batch at a
/// time: output schema, the transformed data view, and the single-row mapper that
/// <c>PredictionEngine</c> uses. SaeMl's public transformers hold one and delegate to it.
/// </summary>
/// <remarks>
/// <para>ML.NET pulls rows one at a time; running a model per row is several times slower than per
/// batch. The cursor therefore keeps a second cursor over the input that only reads the input
/// column, runs ahead by <see cref="BatchRows"/> rows, computes them in one call and serves the
/// results as the main cursor reaches each row. Passthrough columns come from the main cursor, so no
/// value of another column is ever copied. Both cursors read the input in its natural order; their
/// row ids are compared on every row, and a mismatch is an error, not a silent misalignment.</para>
/// <para>Because of this the transformed data cannot be shuffled by the cursor (shuffle upstream).</para>
/// </remarks>
/// <typeparam name="TInput">The copied input value: <see cref="string"/> for text, <c>float[]</c> for vectors.</typeparam>
internal sealed class BatchedColumnMapping<TInput>
{
    private readonly Action<IReadOnlyList<TInput>, IReadOnlyList<VectorOutputBatch>> _compute;

    /// <param name="component">The transformer's name, for messages.</param>
    /// <param name="input">The input column.</param>
    /// <param name="outputs">The output columns, in schema order.</param>
    /// <param name="batchRows">Rows computed per call.</param>
    /// <param name="compute">Fills rows 0..n-1 of each output batch from n inputs.</param>
    public BatchedColumnMapping(
        string component,
        InputColumn<TInput> input,
        IReadOnlyList<VectorOutputColumn> outputs,
        int batchRows,
        Action<IReadOnlyList<TInput>, IReadOnlyList<VectorOutputBatch>> compute)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        Component = component;
        Input = input;
        Outputs = outputs;
        BatchRows = batchRows;
        _compute = compute;
    }

    public string Component { get; }

    public InputColumn<TInput> Input { get; }

    public IReadOnlyList<VectorOutputColumn> Outputs { get; }

    public int BatchRows { get; }

    /// <summary>The input schema followed by the output columns (which hide input columns of the same name).</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Input.Check(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        foreach (var output in Outputs)
            builder.AddColumn(output.Name, output.Type);
        return builder.ToSchema();
    }

    /// <summary>The estimator-level schema: the input shape with the output columns set.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        Input.Check(inputSchema);
        return ColumnChecks.WithVectorColumns(inputSchema, Outputs.Select(o => o.Name));
    }

    public IDataView Transform(IDataView input) => new MappedDataView(this, input);

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new RowMapper(this, inputSchema);

    private VectorOutputBatch[] CreateBatches(int rows) => Outputs.Select(o => new VectorOutputBatch(o, rows)).ToArray();

    private void Compute(IReadOnlyList<TInput> inputs, IReadOnlyList<VectorOutputBatch> batches) => _compute(inputs, batches);

    /// <summary>Which output columns (by output index) are among <paramref name="columns"/> of the output schema.</summary>
    private bool[] ActiveOutputs(IEnumerable<DataViewSchema.Column> columns, int inputColumnCount)
    {
        var active = new bool[Outputs.Count];
        foreach (var column in columns)
        {
            if (column.Index >= inputColumnCount)
                active[column.Index - inputColumnCount] = true;
        }

        return active;
    }

    private sealed class MappedDataView : IDataView
    {
        private readonly BatchedColumnMapping<TInput> _mapping;
        private readonly IDataView _input;

        public MappedDataView(BatchedColumnMapping<TInput> mapping, IDataView input)
        {
            _mapping = mapping;
            _input = input;
            Schema = mapping.GetOutputSchema(input.Schema);
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => _input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var needed = columnsNeeded.ToList();
            var inputCount = _input.Schema.Count;
            var activeOutputs = _mapping.ActiveOutputs(needed, inputCount);
            var main = _input.GetRowCursor(needed.Where(c => c.Index < inputCount).Select(c => _input.Schema[c.Index]));
            if (!activeOutputs.Contains(true))
                return new MappedCursor(_mapping, Schema, main, ahead: null, activeOutputs);

            var inputColumn = _input.Schema[_mapping.Input.Name];
            return new MappedCursor(_mapping, Schema, main, _input.GetRowCursor([inputColumn]), activeOutputs);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];
    }

    private sealed class MappedCursor : DataViewRowCursor
    {
        private readonly BatchedColumnMapping<TInput> _mapping;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _ahead;
        private readonly bool[] _activeOutputs;
        private readonly int _inputCount;
        private readonly VectorOutputBatch[] _batches;
        private readonly List<TInput> _inputs = [];
        private readonly DataViewRowId[] _batchIds;
        private readonly Func<TInput>? _read;
        private readonly ValueGetter<DataViewRowId> _mainId;
        private readonly ValueGetter<DataViewRowId>? _aheadId;
        private int _rowInBatch;
        private int _rowsInBatch;

        public MappedCursor(BatchedColumnMapping<TInput> mapping, DataViewSchema schema, DataViewRowCursor main, DataViewRowCursor? ahead, bool[] activeOutputs)
        {
            _mapping = mapping;
            Schema = schema;
            _main = main;
            _ahead = ahead;
            _activeOutputs = activeOutputs;
            _inputCount = main.Schema.Count;
            _mainId = main.GetIdGetter();
            _batches = ahead is null ? [] : mapping.CreateBatches(mapping.BatchRows);
            _batchIds = new DataViewRowId[ahead is null ? 0 : mapping.BatchRows];
            if (ahead is not null)
            {
                _read = mapping.Input.CreateReader(ahead, ahead.Schema[mapping.Input.Name]);
                _aheadId = ahead.GetIdGetter();
            }
        }

        public override DataViewSchema Schema { get; }

        public override long Position => _main.Position;

        public override long Batch => _main.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _mainId;

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _inputCount ? _main.IsColumnActive(_main.Schema[column.Index]) : _activeOutputs[column.Index - _inputCount];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _inputCount)
                return _main.GetGetter<TValue>(_main.Schema[column.Index]);

            var output = column.Index - _inputCount;
            if (!_activeOutputs[output])
                throw new InvalidOperationException($"Column '{column.Name}' was not requested from this cursor.");
            if (typeof(TValue) != typeof(VBuffer<float>))
                throw new InvalidOperationException($"Column '{column.Name}' holds {column.Type}; ask for VBuffer<Single>, not {typeof(TValue).Name}.");
            var batch = _batches[output];
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) => batch.Get(_rowInBatch, ref value);
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        public override bool MoveNext()
        {
            if (!_main.MoveNext())
                return false;
            if (_ahead is null)
                return true;

            if (++_rowInBatch >= _rowsInBatch)
                FillBatch();
            DataViewRowId id = default;
            _mainId(ref id);
            if (!id.Equals(_batchIds[_rowInBatch]))
            {
                throw new InvalidOperationException(
                    $"{_mapping.Component} read its input in two cursors that returned different rows at position {_main.Position}; "
                    + "its input must return rows in the same order every time it is read.");
            }

            return true;
        }

        private void FillBatch()
        {
            _inputs.Clear();
            while (_inputs.Count < _mapping.BatchRows && _ahead!.MoveNext())
            {
                _inputs.Add(_read!());
                _aheadId!(ref _batchIds[_inputs.Count - 1]);
            }

            if (_inputs.Count == 0)
                throw new InvalidOperationException($"{_mapping.Component} found fewer input rows on its second read of the input than on its first.");
            _mapping.Compute(_inputs, _batches);
            _rowsInBatch = _inputs.Count;
            _rowInBatch = 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _ahead?.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>Maps one row at a time, computing a batch of one on demand; what PredictionEngine uses.</summary>
    private sealed class RowMapper : IRowToRowMapper
    {
        private readonly BatchedColumnMapping<TInput> _mapping;

        public RowMapper(BatchedColumnMapping<TInput> mapping, DataViewSchema inputSchema)
        {
            _mapping = mapping;
            InputSchema = inputSchema;
            OutputSchema = mapping.GetOutputSchema(inputSchema); // built once: PredictionEngine compares schemas by reference
        }

        public DataViewSchema InputSchema { get; }

        public DataViewSchema OutputSchema { get; }

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var columns = dependingColumns.ToList();
            var inputs = columns.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
            if (columns.Any(c => c.Index >= InputSchema.Count))
                inputs.Add(InputSchema[_mapping.Input.Name]);
            return inputs.DistinctBy(c => c.Index);
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
            new MappedRow(_mapping, OutputSchema, input, _mapping.ActiveOutputs(activeColumns, InputSchema.Count));
    }

    private sealed class MappedRow : DataViewRow
    {
        private readonly BatchedColumnMapping<TInput> _mapping;
        private readonly DataViewRow _input;
        private readonly bool[] _activeOutputs;
        private readonly VectorOutputBatch[] _batches;
        private readonly Func<TInput>? _read;
        private long _computedPosition = -1;

        public MappedRow(BatchedColumnMapping<TInput> mapping, DataViewSchema schema, DataViewRow input, bool[] activeOutputs)
        {
            _mapping = mapping;
            Schema = schema;
            _input = input;
            _activeOutputs = activeOutputs;
            _batches = mapping.CreateBatches(1);
            if (activeOutputs.Contains(true))
                _read = mapping.Input.CreateReader(input, input.Schema[mapping.Input.Name]);
        }

        public override DataViewSchema Schema { get; }

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _input.Schema.Count ? _input.IsColumnActive(_input.Schema[column.Index]) : _activeOutputs[column.Index - _input.Schema.Count];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _input.Schema.Count)
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);

            var output = column.Index - _input.Schema.Count;
            if (!_activeOutputs[output] || typeof(TValue) != typeof(VBuffer<float>))
                throw new InvalidOperationException($"Column '{column.Name}' is not active or is not read as VBuffer<Single>.");
            var batch = _batches[output];
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                if (_computedPosition != _input.Position)
                {
                    _mapping.Compute([_read!()], _batches);
                    _computedPosition = _input.Position;
                }

                batch.Get(0, ref value);
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }
    }
}
