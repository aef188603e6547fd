using System.Globalization;
using SaeMl.Compute;
using SaeMl.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>
/// Trains a <see cref="SparseAutoencoder"/> on queries and their neighbor documents with the
/// retrieval-oriented objective (<see cref="SaeObjective"/>), on the CPU or a CUDA GPU.
/// </summary>
/// <remarks>
/// <para>A share of the queries is held out for validation. Each epoch shuffles the rest (seeded) and
/// takes them B at a time with their first M documents, read from the data and copied to the device
/// once per step. A step reads as its recipe: forward and loss, backward, remove from each decoder
/// row's gradient its component along the row, Adam step at the cosine schedule's rate, renormalise
/// the decoder rows, count which latents fired. After each epoch the validation metrics are computed
/// and reported.</para>
/// <para>With a checkpoint path, the whole state is saved after every epoch (and every N steps when
/// asked); a run started with <see cref="SparseAutoencoderOptions.Resume"/> continues from it and ends
/// exactly as an uninterrupted run would on the CPU. Every tensor of a step lives in a dispose scope.</para>
/// </remarks>
public sealed class SparseAutoencoderTrainer
{
    private const int BiasSampleQueries = 8192;

    /// <summary>
    /// Validation reads its queries this many at a time, whatever the training batch: each such group's neighbour documents are
    /// the pool its top-10 overlaps rank, so the overlaps of runs with different batches compare.
    /// </summary>
    private const int ValidationPoolQueries = 512;
    private const long DefaultDeadCap = 10_000_000;
    private readonly SparseAutoencoderOptions _options;
    private readonly List<SaeValidationMetrics> _history = [];

    /// <summary>A trainer with the given settings (copied).</summary>
    public SparseAutoencoderTrainer(SparseAutoencoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Copy();
    }

    /// <summary>
    /// For profiling (the benchmarks' step profile): called with a phase's name as each phase of a training
    /// step ends, on the training thread. On the CPU every operation has finished by then; on CUDA the
    /// caller synchronises.
    /// </summary>
    internal Action<string>? PhaseEnded { get; set; }

    /// <summary>The validation metrics of every epoch trained so far (including those of a resumed run's earlier epochs).</summary>
    public IReadOnlyList<SaeValidationMetrics> History => _history;

    /// <summary>Trains an autoencoder on <paramref name="data"/>.</summary>
    /// <param name="data">Queries and their neighbor documents.</param>
    /// <param name="progress">Receives a report after every step and, with validation metrics, after every epoch.</param>
    /// <param name="cancellationToken">Checked before every step; a cancelled run keeps its last checkpoint.</param>
    /// <exception cref="ArgumentException">The options do not fit the data (too few neighbors, no training queries).</exception>
    /// <exception cref="FormatException">A vector holds NaN or infinity, or the checkpoint to resume is unusable.</exception>
    public SparseAutoencoder Train(SaeTrainingData data, IProgress<SaeTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = _options;
        o.Validate(data.Dimension);
        if (o.NeighborsPerQuery > data.NeighborsAvailable)
            throw new ArgumentException($"NeighborsPerQuery is {o.NeighborsPerQuery}, but '{data.NeighborsSource}' has {data.NeighborsAvailable} neighbor documents per query.", nameof(data));

        using var run = new Run(o, data, PhaseEnded);
        _history.Clear();
        var model = run.CreateModel(_history, out var optimizer, out var vectorsSinceFired, out var startEpoch, out var startStep);
        try
        {
            foreach (var parameter in model.Parameters)
                parameter.requires_grad_(true);
            var deadCount = run.DeadCount(vectorsSinceFired);
            for (var epoch = startEpoch; epoch < o.Epochs; epoch++)
            {
                var batches = run.EpochBatches(epoch);
                for (var step = epoch == startEpoch ? startStep : 0; step < batches.Count; step++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var terms = run.Step(model, optimizer, vectorsSinceFired, ref deadCount, batches[step]);
                    progress?.Report(new SaeTrainingProgress(epoch + 1, o.Epochs, optimizer.Step, run.TotalSteps, terms.LearningRate, run.Temperature, terms.Loss, terms.Mse, terms.Kld, terms.LatentKld, terms.AuxK, null));
                    if (o.CheckpointEverySteps > 0 && optimizer.Step % o.CheckpointEverySteps == 0 && step + 1 < batches.Count)
                        run.SaveCheckpoint(epoch, step + 1, optimizer, model, vectorsSinceFired, _history);
                }

                run.SetThreshold(model);
                var metrics = run.Validate(model, vectorsSinceFired);
                _history.Add(metrics);
                run.SaveCheckpoint(epoch + 1, 0, optimizer, model, vectorsSinceFired, _history);
                progress?.Report(new SaeTrainingProgress(epoch + 1, o.Epochs, optimizer.Step, run.TotalSteps, optimizer.LearningRate, run.Temperature, double.NaN, metrics.Mse, metrics.Kld, double.NaN, 0, metrics));
            }

            foreach (var parameter in model.Parameters)
                parameter.requires_grad_(false);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            optimizer.Dispose();
            vectorsSinceFired.Dispose();
        }
    }

