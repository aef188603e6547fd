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
/// <para><see cref="Combine"/> and <see cref="Scatter"/> are products with the sparse <c>[N, n]</c>
/// matrix holding each row's K weights (sparse × dense, and its transpose), which libtorch computes
/// without gathering rows; <see cref="Dots"/> gathers the selected rows a chunk at a time.</para>
/// <para><see cref="DecodeFunction"/> and <see cref="SelectedFunction"/> give autograd the gradients of
/// the decoder product and of the encoder's selected pre-activations in these terms: the gradient of a
/// combination is a <see cref="Dots"/> and a <see cref="Scatter"/>, that of selected dot products a
/// <see cref="Combine"/> and a <see cref="Scatter"/>.</para>
/// </remarks>
internal static class SparseRows
{
    /// <summary>
    /// Elements of one gathered block in <see cref="Dots"/> on the CPU: 1M floats, 4 MB, small enough to
    /// stay in cache between the gather and the multiply (5.5 times faster than 64 MB blocks at N = 8,704,
    /// K = 64, d = 768; see docs/benchmarks.md).
    /// </summary>
    private const long CpuChunkElements = 1L << 20;

    /// <summary>Elements of one gathered block in <see cref="Dots"/> on a GPU, where fewer, larger launches win: 64M floats, 256 MB.</summary>
    private const long GpuChunkElements = 1L << 26;

    /// <summary><c>out[b] = Σ_k weights[b, k] · matrix[indices[b, k]]</c>: <c>[N, K]</c>, <c>[n, d]</c>, <c>[N, K]</c> → <c>[N, d]</c>.</summary>
    public static Tensor Combine(Tensor weights, Tensor matrix, Tensor indices)
    {
        using var sparse = Sparse(weights, indices, matrix.shape[0]);
        return sparse.mm(matrix);
    }

    /// <summary>
    /// <c>out[j] = Σ over (b, k) with indices[b, k] = j of weights[b, k] · vectors[b]</c>:
    /// <c>[N, K]</c>, <c>[N, d]</c>, <c>[N, K]</c> → <c>[n, d]</c>, zero for rows no vector selects.
    /// </summary>
    public static Tensor Scatter(Tensor weights, Tensor vectors, Tensor indices, long matrixRows)
    {
        using var scope = NewDisposeScope();
        var sparse = Sparse(weights, indices, matrixRows);
        return sparse.t().mm(vectors).MoveToOuterDisposeScope();
    }

    /// <summary><c>out[b, k] = vectors[b] · matrix[indices[b, k]]</c>: <c>[N, d]</c>, <c>[n, d]</c>, <c>[N, K]</c> → <c>[N, K]</c>.</summary>
    public static Tensor Dots(Tensor vectors, Tensor matrix, Tensor indices)
    {
        var (rows, k, d) = (indices.shape[0], indices.shape[1], matrix.shape[1]);
        var result = empty([rows, k], matrix.dtype, matrix.device);
        var chunkElements = matrix.device.type == DeviceType.CPU ? CpuChunkElements : GpuChunkElements;
        var chunk = Math.Max(1, chunkElements / Math.Max(1, k * d));
        for (long start = 0; start < rows; start += chunk)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(chunk, rows - start);
            var gathered = matrix.index_select(0, indices.narrow(0, start, count).reshape(-1)).view(count, k, d); // [c, K, d]
            result.narrow(0, start, count).copy_(gathered.mul_(vectors.narrow(0, start, count).unsqueeze(1)).sum([2])); // [c, K]
        }

        return result;
    }

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
            return Combine(values, decoder, indices);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient)
        {
            var saved = ctx.get_saved_variables();
            var (values, decoder, indices) = (saved[0], saved[1], saved[2]);
            return [Dots(gradient, decoder, indices), Scatter(values, gradient, indices, decoder.shape[0]), null!];
        }
    }

    /// <summary>
    /// The selected pre-activations <c>encoder[j] · centered[b] + bias[j]</c> for j = indices[b, k], for
    /// autograd. Their values come in precomputed (TopK read them off the dense pre-activations), so the
    /// forward costs nothing; the backward gives the centered inputs, the encoder rows and the bias their
    /// gradients.
    /// </summary>
    internal sealed class SelectedFunction : autograd.SingleTensorFunction<SelectedFunction>
    {
        public override string Name => "SaeMlSelectedPreActivations";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (centered, encoder, indices, values) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[3], (Tensor)vars[4]);
            ctx.save_for_backward([centered, encoder, indices]);
            return values.clone();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient)
        {
            var saved = ctx.get_saved_variables();
            var (centered, encoder, indices) = (saved[0], saved[1], saved[2]);
            var biasGradient = zeros(encoder.shape[0], gradient.dtype, gradient.device).index_add_(0, indices.reshape(-1), gradient.reshape(-1), HeldScalars.One);
            return [Combine(gradient, encoder, indices), Scatter(gradient, centered, indices, encoder.shape[0]), biasGradient, null!, null!];
        }
    }
}
