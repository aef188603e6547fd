using SaeMl.Compute;
using SaeMl.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>The latents chosen for each row and their pre-activation values; the dead latents' too, for AuxK.</summary>
/// <param name="Indices"><c>[N, K]</c>.</param>
/// <param name="PreActivations"><c>[N, K]</c>, before the ReLU.</param>
/// <param name="DeadIndices"><c>[N, k_aux]</c>, or null.</param>
/// <param name="DeadPreActivations"><c>[N, k_aux]</c>, or null.</param>
internal readonly record struct LatentSelection(Tensor Indices, Tensor PreActivations, Tensor? DeadIndices, Tensor? DeadPreActivations);

/// <summary>A batch of a store encoded by <see cref="SparseAutoencoder.EncodeStore"/>.</summary>
/// <param name="Input">The embeddings read; their buffer is reused by the next batch.</param>
/// <param name="Codes">Their K latents.</param>
/// <param name="Reconstruction">Their reconstructions, row-major, when asked for; else null.</param>
public readonly record struct EncodedBatch(EmbeddingBatch Input, SparseCodes Codes, float[]? Reconstruction);

/// <summary>
/// A TopK sparse autoencoder over d-dimensional embeddings with n latents, at most K of them active per vector:
/// <c>h = ReLU(TopK(W_enc (x − b_dec) + b_enc))</c>, <c>x̂ = W_dec h + b_dec</c>; with an activation threshold θ
/// (a BatchTopK autoencoder's, <see cref="SparseActivation.BatchTopK"/>), of the K largest only those above θ.
/// </summary>
/// <remarks>
/// <para>Encoding is one function everywhere (training, the ML.NET transform, sparse retrieval and
/// steering): the K latents and their values are read off the dense pre-activations, computed
/// without gradient in chunks of rows, and <see cref="SparseRows"/> gives autograd their gradients, so
/// the backward pass costs O(K) per vector instead of O(n). Decoding reads only the K active decoder
/// rows.</para>
/// <para>Weights live on one device, chosen at creation. Batch methods take and return row-major
/// float arrays and move each batch to and from the device once.</para>
/// </remarks>
public sealed class SparseAutoencoder : IDisposable
{
    /// <summary>Pre-activation values computed at once when choosing latents: 64M floats, 256 MB.</summary>
    private const long PreActivationBudget = 1L << 26;

    private SparseAutoencoder(Tensor encoderWeight, Tensor encoderBias, Tensor decoderWeight, Tensor decoderBias, int activeLatents, ComputeDevice device, float activationThreshold = 0)
    {
        CheckThreshold(activationThreshold, nameof(activationThreshold));
        _activationThreshold = activationThreshold;
        EncoderWeight = encoderWeight;
        EncoderBias = encoderBias;
        DecoderWeight = decoderWeight;
        DecoderBias = decoderBias;
        ActiveLatents = activeLatents;
        Device = device;
        Dimension = (int)decoderWeight.shape[1];
        LatentSize = (int)decoderWeight.shape[0];
        if (activeLatents < 1 || activeLatents > LatentSize)
            throw new ArgumentOutOfRangeException(nameof(activeLatents), activeLatents, $"K must be from 1 to the {LatentSize} latents.");
    }

    /// <summary>d, the embedding size.</summary>
    public int Dimension { get; }

    /// <summary>n, the number of latents.</summary>
    public int LatentSize { get; }

    /// <summary>K, the most latents kept per vector (exactly K without an <see cref="ActivationThreshold"/>, up to K with one).</summary>
    public int ActiveLatents { get; }

    /// <summary>
    /// θ: of a vector's <see cref="ActiveLatents"/> largest activations, only those above θ are kept. 0 for a TopK
    /// autoencoder (every positive one is kept); a BatchTopK autoencoder's training sets it to the mean of its last
    /// epoch's batch thresholds.
    /// </summary>
    public float ActivationThreshold
    {
        get => _activationThreshold;
        internal set
        {
            CheckThreshold(value, nameof(value));
            _activationThreshold = value;
        }
    }

