using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>
/// Products between vectors and the K rows of a matrix that each vector selects: the active latents of
/// a TopK autoencoder. They cost O(N·K·d) instead of the O(N·n·d) of a dense product with a mostly-zero
/// <c>[N, n]</c> matrix.
/// </summary>
/// <remarks>
/// <para>On the CPU they are <see cref="CpuSparseRows"/>'s kernels, in .NET over the tensors' memory. Elsewhere
/// <see cref="Combine"/> and the dot products of <see cref="DotsAndScatter"/> gather the selected rows a large block at a time and multiply the
/// block; <see cref="Scatter"/>, which writes rather than reads them, is a product with the transposed sparse
/// <c>[N, n]</c> matrix holding each row's K weights.</para>
/// <para><see cref="DecodeFunction"/> and <see cref="SelectedFunction"/> give autograd the gradients of
/// the decoder product and of the encoder's selected pre-activations in these terms: the gradient of a
/// combination is <see cref="DotsAndScatter"/>, that of selected dot products a
/// <see cref="Combine"/> and a <see cref="Scatter"/>.</para>
/// </remarks>
internal static class SparseRows
{
    /// <summary>Elements of one gathered block in <see cref="Combine"/> and <see cref="GatheredDots"/> off the CPU, where fewer, larger launches win: 64M floats, 256 MB.</summary>
    private const long ChunkElements = 1L << 26;

    /// <summary><c>out[b] = Σ_k weights[b, k] · matrix[indices[b, k]]</c>: <c>[N, K]</c>, <c>[n, d]</c>, <c>[N, K]</c> → <c>[N, d]</c>.</summary>
    public static Tensor Combine(Tensor weights, Tensor matrix, Tensor indices) =>
        CpuSparseRows.Handles(weights, matrix, indices, indices.shape[0] * matrix.shape[1])
            ? CpuSparseRows.Combine(weights, matrix, indices, get_num_threads())
            : GatheredCombine(weights, matrix, indices);

    /// <summary><see cref="Combine"/> in libtorch's operations: the selected rows gathered a block at a time and multiplied.</summary>
    internal static Tensor GatheredCombine(Tensor weights, Tensor matrix, Tensor indices)
    {
        var result = empty([indices.shape[0], matrix.shape[1]], matrix.dtype, matrix.device);
        foreach (var (start, count) in Chunks(indices, matrix))
        {
            using var scope = NewDisposeScope();
            var gathered = Gather(matrix, indices, start, count);                                                          // [c, K, d]
            result.narrow(0, start, count).copy_(weights.narrow(0, start, count).unsqueeze(1).bmm(gathered).squeeze(1));  // [c, d]
        }

        return result;
    }

    /// <summary>
    /// <c>out[j] = Σ over (b, k) with indices[b, k] = j of weights[b, k] · vectors[b]</c>:
    /// <c>[N, K]</c>, <c>[N, d]</c>, <c>[N, K]</c> → <c>[n, d]</c>, zero for rows no vector selects.
    /// </summary>
    public static Tensor Scatter(Tensor weights, Tensor vectors, Tensor indices, long matrixRows) =>
        CpuSparseRows.Handles(weights, vectors, indices, matrixRows * vectors.shape[1])
            ? CpuSparseRows.Scatter(weights, vectors, indices, matrixRows, get_num_threads())
            : SparseProductScatter(weights, vectors, indices, matrixRows);

