using SaeMl.Autoencoder;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

public sealed class SaeOptimizerTests
{
    /// <summary>Three Adam steps of <paramref name="type"/> parameters (float takes the fused CPU pass, double libtorch's operations).</summary>
    private static (double[] Weights, double[] FirstMoment, double[] SecondMoment) ThreeSteps(ScalarType type, long elements)
    {
        using var generator = new Generator(9);
        var parameter = randn([elements], generator: generator).to(type).requires_grad_(true);
        using var optimizer = new SaeOptimizer([parameter], initialRate: 0.01, totalSteps: 10);
        for (var step = 0; step < 3; step++)
        {
            parameter.grad = randn([elements], generator: generator).to(type);
            optimizer.Update();
        }

        static double[] Values(Tensor tensor) => tensor.detach().to(ScalarType.Float64).data<double>().ToArray();
        return (Values(parameter), Values(optimizer.FirstMoments[0]), Values(optimizer.SecondMoments[0]));
    }

    [Theory]
    [InlineData(1_003)]          // one thread, and a remainder shorter than a vector
    [InlineData(300_001)]        // split between threads where there are several
    public void The_fused_float_update_equals_the_general_update_in_double(long elements)
    {
        SaeOptimizer.OnCpu(zeros(3), zeros(3)).Should().BeTrue("float parameters take the fused pass");
        SaeOptimizer.OnCpu(zeros(3, ScalarType.Float64)).Should().BeFalse("double parameters take libtorch's operations");
        var fused = ThreeSteps(ScalarType.Float32, elements);
        var general = ThreeSteps(ScalarType.Float64, elements);

        fused.FirstMoment.Should().Equal(general.FirstMoment, (a, b) => Math.Abs(a - b) < 1e-6);
        fused.SecondMoment.Should().Equal(general.SecondMoment, (a, b) => Math.Abs(a - b) < 1e-6 * Math.Max(1, Math.Abs(b)));
        fused.Weights.Should().Equal(general.Weights, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public void A_step_moves_each_weight_by_about_the_rate_against_its_gradient()
    {
        var parameter = zeros(4).requires_grad_(true);
        using var optimizer = new SaeOptimizer([parameter], initialRate: 0.01, totalSteps: 1_000_000);
        parameter.grad = tensor(new[] { 2f, -0.5f, 0f, 1e-3f });

        optimizer.Update();

        // Adam's first step is rate · g / (|g| + ε) after both bias corrections: ±0.01, and 0 for a zero gradient.
        parameter.detach().data<float>().ToArray().Should().Equal([-0.01f, 0.01f, 0f, -0.01f], (a, b) => Math.Abs(a - b) < 1e-6);
    }
}