    /// <summary>The loss terms of one step, read back from the device.</summary>
    private readonly record struct StepTerms(double LearningRate, double Loss, double Mse, double Kld, double LatentKld, double AuxK);

    /// <summary>One training run: its split, schedule, dead threshold, the batch and pre-activation buffers it reuses and, on the CPU, the C heap kept between its steps.</summary>
    private sealed class Run : IDisposable
    {
        private readonly SparseAutoencoderOptions _options;
        private readonly SaeTrainingData _data;
        private readonly Device _device;
        private readonly int[] _trainQueries;
        private readonly int[] _validationQueries;
        private readonly int _neighbors;
        private readonly long _deadAfter;
        private readonly SaeObjectiveSettings _settings;
        private readonly Tensor _queryBuffer;
        private readonly Tensor? _documentBuffer;
        private readonly Action<string>? _phaseEnded;
        private readonly IDisposable? _keptHeap;
        private Tensor? _preActivations;
        private BatchThresholds _thresholds;

        public Run(SparseAutoencoderOptions options, SaeTrainingData data, Action<string>? phaseEnded)
        {
            _phaseEnded = phaseEnded;
            _options = options;
            _data = data;
            _device = options.Device.ToTorchDevice();
            _neighbors = options.NeighborsPerQuery;
            var order = Shuffled(Enumerable.Range(0, data.QueryCount).ToArray(), new Random(options.Seed));
            var validation = (int)Math.Floor(data.QueryCount * (double)options.ValidationFraction);
            _validationQueries = order[..validation];
            _trainQueries = order[validation..];
            if (_trainQueries.Length == 0)
                throw new ArgumentException(data.QueryCount == 0
                    ? $"The training data ({data.Source}) holds no rows; there is nothing to train on."
                    : $"The training data ({data.Source}) holds {data.QueryCount} rows; none is left for training after the validation share ({options.ValidationFraction:P0}).", nameof(data));

            StepsPerEpoch = (_trainQueries.Length + options.EffectiveBatchSize - 1) / options.EffectiveBatchSize;
            TotalSteps = (long)StepsPerEpoch * options.Epochs;
            _deadAfter = options.DeadAfterVectors ?? Math.Min(DefaultDeadCap, (long)_trainQueries.Length * (1 + _neighbors));
            var (variance, spread) = SampleStatistics();
            if (options.KLWeight > 0 && options.Temperature is null && !(spread > 1e-9))
                throw new ArgumentException($"The training queries of '{data.Source}' score their {_neighbors} neighbors alike (spread {spread:G3}), so no temperature can be taken relative to the spread; set Temperature.", nameof(data));
            Temperature = options.Temperature ?? (_neighbors >= 2 ? (float)(options.RelativeTemperature * spread) : float.NaN);
            _settings = new SaeObjectiveSettings(options.KLWeight, Temperature, options.AuxKWeight,
                Math.Min(options.LatentSize, options.AuxKLatents ?? Math.Max(1, data.Dimension / 2)), (float)variance, options.KLWeight * options.LatentKLRatio,
                options.Activation == SparseActivation.BatchTopK ? options.ActiveLatents : 0);
            // Host tensors the stores' rows are read straight into (no array copies); on a GPU each batch is copied in from them.
            _queryBuffer = empty([QueriesPerLoad, data.Dimension], ScalarType.Float32);
            _documentBuffer = _neighbors > 0 ? empty([(long)QueriesPerLoad * _neighbors, data.Dimension], ScalarType.Float32) : null;
            _keptHeap = _device.type == DeviceType.CPU ? CpuAllocations.KeepFreedBlocks() : null;     // last: a constructor that throws is never disposed
        }