    private float _activationThreshold;

    /// <summary>The device the weights live on.</summary>
    public ComputeDevice Device { get; }

    /// <summary><c>[n, d]</c>.</summary>
    internal Tensor EncoderWeight { get; }

    /// <summary><c>[n]</c>.</summary>
    internal Tensor EncoderBias { get; }

    /// <summary><c>[n, d]</c>, rows of unit norm.</summary>
    internal Tensor DecoderWeight { get; }

    /// <summary><c>[d]</c>.</summary>
    internal Tensor DecoderBias { get; }

    internal IReadOnlyList<Tensor> Parameters => [EncoderWeight, EncoderBias, DecoderWeight, DecoderBias];

    /// <summary>
    /// A new autoencoder initialised as current SAE practice does: decoder rows random unit directions,
    /// the encoder equal to the decoder (W_enc = W_decᵀ in column terms), encoder bias zero, and the
    /// decoder bias given (the data's mean or geometric median).
    /// </summary>
    /// <param name="dimension">d.</param>
    /// <param name="latentSize">n.</param>
    /// <param name="activeLatents">K.</param>
    /// <param name="decoderBias">d values.</param>
    /// <param name="seed">Seeds the random directions (drawn on the CPU, so every device starts alike).</param>
    /// <param name="device">Where the weights live.</param>
    public static SparseAutoencoder Initialize(int dimension, int latentSize, int activeLatents, ReadOnlySpan<float> decoderBias, int seed, ComputeDevice device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentSize);
        if (decoderBias.Length != dimension)
            throw new ArgumentException($"The decoder bias holds {decoderBias.Length} values; dimension {dimension} needs {dimension}.", nameof(decoderBias));

