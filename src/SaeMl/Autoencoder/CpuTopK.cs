using System.Numerics;
using System.Numerics.Tensors;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SaeMl.Autoencoder;

/// <summary>
/// The K largest values of each row of a CPU float matrix plus an offset per column, and their columns, largest first (equal values: lower column
/// first; NaN above everything, as libtorch's <c>topk</c> puts it): TopK of a block of encoder products plus the encoder bias.
/// </summary>
/// <remarks>
/// <para>A row is cut into K groups of columns; the smallest of the K group maxima is a threshold that at least K
/// values reach. One pass finds the group maxima and a second keeps the columns at or above the threshold
/// (a few times K of them), both a vector of columns at a time; a quickselect moves the K largest candidates
/// to the front, and only those K are sorted.</para>
/// <para>At n = 16,384, K = 64 this is several times faster than libtorch's <c>topk</c> on the same threads
/// (see docs/benchmarks.md, "A training step by phase").</para>
/// </remarks>
internal static class CpuTopK
{
    /// <summary>
    /// Whether <see cref="Run"/> takes <paramref name="values"/> and <paramref name="rowOffset"/>: a 2-dimensional float tensor on the
    /// CPU with at least <paramref name="k"/> columns, and a float vector of as many elements.
    /// </summary>
    public static bool Handles(Tensor values, Tensor rowOffset, int k) =>
        values.device.type == DeviceType.CPU && values.dtype == ScalarType.Float32 && values.dim() == 2 && k >= 1 && values.shape[1] >= k
        && values.numel() <= int.MaxValue / sizeof(float) && values.shape[0] * (long)k <= int.MaxValue / sizeof(long)
        && rowOffset.device.type == DeviceType.CPU && rowOffset.dtype == ScalarType.Float32 && rowOffset.dim() == 1 && rowOffset.shape[0] == values.shape[1];

    /// <summary>
    /// The <paramref name="k"/> largest values of each row of <paramref name="values"/> <c>[rows, n]</c> plus <paramref name="rowOffset"/>
    /// <c>[n]</c>, largest first, and their columns: <c>[rows, k]</c> each. The sums are formed a row at a time in cache, where adding
    /// the offset to the whole matrix first would be one more pass over it in memory.
    /// </summary>
    public static (Tensor Values, Tensor Indices) Run(Tensor values, Tensor rowOffset, int k, int threads)
    {
        using var scope = NewDisposeScope();
        var (held, heldOffset) = (values.detach().contiguous(), rowOffset.detach().contiguous());
        var (rows, columns) = ((int)held.shape[0], (int)held.shape[1]);
        var topValues = empty([rows, k], ScalarType.Float32);
        var topIndices = empty([rows, k], ScalarType.Int64);
        Select(held, heldOffset, topValues, topIndices, rows, columns, k, threads);
        return (topValues.MoveToOuterDisposeScope(), topIndices.MoveToOuterDisposeScope());
    }

    private static unsafe void Select(Tensor held, Tensor rowOffset, Tensor topValues, Tensor topIndices, int rows, int columns, int k, int threads)
    {
        var input = HostTensors.Pointer<float>(held);
        var offset = HostTensors.Pointer<float>(rowOffset);
        var outputValues = HostTensors.Pointer<float>(topValues);
        var outputIndices = HostTensors.Pointer<long>(topIndices);
        HostParallel.InParts(rows, threads, (start, end) =>
        {
            var keys = new ulong[columns];
            var sums = new float[columns];
            var offsets = new ReadOnlySpan<float>(offset, columns);
            for (var row = start; row < end; row++)
            {
                TensorPrimitives.Add(new ReadOnlySpan<float>(input + (long)row * columns, columns), offsets, sums);
                var candidates = keys.AsSpan(0, Candidates(sums, k, keys));
                MoveSmallestFirst(candidates, k);
                candidates[..k].Sort();
                var rowValues = new Span<float>(outputValues + (long)row * k, k);
                var rowIndices = new Span<long>(outputIndices + (long)row * k, k);
                for (var slot = 0; slot < k; slot++)
                {
                    var column = (int)(uint)candidates[slot];
                    (rowValues[slot], rowIndices[slot]) = (sums[column], column);
                }
            }
        });
    }