        /// <summary>The most queries one read brings: a training batch, or a validation pool.</summary>
        private int QueriesPerLoad => Math.Max(_options.EffectiveBatchSize, ValidationPoolQueries);

        public int StepsPerEpoch { get; }

        /// <summary>τ: the options' temperature, or the relative temperature times the neighbors' score spread (NaN with fewer than 2 neighbors).</summary>
        public float Temperature { get; }

        /// <summary>
        /// From a sample of training queries and their M neighbors (those b_dec is initialised from), in double precision so
        /// that every machine finds the same values: the variance per element of the vectors (the reconstruction term's
        /// divisor) and the mean over the queries of the standard deviation of a query's scores with its neighbors (NaN
        /// with fewer than 2 neighbors).
        /// </summary>
        private (double Variance, double Spread) SampleStatistics()
        {
            var d = _data.Dimension;
            var sample = _trainQueries.Take(BiasSampleQueries).ToArray();
            var queries = new float[(long)sample.Length * d];
            var documents = new float[(long)sample.Length * _neighbors * d];
            _data.Read(sample, _neighbors, queries, documents);
            var (sums, squares) = (new double[d], 0.0);
            foreach (var values in new[] { queries, documents })
            {
                for (long i = 0; i < values.LongLength; i++)
                {
                    sums[i % d] += values[i];
                    squares += (double)values[i] * values[i];
                }
            }

            var vectors = (double)sample.Length * (1 + _neighbors);
            var variance = Math.Max(1e-12, (squares - sums.Sum(v => v * v) / vectors) / (vectors * d));
            if (_neighbors < 2)
                return (variance, double.NaN);
            double total = 0;
            var scores = new double[_neighbors];
            for (var q = 0; q < sample.Length; q++)
            {
                for (var j = 0; j < _neighbors; j++)
                {
                    double dot = 0;
                    for (var k = 0; k < d; k++)
                        dot += (double)queries[(long)q * d + k] * documents[((long)q * _neighbors + j) * d + k];
                    scores[j] = dot;
                }

                var mean = scores.Average();
                total += Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / _neighbors);
            }

            return (variance, total / sample.Length);
        }

        public long TotalSteps { get; }

        /// <summary>τ as the options state it (a measured spread could differ in its last bit between machines; the data's own checks cover it).</summary>
        private string TemperatureRule => _options.Temperature is { } tau ? tau.ToString(CultureInfo.InvariantCulture) : $"{_options.RelativeTemperature.ToString(CultureInfo.InvariantCulture)} × spread";

        /// <summary>BatchTopK and its cap for the fingerprint; nothing for TopK, whose fingerprint is what it was before BatchTopK.</summary>
        private string ActivationRule => _options.Activation == SparseActivation.TopK ? "" : $"{_options.Activation} (at most {_options.LatentSlots}), ";