        var torchDevice = device.ToTorchDevice();
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        var directions = randn([latentSize, dimension], generator: generator);
        directions.div_(directions.norm(1, keepdim: true, p: 2));
        var result = new SparseAutoencoder(
            directions.to(torchDevice, copy: true),
            zeros(latentSize, device: torchDevice),
            directions.to(torchDevice, copy: true),
            tensor(decoderBias.ToArray(), device: torchDevice),
            activeLatents,
            device.Resolve());
        foreach (var parameter in result.Parameters)
            parameter.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>A TopK autoencoder with the given weights (no activation threshold: a BatchTopK model's copy needs the overload that takes its <see cref="ActivationThreshold"/>).</summary>
    /// <exception cref="FormatException">The weights are inconsistent or not finite.</exception>
    public static SparseAutoencoder FromWeights(SaeWeights weights, int activeLatents, ComputeDevice device) => FromWeights(weights, activeLatents, 0, device);

    /// <summary>An autoencoder with the given weights that keeps, of each vector's <paramref name="activeLatents"/> largest activations, those above <paramref name="activationThreshold"/>.</summary>
    /// <exception cref="FormatException">The weights are inconsistent or not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is negative or not finite.</exception>
    public static SparseAutoencoder FromWeights(SaeWeights weights, int activeLatents, float activationThreshold, ComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate("The autoencoder's weights");
        var torchDevice = device.ToTorchDevice();
        var (n, d) = ((long)weights.LatentSize, (long)weights.Dimension);
        return new SparseAutoencoder(
            tensor(weights.EncoderWeight, [n, d], device: torchDevice),
            tensor(weights.EncoderBias, [n], device: torchDevice),
            tensor(weights.DecoderWeight, [n, d], device: torchDevice),
            tensor(weights.DecoderBias, [d], device: torchDevice),
            activeLatents,
            device.Resolve(),
            activationThreshold);
    }

    /// <summary>An autoencoder over existing tensors (any floating type), which it then owns.</summary>
    internal static SparseAutoencoder FromTensors(Tensor encoderWeight, Tensor encoderBias, Tensor decoderWeight, Tensor decoderBias, int activeLatents, ComputeDevice device) =>
        new(encoderWeight, encoderBias, decoderWeight, decoderBias, activeLatents, device);

    /// <summary>Copies of the weights.</summary>
    public SaeWeights GetWeights() => new(Dimension, LatentSize, ToHost(EncoderWeight), ToHost(EncoderBias), ToHost(DecoderWeight), ToHost(DecoderBias));

    /// <summary>Encodes vectors (row-major, <see cref="Dimension"/> wide) into their K latents.</summary>
    /// <exception cref="ArgumentException">The input is not a whole number of vectors, or a value is NaN or infinite (reported with its row).</exception>
    public SparseCodes Encode(ReadOnlySpan<float> inputs) => EncodeRows(inputs, reconstruct: false).Codes;

    /// <summary>
    /// <see cref="Encode(ReadOnlySpan{float})"/>, and with <paramref name="reconstruct"/> the reconstructions too, decoded
    /// from each block's codes while they are still on the device (row-major <c>[rows, Dimension]</c>).
    /// </summary>
    internal (SparseCodes Codes, float[]? Reconstruction) EncodeRows(ReadOnlySpan<float> inputs, bool reconstruct)
    {
        var rows = CheckInputs(inputs);
        var values = new float[(long)rows * ActiveLatents];
        var indices = new int[values.LongLength];
        var reconstruction = reconstruct ? new float[(long)rows * Dimension] : null;
        var block = HostBlockRows();
        for (var start = 0; start < rows; start += block)
        {
            var count = Math.Min(block, rows - start);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var codes = Encode(ToDevice(inputs.Slice(start * Dimension, count * Dimension), count));
            var (sortedIndices, order) = codes.Indices.sort(1);                          // ascending latent index
            var sortedValues = codes.Values.gather(1, order);
            HostTensors.CopyToHost(sortedValues, values.AsSpan(start * ActiveLatents, count * ActiveLatents));
            HostTensors.CopyToHost(sortedIndices.to(ScalarType.Int32), indices.AsSpan(start * ActiveLatents, count * ActiveLatents));
            if (reconstruction is not null)                                              // the sorted codes, as Decode(Encode(x)) sums them
                HostTensors.CopyToHost(Decode(sortedValues, sortedIndices), reconstruction.AsSpan(start * Dimension, count * Dimension));
        }

        return (new SparseCodes(rows, ActiveLatents, values, indices), reconstruction);
    }

    /// <summary>
    /// The activations ReLU(W_enc[j] · (x − b_dec) + b_enc[j]) of the given latents for every row,
    /// whether or not TopK (and the <see cref="ActivationThreshold"/>) would keep them: row-major <c>[rows, latents]</c>.
    /// Where a latent is kept the value equals its <see cref="Encode(ReadOnlySpan{float})"/> value up to float rounding
    /// (another matrix shape); elsewhere it shows how close the latent came, which word saliency reads.
    /// </summary>
    /// <exception cref="ArgumentException">A latent is out of range, or the input is not a whole number of finite vectors.</exception>
    public float[] LatentActivations(ReadOnlySpan<float> inputs, ReadOnlySpan<int> latents)
    {
        var rows = CheckInputs(inputs);
        foreach (var latent in latents)
            CheckLatent(latent, nameof(latents));

        var result = new float[(long)rows * latents.Length];
        if (result.Length == 0)
            return result;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var selected = tensor(latents.ToArray().Select(j => (long)j).ToArray(), device: Device.ToTorchDevice());
        var weights = EncoderWeight.index_select(0, selected);                            // [L, d]
        var biases = EncoderBias.index_select(0, selected);
        var block = (int)Math.Clamp(PreActivationBudget / latents.Length, 1, 65_536);
        for (var start = 0; start < rows; start += block)
        {
            var count = Math.Min(block, rows - start);
            using var inner = NewDisposeScope();
            var centered = ToDevice(inputs.Slice(start * Dimension, count * Dimension), count) - DecoderBias;
            HostTensors.CopyToHost(centered.mm(weights.t()).PlusInPlace(biases).relu_(), result.AsSpan(start * latents.Length, count * latents.Length));
        }

        return result;
    }

    /// <summary>Decodes latents back into vectors, row-major <c>[rows, Dimension]</c>.</summary>
    /// <exception cref="ArgumentException">An index is outside the latents.</exception>
    public float[] Decode(SparseCodes codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (codes.Indices.Any(i => i < 0 || i >= LatentSize))
            throw new ArgumentException($"A latent index is outside 0..{LatentSize - 1}.", nameof(codes));
        var result = new float[(long)codes.Rows * Dimension];
        var torchDevice = Device.ToTorchDevice();
        var block = HostBlockRows();
        for (var start = 0; start < codes.Rows; start += block)
        {
            var count = Math.Min(block, codes.Rows - start);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var k = codes.ActiveLatents;
            var values = HostTensors.ToDevice<float>(codes.Values.AsSpan(start * k, count * k), [count, k], torchDevice);
            var indices = HostTensors.ToDevice<int>(codes.Indices.AsSpan(start * k, count * k), [count, k], torchDevice).to(ScalarType.Int64);
            HostTensors.CopyToHost(Decode(values, indices), result.AsSpan(start * Dimension, count * Dimension));
        }

        return result;
    }

    /// <summary>
    /// Encodes a whole embedding store batch by batch, in row order (and reconstructs each batch when
    /// asked), reading one batch at a time so that a corpus of any size streams through.
    /// </summary>
    /// <param name="store">The embeddings; <see cref="Dimension"/> wide.</param>
    /// <param name="batchRows">Rows per batch.</param>
    /// <param name="reconstruct">Whether to decode each batch too.</param>
    /// <param name="cancellationToken">Checked before each batch.</param>
    /// <exception cref="ArgumentException">The store's dimension is not the autoencoder's, or a vector holds NaN or infinity.</exception>
    public IEnumerable<EncodedBatch> EncodeStore(EmbeddingStore store, int batchRows = 4096, bool reconstruct = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        if (store.Dimension != Dimension)
            throw new ArgumentException($"Embedding store '{store.Name}' has dimension {store.Dimension}, but the autoencoder reads {Dimension}.", nameof(store));
        return Batches();

        IEnumerable<EncodedBatch> Batches()
        {
            foreach (var batch in store.ReadBatches(batchRows))
            {
                cancellationToken.ThrowIfCancellationRequested();
                (SparseCodes Codes, float[]? Reconstruction) encoded;
                try
                {
                    encoded = EncodeRows(batch.Values.Span, reconstruct);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"Embedding store '{store.Name}', batch from row {batch.FirstRow}: {e.Message}", nameof(store), e);
                }

                yield return new EncodedBatch(batch, encoded.Codes, encoded.Reconstruction);
            }
        }
    }

