using SaeMl.Data;

namespace SaeMl.Tests.Data;

public sealed class FiniteValuesTests
{
    [Fact]
    public void Finds_the_first_row_with_nan_or_infinity()
    {
        float[] values = [1, 2, 3, 4, float.NegativeInfinity, 6, float.NaN, 8];

        FiniteValues.FirstNonFiniteRow(values, dimension: 2).Should().Be(2);
    }

    [Fact]
    public void Opposite_infinities_do_not_cancel_out()
    {
        float[] values = [1, float.PositiveInfinity, float.NegativeInfinity, 1];

        FiniteValues.FirstNonFiniteRow(values, dimension: 2).Should().Be(0);
    }

    [Fact]
    public void Finite_values_whose_sum_overflows_are_finite()
    {
        float[] values = [3e38f, 3e38f, 3e38f, -1f];

        FiniteValues.FirstNonFiniteRow(values, dimension: 2).Should().Be(-1);
    }
}