        /// <summary>What a checkpoint must match: everything that shapes the run's trajectory.</summary>
        private string Fingerprint => string.Create(CultureInfo.InvariantCulture,
            $"queries {_data.QueryCount}, d {_data.Dimension}, n {_options.LatentSize}, K {_options.ActiveLatents}, B {_options.EffectiveBatchSize}, M {_neighbors}, "
            + $"{ActivationRule}epochs {_options.Epochs}, lr {_options.LearningRate}, λ {_options.KLWeight}, r {_options.LatentKLRatio}, τ {TemperatureRule}, aux {_options.AuxKWeight}×{_settings.AuxKLatents}, "
            + $"dead after {_deadAfter}, validation {_options.ValidationFraction}, seed {_options.Seed}, b_dec {_options.DecoderBiasInitialization}");

        /// <summary>A fresh model, or the checkpoint's when resuming.</summary>
        public SparseAutoencoder CreateModel(List<SaeValidationMetrics> history, out SaeOptimizer optimizer, out Tensor vectorsSinceFired, out int startEpoch, out int startStep)
        {
            var checkpoint = _options.Resume && _options.CheckpointPath is { } path && File.Exists(path)
                ? SaeCheckpoint.Load(path, Fingerprint)
                : null;
            var model = SparseAutoencoder.Initialize(_data.Dimension, _options.LatentSize, _options.LatentSlots,
                checkpoint is null ? InitialDecoderBias() : new float[_data.Dimension], _options.Seed, _options.Device);
            optimizer = new SaeOptimizer(model.Parameters, _options.LearningRate, TotalSteps);
            vectorsSinceFired = zeros(_options.LatentSize, ScalarType.Int64, _device);
            (startEpoch, startStep) = (0, 0);
            if (checkpoint is not null)
            {
                checkpoint.Restore(model, optimizer, vectorsSinceFired);
                _thresholds = checkpoint.Thresholds;
                history.AddRange(checkpoint.History);
                (startEpoch, startStep) = (checkpoint.NextEpoch, checkpoint.NextStep);
            }

            return model;
        }

        public IReadOnlyList<int[]> EpochBatches(int epoch) =>
            Shuffled((int[])_trainQueries.Clone(), new Random(unchecked(_options.Seed * 7919 + (epoch + 1) * 104729))) // not HashCode: it is seeded per process
                .Chunk(_options.EffectiveBatchSize)
                .ToList();

        /// <summary>
        /// One training step. Its only device-to-host transfer is one read of a few numbers at the end: the
        /// loss terms, the batch's BatchTopK threshold (added to the epoch's tally), and the number of dead latents,
        /// which the next step needs on the host to size its AuxK selection (<paramref name="deadCount"/>: dead
        /// before the step on entry, after it on return).
        /// </summary>
        public StepTerms Step(SparseAutoencoder model, SaeOptimizer optimizer, Tensor vectorsSinceFired, ref int deadCount, int[] queries)
        {
            using var scope = NewDisposeScope();
            var (batchQueries, batchDocuments) = Load(queries);
            var rate = optimizer.LearningRate;
            _phaseEnded?.Invoke("load the batch");

            var loss = SaeObjective.Compute(model, batchQueries, batchDocuments, _neighbors, _settings, deadCount > 0 ? Dead(vectorsSinceFired) : null, deadCount, _phaseEnded,
                PreActivations(model));
            loss.Total.backward();
            _phaseEnded?.Invoke("backward");
            RemoveParallelDecoderGradient(model);
            _phaseEnded?.Invoke("decoder gradient projection");
            optimizer.Update();
            _phaseEnded?.Invoke("Adam");
            foreach (var parameter in model.Parameters)
                parameter.grad?.zero_();
            NormalizeDecoderRows(model);
            _phaseEnded?.Invoke("zero gradients, renormalise decoder");
            CountFiring(vectorsSinceFired, loss.Values, loss.Indices);
            Tensor[] readBack = [loss.Total.detach(), loss.Mse.detach(), loss.Kld.detach(), loss.LatentKld.detach(), loss.AuxK.detach(), Dead(vectorsSinceFired).sum(),
                loss.BatchThreshold ?? zeros([], ScalarType.Float64, _device)];
            var terms = stack(readBack.Select(term => term.to(ScalarType.Float64))).cpu().data<double>().ToArray();
            _phaseEnded?.Invoke("firing counts, read back");
            deadCount = (int)terms[5];
            if (terms[6] > 0)                                                        // 0: the batch had fewer positive activations than its budget
                _thresholds = _thresholds.Add(terms[6]);
            return new StepTerms(rate, terms[0], terms[1], terms[2], terms[3], terms[4]);
        }