    /// <summary>Encodes and decodes vectors: their reconstructions, row-major.</summary>
    public float[] Reconstruct(ReadOnlySpan<float> inputs) => EncodeRows(inputs, reconstruct: true).Reconstruction!;

    /// <summary>Releases the weights.</summary>
    public void Dispose()
    {
        foreach (var parameter in Parameters)
            parameter.Dispose();
    }

    /// <summary>
    /// The one encode function: K latents per row of <paramref name="inputs"/> <c>[N, d]</c>, with
    /// values ReLU'd (≥ 0) and differentiable when the weights require gradients.
    /// </summary>
    internal (Tensor Values, Tensor Indices) Encode(Tensor inputs)
    {
        var selection = SelectLatents(Center(inputs), deadLatents: null, deadK: 0);
        return (KeepAboveThreshold(Activate(inputs, selection.Indices, selection.PreActivations)), selection.Indices);
    }

    /// <summary>The activations <c>[N, K]</c> with those not above <see cref="ActivationThreshold"/> set to 0 (unchanged without a threshold).</summary>
    internal Tensor KeepAboveThreshold(Tensor values)
    {
        if (ActivationThreshold == 0)
            return values;
        using var threshold = ActivationThreshold.ToScalar();
        using var kept = values.detach().gt(threshold);
        return values.mul(kept);
    }

