using System.Numerics.Tensors;

namespace SaeMl.Data;

/// <summary>Finds NaN and infinities in rows of floats, at the speed of one vectorised sum when there are none.</summary>
internal static class FiniteValues
{
    /// <summary>The first row (of <paramref name="dimension"/> values) holding NaN or ±∞, or -1 when all are finite.</summary>
    public static int FirstNonFiniteRow(ReadOnlySpan<float> values, int dimension)
    {
        // A sum is finite unless some value is NaN or infinite (infinities never cancel to a finite
        // value) or the finite values overflow; only then is the exact scan needed.
        if (float.IsFinite(TensorPrimitives.Sum(values)))
            return -1;
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                return i / dimension;
        }

        return -1;
    }
}