        /// <summary>How many latents are dead now (one read from the device, when a run starts or resumes).</summary>
        public int DeadCount(Tensor vectorsSinceFired)
        {
            using var scope = NewDisposeScope();
            return (int)Dead(vectorsSinceFired).sum().item<long>();
        }

        /// <summary>The boolean <c>[n]</c> mask of latents that have not fired for the dead threshold.</summary>
        private Tensor Dead(Tensor vectorsSinceFired)
        {
            using var threshold = _deadAfter.ToScalar();
            return vectorsSinceFired.gt(threshold);
        }

        /// <summary>FVU, MSE, L0, dead share and KL over the validation queries and their documents (training queries when none is held out).</summary>
        public SaeValidationMetrics Validate(SparseAutoencoder model, Tensor vectorsSinceFired)
        {
            var queries = _validationQueries.Length > 0 ? _validationQueries : _trainQueries;
            var metricSettings = _settings with { KLWeight = 1, AuxKWeight = 0, LatentKLWeight = 0, BatchActiveLatents = 0 };   // what the model itself encodes: θ, not a batch's share
            double squaredError = 0, squares = 0, kld = 0, active = 0, overlap = 0, latentOverlap = 0;
            var sumVector = new double[_data.Dimension];
            long vectors = 0;
            using var noGrad = no_grad();
            foreach (var batch in queries.Chunk(ValidationPoolQueries))
            {
                using var scope = NewDisposeScope();
                var (batchQueries, batchDocuments) = Load(batch);
                var inputs = batchDocuments is null ? batchQueries : cat([batchQueries, batchDocuments], 0);
                var loss = SaeObjective.Compute(model, batchQueries, batchDocuments, _neighbors, metricSettings, null, 0, preActivationScratch: PreActivations(model));
                squaredError += (loss.Reconstruction - inputs).Squared().sum().item<float>();
                squares += inputs.Squared().sum().item<float>();
                var column = inputs.sum([0]).to(ScalarType.Float64).cpu().data<double>().ToArray();
                for (var j = 0; j < sumVector.Length; j++)
                    sumVector[j] += column[j];
                kld += loss.Kld.item<float>() * batch.Length;
                if (batchDocuments is not null)
                {
                    var (reconstructed, latent) = RankingOverlaps(model, batchQueries, batchDocuments, loss);
                    overlap += reconstructed;
                    latentOverlap += latent;
                }

                active += loss.Values.gt(HeldScalars.Zero).sum().item<long>();
                vectors += inputs.shape[0];
            }

            var variance = squares - sumVector.Sum(v => v * v) / vectors;    // Σ‖x − x̄‖² = Σ‖x‖² − ‖Σx‖² / N
            using var deadScope = NewDisposeScope();
            var deadShare = Dead(vectorsSinceFired).to(ScalarType.Float64).mean().item<double>();
            return new SaeValidationMetrics(
                Fvu: variance > 0 ? squaredError / variance : double.NaN,
                Mse: squaredError / ((double)vectors * _data.Dimension),
                L0: active / vectors,
                DeadFraction: deadShare,
                Kld: _neighbors > 0 ? kld / queries.Length : 0,
                Top10Overlap: _neighbors > 0 ? overlap / queries.Length : double.NaN,
                LatentTop10Overlap: _neighbors > 0 ? latentOverlap / queries.Length : double.NaN);
        }