    /// <summary>x̂ = W_dec h + b_dec from K latents per row: <c>[N, K]</c> values and indices → <c>[N, d]</c>.</summary>
    internal Tensor Decode(Tensor values, Tensor indices) => DecodeWithoutBias(values, indices).Plus(DecoderBias);

    /// <summary>W_dec h from K latents per row (the AuxK reconstruction of a residual has no bias).</summary>
    internal Tensor DecodeWithoutBias(Tensor values, Tensor indices) => SparseRows.DecodeFunction.apply(values, DecoderWeight, indices);

    /// <summary>
    /// Chooses the K latents of each row of <paramref name="centered"/> (x − b_dec) from its dense
    /// pre-activations, computed without gradient a block of rows at a time, and keeps their values;
    /// with <paramref name="deadLatents"/>, also the <paramref name="deadK"/> largest among those latents
    /// (for the AuxK loss) from the same pre-activations.
    /// </summary>
    /// <param name="centered">x − b_dec, <c>[N, d]</c>.</param>
    /// <param name="deadLatents">A boolean <c>[n]</c> mask of dead latents, or null.</param>
    /// <param name="deadK">How many dead latents to choose per row.</param>
    /// <param name="phaseEnded">For profiling: told when the product and the selection of a block end.</param>
    /// <param name="scratch">From <see cref="NewPreActivationScratch"/>: the products are written into it instead of a fresh tensor per block.</param>
    internal LatentSelection SelectLatents(Tensor centered, Tensor? deadLatents, int deadK, Action<string>? phaseEnded = null, Tensor? scratch = null)
    {
        var rows = centered.shape[0];
        var indices = empty([rows, ActiveLatents], ScalarType.Int64, centered.device);
        var values = empty([rows, ActiveLatents], centered.dtype, centered.device);
        var withDead = deadLatents is not null && deadK > 0;
        var deadIndices = withDead ? empty([rows, deadK], ScalarType.Int64, centered.device) : null;
        var deadValues = withDead ? empty([rows, deadK], centered.dtype, centered.device) : null;
        var budgetRows = Math.Max(1, PreActivationBudget / LatentSize);
        var blockCount = Math.Max(1, (rows + budgetRows - 1) / budgetRows);
        var block = (rows + blockCount - 1) / blockCount;                       // blocks of equal size: no small last product
        using var noGrad = no_grad();
        for (long start = 0; start < rows; start += block)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(block, rows - start);
            var rowsIn = centered.narrow(0, start, count);
            var products = scratch is not null && scratch.shape[0] >= count                              // [c, n], pre-activations less the bias
                ? scratch.narrow(0, 0, count).addmm_(rowsIn, EncoderWeight.t(), beta: 0, alpha: 1)
                : rowsIn.mm(EncoderWeight.t());
            phaseEnded?.Invoke("centring, encoder product");
            var top = LargestPerRow(products, EncoderBias, ActiveLatents);
            indices.narrow(0, start, count).copy_(top.Indices);
            values.narrow(0, start, count).copy_(top.Values);
            if (withDead)
            {
                var dead = LargestPerRow(products.masked_fill_(deadLatents!.logical_not(), HeldScalars.NegativeInfinity), EncoderBias, deadK);
                deadIndices!.narrow(0, start, count).copy_(dead.Indices);
                deadValues!.narrow(0, start, count).copy_(dead.Values);
            }

            phaseEnded?.Invoke("TopK (and AuxK's dead TopK)");
        }

