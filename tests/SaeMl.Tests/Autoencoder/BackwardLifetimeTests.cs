using SaeMl.Autoencoder;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

/// <summary>
/// libtorch runs the backward of a graph on a CUDA device on a thread of its own, where the trainer's dispose scope is not
/// open. These tests run the autograd functions' backward on another thread on the CPU, as CUDA would, and count the tensors
/// TorchSharp holds: what the backward made there must be released when the scope the forward ran in ends, not when the
/// garbage collector gets to it (on a GPU the step's leftovers filled 139 GiB in nine epochs).
/// </summary>
[Collection(AloneCollection.Name)] // reads TorchSharp's process-wide count of live tensors
public sealed class BackwardLifetimeTests
{
    private const int Rows = 64, Latents = 32, Active = 4, Dimension = 8;

    [Fact]
    public void A_decode_whose_backward_runs_on_another_thread_leaves_no_tensor_behind_its_scope()
    {
        var (values, matrix, indices, _, upstream) = Case();
        var leftBehind = LiveTensorsLeftBehind(() => SparseRows.DecodeFunction.apply(values, matrix, indices), upstream);

        leftBehind.Should().Be(0);
        using var expected = NewDisposeScope();
        var dense = zeros([Rows, Latents], dtype: ScalarType.Float64).scatter(1, indices, values.detach());
        Values(matrix.grad!).Should().Equal(Values(dense.t().mm(upstream)), (a, b) => Math.Abs(a - b) < 1e-12, "the matrix's gradient, computed on the other thread");
    }

    [Fact]
    public void Selected_pre_activations_whose_backward_runs_on_another_thread_leave_no_tensor_behind_their_scope()
    {
        var (_, matrix, indices, vectors, _) = Case();
        using var generator = new Generator(9);
        var upstream = randn([Rows, Active], generator: generator, dtype: ScalarType.Float64);
        var offset = zeros([Dimension], dtype: ScalarType.Float64).requires_grad_(true);
        var bias = zeros([Latents], dtype: ScalarType.Float64).requires_grad_(true);
        var preActivations = vectors.mm(matrix.detach().t()).gather(1, indices);

        var leftBehind = LiveTensorsLeftBehind(() => SparseRows.SelectedFunction.apply(vectors, offset, matrix, bias, indices, preActivations), upstream);

        leftBehind.Should().Be(0);
        using var expected = NewDisposeScope();
        var dense = zeros([Rows, Latents], dtype: ScalarType.Float64).scatter(1, indices, upstream);
        Values(matrix.grad!).Should().Equal(Values(dense.t().mm(vectors)), (a, b) => Math.Abs(a - b) < 1e-12, "the encoder's gradient, computed on the other thread");
    }

    [Fact]
    public void The_count_sees_a_tensor_left_alive_on_another_thread()
    {
        // The control: the same count, with one tensor made on another thread and never disposed.
        Collect();
        var before = Tensor.TotalCount;
        Tensor? leaked = null;
        OnAnotherThread(() => leaked = ones(3));

        (Tensor.TotalCount - before).Should().Be(1);
        leaked!.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="forward"/> inside a dispose scope on this thread and the backward of its output against
    /// <paramref name="upstream"/> on another, ends the scope, and returns how many tensors more TorchSharp then holds than before.
    /// </summary>
    private static long LiveTensorsLeftBehind(Func<Tensor> forward, Tensor upstream)
    {
        Collect();
        var before = Tensor.TotalCount;
        using (NewDisposeScope())
        {
            var loss = (forward() * upstream).sum();
            OnAnotherThread(() => loss.backward());
        }

        return Tensor.TotalCount - before;
    }

    private static (Tensor Values, Tensor Matrix, Tensor Indices, Tensor Vectors, Tensor Upstream) Case()
    {
        using var generator = new Generator(17);
        var values = randn([Rows, Active], generator: generator, dtype: ScalarType.Float64).requires_grad_(true);
        var matrix = randn([Latents, Dimension], generator: generator, dtype: ScalarType.Float64).requires_grad_(true);
        var vectors = randn([Rows, Dimension], generator: generator, dtype: ScalarType.Float64);
        var indices = rand([Rows, Latents], generator: generator).argsort(1).narrow(1, 0, Active);
        var upstream = randn([Rows, Dimension], generator: generator, dtype: ScalarType.Float64);
        return (values, matrix, indices, vectors, upstream);
    }

    private static void OnAnotherThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException("The other thread failed.", failure);
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static double[] Values(Tensor tensor) => tensor.detach().to(ScalarType.Float64).data<double>().ToArray();
}
