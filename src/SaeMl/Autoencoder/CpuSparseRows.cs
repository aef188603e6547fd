using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SaeMl.Autoencoder;

/// <summary>
/// The products of <see cref="SparseRows"/> on the CPU, in .NET over the tensors' memory: each K-sparse product
/// reads the selected rows where they lie (no gathered copies), sums a tile of columns at a time in registers, and
/// splits its output rows between the compute threads. Float and double.
/// </summary>
/// <remarks>
/// <para>Going through the columns a tile at a time keeps that tile of every row read (N × 64 floats of the vectors,
/// or n × 64 of the matrix) in cache while all the pairs read it; whole rows read in pair order would come from
/// memory. <see cref="Scatter"/> sorts the N·K pairs by latent first (a counting sort) so that each output row is
/// written once by one thread; libtorch's sparse × dense product, which the general path uses, runs on one core.
/// Figures: docs/benchmarks.md, "A training step by phase".</para>
/// <para>Every sum runs in a fixed order (over k, or over a latent's pairs in row order), so results do not depend
/// on the thread count. Shapes and indices are checked before any memory is read.</para>
/// </remarks>
internal static class CpuSparseRows
{
    /// <summary>Vectors of columns summed at once: the tile of one output row held in registers.</summary>
    private const int TileVectors = 8;

    private const int PrefetchDistance = 8;

    /// <summary>
    /// Whether these tensors are CPU tensors of one float type (float or double) with long indices, which the kernels here take, and
    /// each of them and the result of <paramref name="resultElements"/> fits one span (2 GiB); larger ones take libtorch's path.
    /// </summary>
    public static bool Handles(Tensor values, Tensor matrix, Tensor indices, long resultElements) =>
        values.device.type == DeviceType.CPU && matrix.device.type == DeviceType.CPU && indices.device.type == DeviceType.CPU
        && values.dtype == matrix.dtype && matrix.dtype is ScalarType.Float32 or ScalarType.Float64 && indices.dtype == ScalarType.Int64
        && FitsASpan(values.numel(), values.ElementSize) && FitsASpan(matrix.numel(), matrix.ElementSize)
        && FitsASpan(indices.numel(), indices.ElementSize) && FitsASpan(resultElements, matrix.ElementSize);

    private static bool FitsASpan(long elements, long elementSize) => elements * elementSize <= int.MaxValue;

    /// <inheritdoc cref="SparseRows.Combine"/>
    public static Tensor Combine(Tensor weights, Tensor matrix, Tensor indices, int threads)
    {
        CheckShapes(weights.shape.SequenceEqual(indices.shape), "the weights", "[N, K] like the indices", weights, indices, matrix);
        return Apply(weights, matrix, indices, [indices.shape[0], matrix.shape[1]], (int)matrix.shape[0], threads, Combine<float>, Combine<double>);
    }

    /// <inheritdoc cref="SparseRows.Scatter"/>
    public static Tensor Scatter(Tensor weights, Tensor vectors, Tensor indices, long matrixRows, int threads)
    {
        CheckShapes(weights.shape.SequenceEqual(indices.shape) && vectors.dim() == 2 && vectors.shape[0] == indices.shape[0], "the weights and vectors",
            "[N, K] like the indices and [N, d]", weights, indices, vectors);
        return Apply(weights, vectors, indices, [matrixRows, vectors.shape[1]], checked((int)matrixRows), threads, Scatter<float>, Scatter<double>);
    }

    /// <inheritdoc cref="SparseRows.DotsAndScatter"/>
    public static (Tensor Dots, Tensor Sums) DotsAndScatter(Tensor weights, Tensor vectors, Tensor matrix, Tensor indices, int threads)
    {
        CheckShapes(weights.shape.SequenceEqual(indices.shape), "the weights", "[N, K] like the indices", weights, indices, matrix);
        CheckShapes(vectors.dim() == 2 && vectors.shape[0] == indices.shape[0] && vectors.shape[1] == matrix.shape[1], "the vectors", "[N, d]", vectors, indices, matrix);
        using var scope = NewDisposeScope();
        var held = Held(indices, (int)matrix.shape[0], weights, vectors, matrix);
        var dots = empty(indices.shape, matrix.dtype);
        var sums = empty(matrix.shape, matrix.dtype);
        if (matrix.dtype == ScalarType.Float32)
            Scatter<float>(held[0], held[1], held[3], sums, Math.Max(1, threads), held[2], dots);
        else
            Scatter<double>(held[0], held[1], held[3], sums, Math.Max(1, threads), held[2], dots);
        return (dots.MoveToOuterDisposeScope(), sums.MoveToOuterDisposeScope());
    }