        return new LatentSelection(indices, values, deadIndices, deadValues);
    }

    /// <summary>
    /// A tensor for <see cref="SelectLatents"/> to write the dense pre-activations of up to <paramref name="rows"/> input rows into,
    /// a block at a time, for every call that passes it: a trainer's steps. On the CPU a fresh block per step is hundreds of
    /// megabytes that the kernel maps and zeroes again.
    /// </summary>
    internal Tensor NewPreActivationScratch(long rows) =>
        empty([Math.Clamp(rows, 1, Math.Max(1, PreActivationBudget / LatentSize)), LatentSize], EncoderWeight.dtype, EncoderWeight.device);

    /// <summary>
    /// The <paramref name="k"/> largest pre-activations (<paramref name="products"/> plus <paramref name="bias"/>) of each row and their
    /// latents, largest first: <see cref="CpuTopK"/> on the CPU, the bias added and libtorch's <c>topk</c> elsewhere.
    /// </summary>
    private static (Tensor Values, Tensor Indices) LargestPerRow(Tensor products, Tensor bias, int k)
    {
        if (CpuTopK.Handles(products, bias, k))
            return CpuTopK.Run(products, bias, k, get_num_threads());
        using var preActivations = products.Plus(bias);
        var (values, indices) = preActivations.topk(k, 1);
        return (values, indices);
    }

    /// <summary>x − b_dec, without gradient: what <see cref="SelectLatents"/> reads.</summary>
    internal Tensor Center(Tensor inputs)
    {
        using var noGrad = no_grad();
        return inputs - DecoderBias;
    }

    /// <summary>
    /// ReLU of the chosen latents' pre-activations W_enc[j] · (x − b_dec) + b_enc[j] of the rows of
    /// <paramref name="inputs"/> (x), given their values from <see cref="SelectLatents"/>; differentiable in
    /// the weights and the decoder bias.
    /// </summary>
    internal Tensor Activate(Tensor inputs, Tensor indices, Tensor preActivations) =>
        SparseRows.SelectedFunction.apply(inputs, DecoderBias, EncoderWeight, EncoderBias, indices, preActivations).relu();

    /// <summary>Throws when a caller's latent index is not one of this autoencoder's; <paramref name="parameterName"/> names the caller's parameter.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The latent is outside 0..n−1.</exception>
    internal void CheckLatent(int latent, string parameterName)
    {
        if (latent < 0 || latent >= LatentSize)
            throw new ArgumentOutOfRangeException(parameterName, latent, $"Latent {latent} is outside the autoencoder's latents 0..{LatentSize - 1}.");
    }

    /// <inheritdoc cref="CheckLatent"/>
    internal void CheckLatents(IEnumerable<int> latents, string parameterName)
    {
        foreach (var latent in latents)
            CheckLatent(latent, parameterName);
    }

    /// <summary>Whether <paramref name="threshold"/> can be an <see cref="ActivationThreshold"/>: 0 or positive, and finite.</summary>
    internal static bool IsValidThreshold(float threshold) => threshold >= 0 && float.IsFinite(threshold);

    private static void CheckThreshold(float threshold, string parameterName)
    {
        if (!IsValidThreshold(threshold))
            throw new ArgumentOutOfRangeException(parameterName, threshold, "The activation threshold must be 0 or positive and finite.");
    }

    private int HostBlockRows() => (int)Math.Clamp(PreActivationBudget / LatentSize, 1, 4096);

    private int CheckInputs(ReadOnlySpan<float> inputs)
    {
        if (inputs.Length % Dimension != 0)
            throw new ArgumentException($"The input holds {inputs.Length} values, not a whole number of vectors of dimension {Dimension}.", nameof(inputs));
        if (FiniteValues.FirstNonFiniteRow(inputs, Dimension) is var bad and >= 0)
            throw new ArgumentException($"Row {bad} of the input holds NaN or infinity; vectors must be finite.", nameof(inputs));
        return inputs.Length / Dimension;
    }

    private Tensor ToDevice(ReadOnlySpan<float> rows, int count) => HostTensors.ToDevice(rows, [count, Dimension], Device.ToTorchDevice());

    private static float[] ToHost(Tensor values)
    {
        var result = new float[values.numel()];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        HostTensors.CopyToHost(values.detach(), result.AsSpan());
        return result;
    }
}
