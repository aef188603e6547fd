using SaeMl.Autoencoder;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

public sealed class SparseRowsTests
{
    private const int Rows = 7, Latents = 11, Active = 3, Dimension = 5;

    private static (Tensor Weights, Tensor Matrix, Tensor Indices, Tensor Vectors) Case()
    {
        using var generator = new Generator(17);
        var weights = randn([Rows, Active], generator: generator, dtype: ScalarType.Float64);
        var matrix = randn([Latents, Dimension], generator: generator, dtype: ScalarType.Float64);
        var vectors = randn([Rows, Dimension], generator: generator, dtype: ScalarType.Float64);
        var indices = rand([Rows, Latents], generator: generator).argsort(1).narrow(1, 0, Active); // distinct per row
        return (weights, matrix, indices, vectors);
    }

    /// <summary>The dense [rows, latents] matrix holding the weights at their indices and zeros elsewhere.</summary>
    private static Tensor Dense(Tensor weights, Tensor indices) =>
        zeros([Rows, Latents], dtype: weights.dtype).scatter(1, indices, weights);

    private static double[] Values(Tensor tensor) => tensor.to(ScalarType.Float64).data<double>().ToArray();

    [Fact]
    public void The_kernels_equal_their_dense_products()
    {
        var (weights, matrix, indices, vectors) = Case();

        Values(SparseRows.Combine(weights, matrix, indices)).Should().Equal(Values(Dense(weights, indices).mm(matrix)), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(SparseRows.Scatter(weights, vectors, indices, Latents)).Should().Equal(Values(Dense(weights, indices).t().mm(vectors)), (a, b) => Math.Abs(a - b) < 1e-12);
        var (dots, sums) = SparseRows.DotsAndScatter(weights, vectors, matrix, indices);
        Values(dots).Should().Equal(Values(vectors.mm(matrix.t()).gather(1, indices)), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(sums).Should().Equal(Values(Dense(weights, indices).t().mm(vectors)), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void The_libtorch_paths_used_off_the_cpu_equal_their_dense_products()
    {
        var (weights, matrix, indices, vectors) = Case();

        Values(SparseRows.GatheredCombine(weights, matrix, indices)).Should().Equal(Values(Dense(weights, indices).mm(matrix)), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(SparseRows.GatheredDots(vectors, matrix, indices)).Should().Equal(Values(vectors.mm(matrix.t()).gather(1, indices)), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(SparseRows.SparseProductScatter(weights, vectors, indices, Latents)).Should().Equal(Values(Dense(weights, indices).t().mm(vectors)), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-4, 133)]                         // whole tiles (64 floats, 32 doubles) and a remainder
    [InlineData(ScalarType.Float64, 1e-12, 133)]
    [InlineData(ScalarType.Float32, 1e-4, 128)]                         // whole tiles only
    [InlineData(ScalarType.Float64, 1e-12, 64)]
    [InlineData(ScalarType.Float32, 1e-4, 5)]                           // less than one tile
    public void The_cpu_kernels_equal_the_dense_products_and_do_not_depend_on_the_thread_count(ScalarType type, double tolerance, int dimension)
    {
        const int rows = 300, latents = 50, chosenFrom = 40, active = 12;
        using var generator = new Generator(23);
        var weights = randn([rows, active], generator: generator, dtype: type);
        var vectors = randn([rows, dimension], generator: generator, dtype: type);
        var matrix = randn([latents, dimension], generator: generator, dtype: type);
        var indices = rand([rows, chosenFrom], generator: generator).argsort(1).narrow(1, 0, active); // latents 40..49 chosen by no row
        var (weights64, vectors64, matrix64) = (weights.to(ScalarType.Float64), vectors.to(ScalarType.Float64), matrix.to(ScalarType.Float64));
        var selection = zeros([rows, latents], dtype: ScalarType.Float64).scatter(1, indices, weights64);
        var expected = new[] { selection.mm(matrix64), vectors64.mm(matrix64.t()).gather(1, indices), selection.t().mm(vectors64), selection.t().mm(vectors64) };
        Tensor[] Kernels(int threads)
        {
            var (dots, sums) = CpuSparseRows.DotsAndScatter(weights, vectors, matrix, indices, threads);
            return [CpuSparseRows.Combine(weights, matrix, indices, threads), dots, sums, CpuSparseRows.Scatter(weights, vectors, indices, latents, threads)];
        }

        var onOneThread = Kernels(1);
        foreach (var threads in new[] { 1, 2, 3, 64 })
        {
            var results = Kernels(threads);
            for (var kernel = 0; kernel < results.Length; kernel++)
            {
                results[kernel].dtype.Should().Be(type);
                Values(results[kernel]).Should().Equal(Values(expected[kernel]), (a, b) => Math.Abs(a - b) < tolerance, $"kernel {kernel} on {threads} threads");
                Values(results[kernel]).Should().Equal(Values(onOneThread[kernel]), $"kernel {kernel} gives the same bits on {threads} threads as on one");
            }

            Values(results[2]).Skip(chosenFrom * dimension).Should().OnlyContain(value => value == 0);
            Values(results[2]).Should().Equal(Values(results[3]), "the fused scatter sums in the same order as the scatter alone");
        }
    }

    [Fact]
    public void The_cpu_kernels_refuse_operands_of_the_wrong_shape_before_reading_them()
    {
        var (weights, matrix, indices, vectors) = Case();

        new Action[]
        {
            () => CpuSparseRows.Combine(weights.narrow(1, 0, 2), matrix, indices, threads: 2),
            () => CpuSparseRows.DotsAndScatter(weights, vectors.narrow(0, 0, 2), matrix, indices, threads: 2),
            () => CpuSparseRows.DotsAndScatter(weights, vectors.narrow(1, 0, 2), matrix, indices, threads: 2),
            () => CpuSparseRows.DotsAndScatter(weights.narrow(1, 0, 2), vectors, matrix, indices, threads: 2),
            () => CpuSparseRows.Scatter(weights, vectors.narrow(0, 0, 2), indices, Latents, threads: 2),
            () => CpuSparseRows.Scatter(weights.narrow(0, 0, 2), vectors, indices, Latents, threads: 2),
        }.Should().AllSatisfy(act => act.Should().Throw<ArgumentException>().WithMessage("Shapes do not fit*"));
    }

    [Fact]
    public void The_cpu_kernels_leave_tensors_past_two_gigabytes_to_libtorch()
    {
        var (weights, matrix, indices, vectors) = Case();

        CpuSparseRows.Handles(weights, vectors, indices, resultElements: Latents * Dimension).Should().BeTrue();
        CpuSparseRows.Handles(weights, vectors, indices, resultElements: 300_000_000).Should().BeFalse("300M doubles are 2.4 GB");
        CpuSparseRows.Handles(weights.to(ScalarType.Float32), matrix, indices, resultElements: 1).Should().BeFalse("mixed float types");
    }

    [Fact]
    public void The_cpu_kernels_refuse_an_index_outside_the_matrix_before_reading_it()
    {
        var (weights, matrix, indices, vectors) = Case();
        var shortMatrix = matrix.narrow(0, 0, 4);

        new Action[]
        {
            () => CpuSparseRows.Combine(weights, shortMatrix, indices, threads: 2),
            () => CpuSparseRows.DotsAndScatter(weights, vectors, shortMatrix, indices, threads: 2),
            () => CpuSparseRows.Scatter(weights, vectors, indices, matrixRows: 4, threads: 2),
        }.Should().AllSatisfy(act => act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*outside 0..3*"));
    }

    [Fact]
    public void Decode_gradients_equal_autograd_through_the_dense_product()
    {
        var (weights, matrix, indices, _) = Case();
        using var generator = new Generator(3);
        var upstream = randn([Rows, Dimension], generator: generator, dtype: ScalarType.Float64);

        var sparseWeights = weights.clone().requires_grad_(true);
        var sparseMatrix = matrix.clone().requires_grad_(true);
        (SparseRows.DecodeFunction.apply(sparseWeights, sparseMatrix, indices) * upstream).sum().backward();
        var denseWeights = weights.clone().requires_grad_(true);
        var denseMatrix = matrix.clone().requires_grad_(true);
        (Dense(denseWeights, indices).mm(denseMatrix) * upstream).sum().backward();

        Values(sparseWeights.grad!).Should().Equal(Values(denseWeights.grad!), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(sparseMatrix.grad!).Should().Equal(Values(denseMatrix.grad!), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Selected_pre_activation_gradients_equal_autograd_through_the_dense_product()
    {
        var (_, matrix, indices, vectors) = Case();
        using var generator = new Generator(5);
        var bias = randn([Latents], generator: generator, dtype: ScalarType.Float64);
        var offset = randn([Dimension], generator: generator, dtype: ScalarType.Float64);
        var upstream = randn([Rows, Active], generator: generator, dtype: ScalarType.Float64);
        var values = (vectors - offset).mm(matrix.t()).Plus(bias).gather(1, indices);

        var sparseOffset = offset.clone().requires_grad_(true);
        var sparseMatrix = matrix.clone().requires_grad_(true);
        var sparseBias = bias.clone().requires_grad_(true);
        var selected = SparseRows.SelectedFunction.apply(vectors, sparseOffset, sparseMatrix, sparseBias, indices, values);
        (selected * upstream).sum().backward();
        var denseOffset = offset.clone().requires_grad_(true);
        var denseMatrix = matrix.clone().requires_grad_(true);
        var denseBias = bias.clone().requires_grad_(true);
        ((vectors - denseOffset).mm(denseMatrix.t()).Plus(denseBias).gather(1, indices) * upstream).sum().backward();

        Values(selected).Should().Equal(Values(values));
        Values(sparseOffset.grad!).Should().Equal(Values(denseOffset.grad!), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(sparseMatrix.grad!).Should().Equal(Values(denseMatrix.grad!), (a, b) => Math.Abs(a - b) < 1e-12);
        Values(sparseBias.grad!).Should().Equal(Values(denseBias.grad!), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Selected_pre_activations_refuse_inputs_that_require_a_gradient()
    {
        var (_, matrix, indices, vectors) = Case();
        var values = vectors.mm(matrix.t()).gather(1, indices);
        var bias = zeros([Latents], dtype: ScalarType.Float64);
        var offset = zeros([Dimension], dtype: ScalarType.Float64);

        var act = () => SparseRows.SelectedFunction.apply(vectors.clone().requires_grad_(true), offset, matrix, bias, indices, values);

        act.Should().Throw<ArgumentException>().WithMessage("*inputs*are data*");
    }
}
