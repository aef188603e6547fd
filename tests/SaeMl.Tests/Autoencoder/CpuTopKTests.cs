using SaeMl.Autoencoder;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

public sealed class CpuTopKTests
{
    [Theory]
    [InlineData(1, 1000, 7)]
    [InlineData(2, 1000, 64)]
    [InlineData(3, 37, 37)]       // K = n, and n not a whole number of vectors
    [InlineData(2, 130, 1)]
    public void The_selection_equals_libtorch_topk(int threads, int columns, int k)
    {
        using var generator = new Generator(31);
        var values = randn([45, columns], generator: generator);
        var offset = randn([columns], generator: generator);

        var (topValues, topIndices) = CpuTopK.Run(values, offset, k, threads);
        var expected = values.Plus(offset).topk(k, 1);

        topValues.data<float>().ToArray().Should().Equal(expected.values.data<float>().ToArray());
        topIndices.data<long>().ToArray().Should().Equal(expected.indexes.data<long>().ToArray());
    }

    [Fact]
    public void Equal_values_keep_the_lower_column_and_minus_infinity_counts_as_a_value()
    {
        var values = tensor(new float[,]
        {
            { 1, 3, 3, 0, 3, 2, 3, 3, 1, 3, 0, 0, 3 },
            { float.NegativeInfinity, 5, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 4, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity },
        });

        var (topValues, topIndices) = CpuTopK.Run(values, zeros(13), 4, threads: 2);

        topValues.data<float>().ToArray().Should().Equal(3, 3, 3, 3, 5, 4, float.NegativeInfinity, float.NegativeInfinity);
        topIndices.data<long>().ToArray().Should().Equal(1, 2, 4, 6, 1, 6, 0, 2);
    }

    [Fact]
    public void NaN_comes_first_as_in_libtorch()
    {
        var values = tensor(new float[,] { { 1, float.NaN, 3, 2, 0, -1, 5, 4, 0.5f }, { 1, 2, 3, 4, 5, 6, 7, 8, float.NaN } });

        var (topValues, topIndices) = CpuTopK.Run(values, zeros(9), 3, threads: 1);
        var expected = values.topk(3, 1);

        topIndices.data<long>().ToArray().Should().Equal(expected.indexes.data<long>().ToArray()).And.Equal(1, 6, 7, 8, 7, 6);
        float.IsNaN(topValues[0, 0].item<float>()).Should().BeTrue();
    }

    [Fact]
    public void A_nan_among_many_columns_and_rows_of_minus_infinity_are_selected_as_libtorch_selects_them()
    {
        var random = new Random(4);
        var data = new float[3, 256];
        for (var column = 0; column < 256; column++)
            (data[0, column], data[1, column], data[2, column]) = ((float)random.NextDouble() - 0.5f, float.NegativeInfinity, float.NegativeInfinity);
        data[0, 3] = float.NaN;                                        // inside a vector of an 85-column group
        data[1, 200] = 2f;                                             // live values among −∞, as the dead-latent selection sees them
        data[1, 17] = -5f;
        var values = tensor(data);

        var (topValues, topIndices) = CpuTopK.Run(values, zeros(256), 3, threads: 2);
        var expected = values.topk(3, 1);

        topIndices[0].data<long>().ToArray().Should().Equal(expected.indexes[0].data<long>().ToArray());
        topIndices[1].data<long>().ToArray().Should().Equal(200, 17, 0);
        topValues[1].data<float>().ToArray().Should().Equal(2f, -5f, float.NegativeInfinity);
        topIndices[2].data<long>().ToArray().Should().Equal(0, 1, 2);
        expected.values[1].data<float>().ToArray().Should().Equal(topValues[1].data<float>().ToArray());
    }

    [Fact]
    public void Minus_zero_ties_with_zero()
    {
        var (_, topIndices) = CpuTopK.Run(tensor(new[,] { { -0f, 0f, -1f } }), zeros(3), 1, threads: 1);

        topIndices.data<long>().ToArray().Should().Equal(0);
    }

    [Fact]
    public void Only_cpu_float_matrices_with_at_least_k_columns_and_an_offset_per_column_are_taken()
    {
        CpuTopK.Handles(zeros([3, 8]), zeros(8), 8).Should().BeTrue();
        CpuTopK.Handles(zeros([3, 8]), zeros(8), 9).Should().BeFalse();
        CpuTopK.Handles(zeros([3, 8]), zeros(7), 2).Should().BeFalse();
        CpuTopK.Handles(zeros([3, 8], ScalarType.Float64), zeros(8), 2).Should().BeFalse();
        CpuTopK.Handles(zeros([8]), zeros(8), 2).Should().BeFalse();
    }
}