    /// <summary>Throws unless the indices are <c>[N, K]</c>, the matrix 2-dimensional and <paramref name="agrees"/> holds for the other operand.</summary>
    private static void CheckShapes(bool agrees, string operand, string expected, Tensor other, Tensor indices, Tensor matrix)
    {
        if (indices.dim() != 2 || matrix.dim() != 2 || !agrees)
            throw new ArgumentException(
                $"Shapes do not fit: indices [{string.Join(", ", indices.shape)}] (expected [N, K]), {operand} [{string.Join(", ", other.shape)}] (expected {expected}), " +
                $"matrix [{string.Join(", ", matrix.shape)}] (expected 2-dimensional).");
    }

    private delegate void Kernel(Tensor first, Tensor second, Tensor indices, Tensor result, int threads);

    private static Tensor Apply(Tensor first, Tensor second, Tensor indices, long[] shape, int latents, int threads, Kernel overFloats, Kernel overDoubles)
    {
        using var scope = NewDisposeScope();
        var held = Held(indices, latents, first, second);
        var result = empty(shape, second.dtype);
        (second.dtype == ScalarType.Float32 ? overFloats : overDoubles)(held[0], held[1], held[2], result, Math.Max(1, threads));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The operands detached and contiguous, then the indices contiguous (last), once every index is known to lie in 0 … <paramref name="latents"/> − 1.</summary>
    private static Tensor[] Held(Tensor indices, int latents, params Tensor[] operands)
    {
        var heldIndices = indices.contiguous();
        CheckIndices(HostTensors.Memory<long>(heldIndices), latents);
        return [.. operands.Select(operand => operand.detach().contiguous()), heldIndices];
    }

    private static void CheckIndices(ReadOnlySpan<long> indices, int latents)
    {
        foreach (var latent in indices)
        {
            if ((ulong)latent >= (ulong)latents)
                throw new ArgumentOutOfRangeException(nameof(indices), latent, $"Latent index {latent} is outside 0..{latents - 1}.");
        }
    }

    private static unsafe void Combine<T>(Tensor weights, Tensor matrix, Tensor indices, Tensor result, int threads) where T : unmanaged, INumber<T>
    {
        var (rows, active, dimension) = ((int)indices.shape[0], (int)indices.shape[1], (int)matrix.shape[1]);
        var weightMemory = HostTensors.Pointer<T>(weights);
        var matrixMemory = HostTensors.Pointer<T>(matrix);
        var indexMemory = HostTensors.Pointer<long>(indices);
        var resultMemory = HostTensors.Pointer<T>(result);
        var width = TileVectors * Vector<T>.Count;
        HostParallel.InParts(rows, threads, (first, end) =>
        {
            var column = 0;
            for (; column + width <= dimension; column += width)
            {
                for (var row = first; row < end; row++)
                    SumTile(weightMemory + (long)row * active, indexMemory + (long)row * active, active, matrixMemory + column, dimension, resultMemory + (long)row * dimension + column);
            }

            for (var row = first; row < end && column < dimension; row++)
            {
                var output = new Span<T>(resultMemory + (long)row * dimension + column, dimension - column);
                output.Clear();
                for (var k = 0; k < active; k++)
                {
                    var pair = (long)row * active + k;
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(matrixMemory + indexMemory[pair] * dimension + column, output.Length), weightMemory[pair], output, output);
                }
            }
        });
    }