        /// <summary>
        /// For one validation batch, the summed top-10 overlaps (see <see cref="SaeValidationMetrics.Top10Overlap"/>) of the
        /// original ranking with the reconstructions' and with the latents', every query ranking the batch's whole pool of
        /// neighbour documents.
        /// </summary>
        private static (double Reconstructed, double Latent) RankingOverlaps(SparseAutoencoder model, Tensor queries, Tensor documents, SaeLoss loss)
        {
            var batch = queries.shape[0];
            var pool = documents.shape[0];
            var depth = (int)Math.Min(OverlapDepth, pool);
            using var original = queries.matmul(documents.t()).topk(depth, 1).indexes;
            var reconstruction = loss.Reconstruction;
            using var reconstructed = reconstruction[..(int)batch].matmul(reconstruction[(int)batch..].t()).topk(depth, 1).indexes;

            // Latent scores z_q · z_d from the K-sparse codes: each query's dense latent row, read at each document's K indices.
            var (values, indices) = (loss.Values, loss.Indices);
            using var queryLatents = zeros(batch, model.LatentSize, device: queries.device).scatter_(1, indices[..(int)batch], values[..(int)batch]);
            var documentIndices = indices[(int)batch..];
            var documentValues = values[(int)batch..];
            var latentScores = new List<Tensor>();
            for (long start = 0; start < batch; start += OverlapQueryChunk)
            {
                var rows = queryLatents[(int)start..(int)Math.Min(batch, start + OverlapQueryChunk)];
                var gathered = rows.index_select(1, documentIndices.reshape(-1)).reshape(rows.shape[0], pool, -1);
                latentScores.Add((gathered * documentValues.unsqueeze(0)).sum([2]));
            }

            using var latent = cat(latentScores, 0).topk(depth, 1).indexes;
            double Overlap(Tensor other) => original.unsqueeze(2).eq(other.unsqueeze(1)).any(2).to(ScalarType.Float64).sum().item<double>() / depth;
            return (Overlap(reconstructed), Overlap(latent));
        }

        private const int OverlapDepth = 10;
        private const int OverlapQueryChunk = 32;

        public void SaveCheckpoint(int nextEpoch, int nextStep, SaeOptimizer optimizer, SparseAutoencoder model, Tensor vectorsSinceFired, IReadOnlyList<SaeValidationMetrics> history)
        {
            if (_options.CheckpointPath is { } path)
                SaeCheckpoint.Capture(Fingerprint, nextEpoch, nextStep, optimizer, model, vectorsSinceFired, history, _thresholds).Save(path);
        }

        /// <summary>
        /// BatchTopK: at the end of an epoch, the model's threshold θ becomes the mean of the epoch's batch thresholds
        /// (what validation and the trained autoencoder use), and the next epoch's tally starts.
        /// </summary>
        public void SetThreshold(SparseAutoencoder model)
        {
            if (_thresholds.Batches == 0)
                return;
            model.ActivationThreshold = (float)(_thresholds.Sum / _thresholds.Batches);
            _thresholds = default;
        }

        /// <summary>The batch's queries and documents on the device, one copy each; NaN and infinities are refused with the query's row.</summary>
        private (Tensor Queries, Tensor? Documents) Load(IReadOnlyList<int> queries)
        {
            var d = _data.Dimension;
            var batchQueries = _queryBuffer.narrow(0, 0, queries.Count);
            var batchDocuments = _documentBuffer?.narrow(0, 0, (long)queries.Count * _neighbors);
            var queryValues = HostTensors.Memory<float>(batchQueries);
            var documentValues = batchDocuments is null ? Span<float>.Empty : HostTensors.Memory<float>(batchDocuments);
            _data.Read(queries, _neighbors, queryValues, documentValues);
            if (FiniteValues.FirstNonFiniteRow(queryValues, d) is var badQuery and >= 0)
                throw new FormatException($"Query row {queries[badQuery]} of '{_data.Source}' holds NaN or infinity.");
            if (_neighbors > 0 && FiniteValues.FirstNonFiniteRow(documentValues, d) is var badDocument and >= 0)
                throw new FormatException($"Neighbor document {badDocument % _neighbors} of query row {queries[badDocument / _neighbors]} of '{_data.Source}' holds NaN or infinity.");
            return (batchQueries.to(_device), batchDocuments?.to(_device));
        }