    /// <summary><see cref="Scatter"/> in libtorch's operations: a product with the transposed sparse matrix of the weights.</summary>
    internal static Tensor SparseProductScatter(Tensor weights, Tensor vectors, Tensor indices, long matrixRows)
    {
        using var scope = NewDisposeScope();
        var sparse = Sparse(weights, indices, matrixRows);
        return sparse.t().mm(vectors).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>dots[b, k] = vectors[b] · matrix[indices[b, k]]</c> (<c>[N, K]</c>) and <see cref="Scatter"/><c>(weights, vectors, indices, n)</c> of the same
    /// pairs (<c>[n, d]</c>), the gradients of a <see cref="Combine"/> with respect to its weights and its matrix: on the CPU in one pass, each of a
    /// latent's pairs reading its vector once for both and the latent's matrix row once for all of them.
    /// </summary>
    public static (Tensor Dots, Tensor Sums) DotsAndScatter(Tensor weights, Tensor vectors, Tensor matrix, Tensor indices) =>
        CpuSparseRows.Handles(weights, matrix, indices, matrix.numel()) && CpuSparseRows.Handles(vectors, matrix, indices, indices.numel())
            ? CpuSparseRows.DotsAndScatter(weights, vectors, matrix, indices, get_num_threads())
            : (GatheredDots(vectors, matrix, indices), SparseProductScatter(weights, vectors, indices, matrix.shape[0]));

    /// <summary><c>out[b, k] = vectors[b] · matrix[indices[b, k]]</c> in libtorch's operations, <see cref="DotsAndScatter"/>'s first result off the CPU: the selected rows gathered a block at a time and multiplied.</summary>
    internal static Tensor GatheredDots(Tensor vectors, Tensor matrix, Tensor indices)
    {
        var result = empty([indices.shape[0], indices.shape[1]], matrix.dtype, matrix.device);
        foreach (var (start, count) in Chunks(indices, matrix))
        {
            using var scope = NewDisposeScope();
            var gathered = Gather(matrix, indices, start, count);                                                          // [c, K, d]
            result.narrow(0, start, count).copy_(gathered.mul_(vectors.narrow(0, start, count).unsqueeze(1)).sum([2])); // [c, K]
        }

        return result;
    }

    /// <summary>Row ranges of <paramref name="indices"/> whose gathered rows of <paramref name="matrix"/> fit one block of <see cref="ChunkElements"/>.</summary>
    private static IEnumerable<(long Start, long Count)> Chunks(Tensor indices, Tensor matrix)
    {
        var (rows, k, d) = (indices.shape[0], indices.shape[1], matrix.shape[1]);
        var chunk = Math.Max(1, ChunkElements / Math.Max(1, k * d));
        for (long start = 0; start < rows; start += chunk)
            yield return (start, Math.Min(chunk, rows - start));
    }

    /// <summary>The rows of <paramref name="matrix"/> that rows start … start + count − 1 of <paramref name="indices"/> select: <c>[count, K, d]</c>.</summary>
    private static Tensor Gather(Tensor matrix, Tensor indices, long start, long count) =>
        matrix.index_select(0, indices.narrow(0, start, count).reshape(-1)).view(count, indices.shape[1], matrix.shape[1]);

    /// <summary>The sparse <c>[N, columns]</c> matrix with weights[b, k] at (b, indices[b, k]).</summary>
    private static Tensor Sparse(Tensor weights, Tensor indices, long columns)
    {
        using var scope = NewDisposeScope();
        var (rows, k) = (indices.shape[0], indices.shape[1]);
        using var rowCount = rows.ToScalar();
        var rowIndices = arange(HeldScalars.Zero, rowCount, HeldScalars.One, ScalarType.Int64, indices.device).unsqueeze(1).expand(rows, k).reshape(-1);
        var coordinates = stack([rowIndices, indices.reshape(-1)]);                                        // [2, N·K]
        return sparse_coo_tensor(coordinates, weights.reshape(-1), [rows, columns]).MoveToOuterDisposeScope();
    }

    /// <summary>x̂ without bias, <see cref="Combine"/> of latent values and decoder rows, for autograd: differentiable in both.</summary>
    internal sealed class DecodeFunction : autograd.SingleTensorFunction<DecodeFunction>
    {
        public override string Name => "SaeMlSparseDecode";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (values, decoder, indices) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
            ctx.save_for_backward([values, decoder, indices]);
            return BackwardScope.Remember(ctx, Combine(values, decoder, indices));
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient) =>
            BackwardScope.Run(ctx, gradient, saved =>
            {
                var (values, decoder, indices) = (saved[0], saved[1], saved[2]);
                var (valueGradient, decoderGradient) = DotsAndScatter(values, gradient, decoder, indices);
                return [valueGradient, decoderGradient, null!];
            });
    }

    /// <summary>
    /// The selected pre-activations <c>encoder[j] · (inputs[b] − offset) + bias[j]</c> for j = indices[b, k],
    /// for autograd. Their values come in precomputed (TopK read them off the dense pre-activations), so the
    /// forward costs nothing; the backward gives the offset (the decoder bias), the encoder rows and the bias
    /// their gradients. The inputs get none: they are data.
    /// </summary>
    /// <remarks>
    /// The offset's gradient is <c>−Σ_j g_j · encoder[j]</c>, where g_j, the bias gradient, sums the
    /// upstream gradients of the pairs that selected latent j: one <c>[n]·[n, d]</c> product, where the
    /// gradient of every centred input row would cost a K-sparse product over all N rows.
    /// </remarks>
    internal sealed class SelectedFunction : autograd.SingleTensorFunction<SelectedFunction>
    {
        public override string Name => "SaeMlSelectedPreActivations";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (inputs, offset, encoder, indices, values) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[4], (Tensor)vars[5]);
            if (inputs.requires_grad)
                throw new ArgumentException("The inputs of the selected pre-activations are data: they get no gradient.", nameof(vars));
            ctx.save_for_backward([inputs, offset, encoder, indices]);
            return BackwardScope.Remember(ctx, values.clone());
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient) =>
            BackwardScope.Run(ctx, gradient, saved =>
            {
                var (inputs, offset, encoder, indices) = (saved[0], saved[1], saved[2], saved[3]);
                var centered = inputs - offset;
                var biasGradient = zeros(encoder.shape[0], gradient.dtype, gradient.device).index_add_(0, indices.reshape(-1), gradient.reshape(-1), HeldScalars.One);
                var offsetGradient = biasGradient.unsqueeze(0).mm(encoder).squeeze(0).neg_();
                return [null!, offsetGradient, Scatter(gradient, centered, indices, encoder.shape[0]), biasGradient, null!, null!];
            });
    }
}