    /// <summary>
    /// One tile of an output row: Σ over the <paramref name="count"/> pairs of weights[p] · rows[indices[p]], from
    /// <paramref name="rows"/> offset to the tile's first column, rows <paramref name="dimension"/> apart.
    /// </summary>
    private static unsafe void SumTile<T>(T* weights, long* indices, int count, T* rows, int dimension, T* output) where T : unmanaged, INumber<T>
    {
        var lanes = Vector<T>.Count;
        var (sum0, sum1, sum2, sum3) = (Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero);
        var (sum4, sum5, sum6, sum7) = (Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero);
        for (var pair = 0; pair < count; pair++)
        {
            PrefetchAhead(rows, indices, pair, count, dimension);

            var weight = new Vector<T>(weights[pair]);
            var row = rows + indices[pair] * dimension;
            sum0 += weight * Unsafe.ReadUnaligned<Vector<T>>(row);
            sum1 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + lanes);
            sum2 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + 2 * lanes);
            sum3 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + 3 * lanes);
            sum4 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + 4 * lanes);
            sum5 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + 5 * lanes);
            sum6 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + 6 * lanes);
            sum7 += weight * Unsafe.ReadUnaligned<Vector<T>>(row + 7 * lanes);
        }

        StoreTile(output, sum0, sum1, sum2, sum3, sum4, sum5, sum6, sum7);
    }

    private static void Scatter<T>(Tensor weights, Tensor vectors, Tensor indices, Tensor result, int threads) where T : unmanaged, INumber<T> =>
        Scatter<T>(weights, vectors, indices, result, threads, matrix: null, dots: null);

    /// <summary>
    /// The scatter into <paramref name="result"/>, and with a <paramref name="matrix"/> the dot products of each pair's vector with
    /// its latent's matrix row into <paramref name="dots"/> (<c>[N, K]</c>) on the way: every tile of a vector read for the sum
    /// also meets the latent's row tile, read once per latent instead of once per pair.
    /// </summary>
    private static unsafe void Scatter<T>(Tensor weights, Tensor vectors, Tensor indices, Tensor result, int threads, Tensor? matrix, Tensor? dots) where T : unmanaged, INumber<T>
    {
        var (latents, dimension) = ((int)result.shape[0], (int)result.shape[1]);
        var pairs = PairsByLatent<T>(HostTensors.Memory<long>(indices), HostTensors.Memory<T>(weights), (int)indices.shape[1], latents, withOrigins: dots is not null);
        var vectorMemory = HostTensors.Pointer<T>(vectors);
        var resultMemory = HostTensors.Pointer<T>(result);
        var matrixMemory = matrix is null ? null : HostTensors.Pointer<T>(matrix);
        var dotMemory = dots is null ? null : HostTensors.Pointer<T>(dots);
        var partialDots = matrix is null ? [] : new T[pairs.Rows.Length];
        var ranges = Ranges(pairs.Starts, threads);
        var width = TileVectors * Vector<T>.Count;
        Parallel.For(0, ranges.Length - 1, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            fixed (long* rowMemory = pairs.Rows)
            fixed (T* pairWeights = pairs.Weights)
            fixed (T* partials = partialDots)
            {
                var column = 0;
                for (; column + width <= dimension; column += width)
                {
                    for (var latent = ranges[part]; latent < ranges[part + 1]; latent++)
                    {
                        var first = pairs.Starts[latent];
                        var count = pairs.Starts[latent + 1] - first;
                        var output = resultMemory + (long)latent * dimension + column;
                        if (matrixMemory is null)
                            SumTile(pairWeights + first, rowMemory + first, count, vectorMemory + column, dimension, output);
                        else
                            SumTileAndDots(pairWeights + first, rowMemory + first, count, vectorMemory + column, dimension, output, matrixMemory + (long)latent * dimension + column, partials + first);
                    }
                }

                for (var latent = ranges[part]; latent < ranges[part + 1] && column < dimension; latent++)
                {
                    var output = new Span<T>(resultMemory + (long)latent * dimension + column, dimension - column);
                    output.Clear();
                    for (var pair = pairs.Starts[latent]; pair < pairs.Starts[latent + 1]; pair++)
                    {
                        var vectorRest = new ReadOnlySpan<T>(vectorMemory + rowMemory[pair] * dimension + column, output.Length);
                        TensorPrimitives.MultiplyAdd(vectorRest, pairWeights[pair], output, output);
                        if (matrixMemory is not null)
                            partials[pair] += TensorPrimitives.Dot(vectorRest, new ReadOnlySpan<T>(matrixMemory + (long)latent * dimension + column, output.Length));
                    }
                }

                for (var pair = pairs.Starts[ranges[part]]; dotMemory is not null && pair < pairs.Starts[ranges[part + 1]]; pair++)
                    dotMemory[pairs.Origins[pair]] = partials[pair];
            }
        });
    }

    /// <summary>
    /// <see cref="SumTile"/>, and for each pair the dot product of its vector's tile with <paramref name="matrixRow"/>'s, added to
    /// <paramref name="partials"/>[p]. The matrix tile is read from L1 for each pair rather than held in registers, which AVX2's sixteen would not fit.
    /// </summary>
    private static unsafe void SumTileAndDots<T>(T* weights, long* indices, int count, T* rows, int dimension, T* output, T* matrixRow, T* partials)
        where T : unmanaged, INumber<T>
    {
        var lanes = Vector<T>.Count;
        var (sum0, sum1, sum2, sum3) = (Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero);
        var (sum4, sum5, sum6, sum7) = (Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero, Vector<T>.Zero);
        for (var pair = 0; pair < count; pair++)
        {
            PrefetchAhead(rows, indices, pair, count, dimension);

            var weight = new Vector<T>(weights[pair]);
            var row = rows + indices[pair] * dimension;
            var r = Unsafe.ReadUnaligned<Vector<T>>(row);
            sum0 += weight * r;
            var dot = r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + lanes);
            sum1 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + lanes);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + 2 * lanes);
            sum2 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + 2 * lanes);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + 3 * lanes);
            sum3 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + 3 * lanes);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + 4 * lanes);
            sum4 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + 4 * lanes);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + 5 * lanes);
            sum5 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + 5 * lanes);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + 6 * lanes);
            sum6 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + 6 * lanes);
            r = Unsafe.ReadUnaligned<Vector<T>>(row + 7 * lanes);
            sum7 += weight * r;
            dot += r * Unsafe.ReadUnaligned<Vector<T>>(matrixRow + 7 * lanes);
            partials[pair] += Vector.Sum(dot);
        }

        StoreTile(output, sum0, sum1, sum2, sum3, sum4, sum5, sum6, sum7);
    }

    /// <summary>Asks for the tile of the row <see cref="PrefetchDistance"/> pairs ahead (four cache lines: 64 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchAhead<T>(T* rows, long* indices, int pair, int count, int dimension) where T : unmanaged
    {
        if (Sse.IsSupported && pair + PrefetchDistance < count)
        {
            var ahead = (byte*)(rows + indices[pair + PrefetchDistance] * dimension);
            Sse.Prefetch0(ahead);
            Sse.Prefetch0(ahead + 64);
            Sse.Prefetch0(ahead + 128);
            Sse.Prefetch0(ahead + 192);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreTile<T>(T* output, Vector<T> sum0, Vector<T> sum1, Vector<T> sum2, Vector<T> sum3, Vector<T> sum4, Vector<T> sum5, Vector<T> sum6, Vector<T> sum7)
        where T : unmanaged
    {
        var lanes = Vector<T>.Count;
        Unsafe.WriteUnaligned(output, sum0);
        Unsafe.WriteUnaligned(output + lanes, sum1);
        Unsafe.WriteUnaligned(output + 2 * lanes, sum2);
        Unsafe.WriteUnaligned(output + 3 * lanes, sum3);
        Unsafe.WriteUnaligned(output + 4 * lanes, sum4);
        Unsafe.WriteUnaligned(output + 5 * lanes, sum5);
        Unsafe.WriteUnaligned(output + 6 * lanes, sum6);
        Unsafe.WriteUnaligned(output + 7 * lanes, sum7);
    }

    /// <summary>
    /// The N·K pairs grouped by latent, in row order within a latent: latent j's are at Starts[j] … Starts[j + 1] − 1, each with
    /// its row, its weight and (<paramref name="withOrigins"/>) its position b·K + k in the <c>[N, K]</c> indices.
    /// </summary>
    private static (int[] Starts, long[] Rows, T[] Weights, int[] Origins) PairsByLatent<T>(ReadOnlySpan<long> indices, ReadOnlySpan<T> weights, int active, int latents, bool withOrigins)
    {
        var starts = new int[latents + 1];
        foreach (var latent in indices)
            starts[latent + 1]++;

        for (var latent = 0; latent < latents; latent++)
            starts[latent + 1] += starts[latent];
        var next = starts[..latents];
        var rows = new long[indices.Length];
        var sortedWeights = new T[indices.Length];
        var origins = withOrigins ? new int[indices.Length] : [];
        for (var pair = 0; pair < indices.Length; pair++)
        {
            var slot = next[indices[pair]]++;
            rows[slot] = pair / active;
            sortedWeights[slot] = weights[pair];
            if (withOrigins)
                origins[slot] = pair;
        }

        return (starts, rows, sortedWeights, origins);
    }

    /// <summary>Latent ranges of about equal work (a pair's vector read and added, a latent's row written), one per thread: boundaries 0 … latents.</summary>
    private static int[] Ranges(int[] starts, int threads)
    {
        var latents = starts.Length - 1;
        var parts = Math.Clamp(threads, 1, Math.Max(1, latents));
        long Work(int latentEnd) => (long)starts[latentEnd] + latentEnd;
        var total = Work(latents);
        var boundaries = new int[parts + 1];
        boundaries[parts] = latents;
        var latent = 0;
        for (var part = 1; part < parts; part++)
        {
            var target = total * part / parts;
            while (latent < latents && Work(latent) < target)
                latent++;
            boundaries[part] = latent;
        }

        return boundaries;
    }
}