        public void Dispose()
        {
            _queryBuffer.Dispose();
            _documentBuffer?.Dispose();
            _preActivations?.Dispose();
            _keptHeap?.Dispose();
        }

        /// <summary>On the CPU, the one tensor every step's dense pre-activations are written into (made at the first step); elsewhere null: a GPU's caching allocator reuses its blocks itself.</summary>
        private Tensor? PreActivations(SparseAutoencoder model) =>
            _device.type != DeviceType.CPU ? null
                : _preActivations ??= model.NewPreActivationScratch((long)QueriesPerLoad * (1 + _neighbors)).DetachFromDisposeScope();

        /// <summary>b_dec from a sample of training queries and their documents: zero, their mean, or their geometric median.</summary>
        private float[] InitialDecoderBias()
        {
            var d = _data.Dimension;
            if (_options.DecoderBiasInitialization == DecoderBiasInitialization.Zero)
                return new float[d];
            var sample = _trainQueries.Take(BiasSampleQueries).ToArray();
            var values = new float[(long)sample.Length * (1 + _neighbors) * d];
            _data.Read(sample, _neighbors, values.AsSpan(0, sample.Length * d), values.AsSpan(sample.Length * d));
            using var scope = NewDisposeScope();
            var points = tensor(values, [values.LongLength / d, d], dtype: ScalarType.Float32).to(ScalarType.Float64);
            var center = points.mean([0]);
            if (_options.DecoderBiasInitialization == DecoderBiasInitialization.GeometricMedian)
            {
                // Weiszfeld: the median is the fixed point of the inverse-distance-weighted mean.
                for (var iteration = 0; iteration < 50; iteration++)
                {
                    var weights = (points - center).norm(1, keepdim: true, p: 2).clamp_min(HeldScalars.DivisorFloor).reciprocal();
                    center = (points * weights).sum([0]) / weights.sum();
                }
            }

            return center.to(ScalarType.Float32).data<float>().ToArray();
        }

        private static void RemoveParallelDecoderGradient(SparseAutoencoder model)
        {
            using var noGrad = no_grad();
            var decoder = model.DecoderWeight;
            var gradient = decoder.grad!;
            var along = gradient.unsqueeze(1).bmm(decoder.unsqueeze(2)).squeeze(2);          // [n, 1]: g_j · w_j, with no [n, d] temporary
            gradient.addcmul_(decoder, along, HeldScalars.MinusOne);                          // rows are unit: subtract (g·w) w
        }

        private static void NormalizeDecoderRows(SparseAutoencoder model)
        {
            using var noGrad = no_grad();
            model.DecoderWeight.div_(model.DecoderWeight.norm(1, keepdim: true, p: 2).clamp_min(HeldScalars.DivisorFloor));
        }

        /// <summary>Adds the step's vectors to every latent's count, and resets the count of latents that fired.</summary>
        private static void CountFiring(Tensor vectorsSinceFired, Tensor values, Tensor indices)
        {
            using var noGrad = no_grad();
            using var vectors = values.shape[0].ToScalar();
            var fired = indices.masked_select(values.gt(HeldScalars.Zero));
            vectorsSinceFired.add_(vectors, HeldScalars.One);
            vectorsSinceFired.index_fill_(0, fired, HeldScalars.Zero);
        }

        private static int[] Shuffled(int[] items, Random random)
        {
            for (var i = items.Length - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (items[i], items[j]) = (items[j], items[i]);
            }

            return items;
        }
    }
}