    /// <summary>
    /// Writes into <paramref name="keys"/> the sort keys of the columns of <paramref name="values"/> that can be among its
    /// <paramref name="k"/> largest, and returns how many there are (at least <paramref name="k"/>).
    /// </summary>
    private static int Candidates(ReadOnlySpan<float> values, int k, ulong[] keys)
    {
        var threshold = SmallestGroupMaximum(values, k);
        if (float.IsNaN(threshold))
            return AllColumns(values, keys);                        // a group's maximum was NaN: every column is a candidate

        // A threshold of −∞ (some group holds only −∞, as in the dead-latent selection, where live latents are masked) would
        // take every column: then the values above −∞ are the candidates, and the first −∞ columns make up any shortfall.
        var aboveOnly = float.IsNegativeInfinity(threshold);
        var count = 0;
        var lanes = Vector<float>.Count;
        var column = 0;
        var bound = new Vector<float>(threshold);
        for (; column + lanes <= values.Length; column += lanes)
        {
            var vector = new Vector<float>(values.Slice(column, lanes));
            var reaches = aboveOnly ? Vector.GreaterThanAny(vector, bound) : Vector.GreaterThanOrEqualAny(vector, bound);
            if (!reaches && Vector.EqualsAll(vector, vector))       // no candidate, no NaN
                continue;
            for (var lane = column; lane < column + lanes; lane++)
            {
                if (IsCandidate(values[lane], threshold, aboveOnly))
                    keys[count++] = Key(values[lane], lane);
            }
        }

        for (; column < values.Length; column++)
        {
            if (IsCandidate(values[column], threshold, aboveOnly))
                keys[count++] = Key(values[column], column);
        }

        for (column = 0; count < k && column < values.Length; column++)
        {
            if (float.IsNegativeInfinity(values[column]))
                keys[count++] = Key(values[column], column);
        }

        return count >= k ? count : AllColumns(values, keys);
    }

    private static bool IsCandidate(float value, float threshold, bool aboveOnly) =>
        (aboveOnly ? value > threshold : value >= threshold) || float.IsNaN(value);

    private static int AllColumns(ReadOnlySpan<float> values, ulong[] keys)
    {
        for (var column = 0; column < values.Length; column++)
            keys[column] = Key(values[column], column);
        return values.Length;
    }

    /// <summary>The smallest of the maxima of <paramref name="k"/> groups of consecutive columns (the last takes the remainder): at least k values reach it.</summary>
    private static float SmallestGroupMaximum(ReadOnlySpan<float> values, int k)
    {
        var groupSize = values.Length / k;
        var lanes = Vector<float>.Count;
        var smallest = float.PositiveInfinity;
        for (var group = 0; group < k; group++)
        {
            var start = group * groupSize;
            var members = values[start..(group == k - 1 ? values.Length : start + groupSize)];
            var maximum = float.NegativeInfinity;
            var column = 0;
            if (members.Length >= lanes)
            {
                var vector = new Vector<float>(members);
                for (column = lanes; column + lanes <= members.Length; column += lanes)
                    vector = Vector.Max(vector, new Vector<float>(members.Slice(column, lanes)));
                for (var lane = 0; lane < lanes; lane++)
                    maximum = Math.Max(maximum, vector[lane]);
            }

            for (; column < members.Length; column++)
                maximum = Math.Max(maximum, members[column]);
            smallest = Math.Min(smallest, maximum);          // NaN stays NaN
        }

        return smallest;
    }

    /// <summary>Moves the <paramref name="k"/> smallest of <paramref name="keys"/> (all distinct) to its front, in no particular order: a quickselect.</summary>
    private static void MoveSmallestFirst(Span<ulong> keys, int k)
    {
        var (left, right) = (0, keys.Length - 1);
        while (left < right)
        {
            var (a, b, c) = (keys[left], keys[left + (right - left) / 2], keys[right]);
            var pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));     // the median of three
            var (i, j) = (left, right);
            while (i <= j)
            {
                while (keys[i] < pivot)
                    i++;
                while (keys[j] > pivot)
                    j--;
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }

            if (k - 1 <= j)
                right = j;                  // the k-th smallest is among left … j
            else if (k - 1 >= i)
                left = i;
            else
                return;                     // between j and i lie only keys equal to the pivot: the front k are the smallest
        }
    }

    /// <summary>A key whose ascending order is descending value, then ascending column; NaN first.</summary>
    private static ulong Key(float value, int column)
    {
        var bits = BitConverter.SingleToInt32Bits(value == 0 ? 0f : value);      // −0 ties with +0
        var ordered = bits >= 0 ? bits : bits ^ int.MaxValue;                    // ascending with the value
        if (float.IsNaN(value))
            ordered = int.MaxValue;
        return ((ulong)((long)int.MaxValue - ordered) << 32) | (uint)column;
    }
}
