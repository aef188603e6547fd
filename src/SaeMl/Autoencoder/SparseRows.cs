using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>
/// Products between vectors and the K rows of a matrix that each vector selects: the active latents of
/// a TopK autoencoder. They cost O(N·K·d) instead of the O(N·n·d) of a dense product with a mostly-zero
/// <c>[N, n]</c> matrix, and they work in chunks of rows so memory stays bounded however large N is.
/// </summary>
/// <remarks>
/// Three kernels close under differentiation: the gradient of <see cref="Combine"/> is a
/// <see cref="Dots"/> and a <see cref="Scatter"/>, and the gradient of <see cref="Dots"/> is a
/// <see cref="Combine"/> and a <see cref="Scatter"/>. <see cref="CombineFunction"/> and
/// <see cref="DotsFunction"/> give autograd those gradients.
/// </remarks>
internal static class SparseRows
{
    /// <summary>Elements of the largest gathered block: 16M floats, 64 MB.</summary>
    private const long ChunkElements = 1L << 24;

    /// <summary><c>out[b] = Σ_k weights[b, k] · matrix[indices[b, k]]</c>: <c>[N, K]</c>, <c>[n, d]</c>, <c>[N, K]</c> → <c>[N, d]</c>.</summary>
    public static Tensor Combine(Tensor weights, Tensor matrix, Tensor indices)
    {
        var (rows, k, d) = (indices.shape[0], indices.shape[1], matrix.shape[1]);
        var result = empty([rows, d], matrix.dtype, matrix.device);
        foreach (var (start, count) in Chunks(rows, k * d))
        {
            using var scope = NewDisposeScope();
            var gathered = matrix.index_select(0, indices.narrow(0, start, count).reshape(-1)).view(count, k, d); // [c, K, d]
            result.narrow(0, start, count).copy_(weights.narrow(0, start, count).unsqueeze(1).bmm(gathered).squeeze(1)); // [c, d]
        }

        return result;
    }

    /// <summary><c>out[b, k] = vectors[b] · matrix[indices[b, k]]</c>: <c>[N, d]</c>, <c>[n, d]</c>, <c>[N, K]</c> → <c>[N, K]</c>.</summary>
    public static Tensor Dots(Tensor vectors, Tensor matrix, Tensor indices)
    {
        var (rows, k, d) = (indices.shape[0], indices.shape[1], matrix.shape[1]);
        var result = empty([rows, k], matrix.dtype, matrix.device);
        foreach (var (start, count) in Chunks(rows, k * d))
        {
            using var scope = NewDisposeScope();
            var gathered = matrix.index_select(0, indices.narrow(0, start, count).reshape(-1)).view(count, k, d); // [c, K, d]
            result.narrow(0, start, count).copy_(gathered.bmm(vectors.narrow(0, start, count).unsqueeze(-1)).squeeze(-1)); // [c, K]
        }

        return result;
    }

    /// <summary>
    /// <c>out[j] = Σ over (b, k) with indices[b, k] = j of weights[b, k] · vectors[b]</c>:
    /// <c>[N, K]</c>, <c>[N, d]</c>, <c>[N, K]</c> → <c>[n, d]</c>, zero for rows no vector selects.
    /// </summary>
    public static Tensor Scatter(Tensor weights, Tensor vectors, Tensor indices, long matrixRows)
    {
        var (rows, k, d) = (indices.shape[0], indices.shape[1], vectors.shape[1]);
        var result = zeros([matrixRows, d], vectors.dtype, vectors.device);
        foreach (var (start, count) in Chunks(rows, k * d))
        {
            using var scope = NewDisposeScope();
            var outer = weights.narrow(0, start, count).unsqueeze(-1) * vectors.narrow(0, start, count).unsqueeze(1); // [c, K, d]
            result.index_add_(0, indices.narrow(0, start, count).reshape(-1), outer.view(-1, d), 1);
        }

        return result;
    }

    private static IEnumerable<(long Start, long Count)> Chunks(long rows, long elementsPerRow)
    {
        var chunk = Math.Max(1, ChunkElements / Math.Max(1, elementsPerRow));
        for (long start = 0; start < rows; start += chunk)
            yield return (start, Math.Min(chunk, rows - start));
    }

    /// <summary><see cref="Combine"/> for autograd: differentiable in the weights and the matrix.</summary>
    internal sealed class CombineFunction : autograd.SingleTensorFunction<CombineFunction>
    {
        public override string Name => "SaeMlSparseCombine";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (weights, matrix, indices) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
            ctx.save_for_backward([weights, matrix, indices]);
            return Combine(weights, matrix, indices);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient)
        {
            var saved = ctx.get_saved_variables();
            var (weights, matrix, indices) = (saved[0], saved[1], saved[2]);
            return [Dots(gradient, matrix, indices), Scatter(weights, gradient, indices, matrix.shape[0]), null!];
        }
    }

    /// <summary><see cref="Dots"/> for autograd: differentiable in the vectors and the matrix.</summary>
    internal sealed class DotsFunction : autograd.SingleTensorFunction<DotsFunction>
    {
        public override string Name => "SaeMlSparseDots";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (vectors, matrix, indices) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
            ctx.save_for_backward([vectors, matrix, indices]);
            return Dots(vectors, matrix, indices);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient)
        {
            var saved = ctx.get_saved_variables();
            var (vectors, matrix, indices) = (saved[0], saved[1], saved[2]);
            return [Combine(gradient, matrix, indices), Scatter(gradient, vectors, indices, matrix.shape[0]), null!];
        }
    }
}
