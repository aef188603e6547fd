using System.Runtime.CompilerServices;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Autoencoder;

/// <summary>
/// libtorch runs the backward of a graph on a CUDA device on a thread of its own, where the trainer's dispose scope is not
/// open. These tests run the autograd functions' backward on another thread on the CPU, as CUDA would, and count the tensors
/// TorchSharp holds: what the backward made there must be released when the scope the forward ran in ends, not when the
/// garbage collector gets to it (on a GPU the steps' leftovers held 135 GiB after ten epochs; see <see cref="BackwardScope"/>).
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
        using var check = NewDisposeScope();
        var dense = zeros([Rows, Latents], dtype: ScalarType.Float64).scatter(1, indices, values.detach());
        Values(matrix.grad!).Should().Equal(Values(dense.t().mm(upstream)), (a, b) => Math.Abs(a - b) < 1e-12, "the matrix's gradient, computed on the other thread");
        Values(values.grad!).Should().Equal(Values(upstream.mm(matrix.detach().t()).gather(1, indices)), (a, b) => Math.Abs(a - b) < 1e-12, "the values' gradient");
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
        using var check = NewDisposeScope();
        var dense = zeros([Rows, Latents], dtype: ScalarType.Float64).scatter(1, indices, upstream);
        Values(matrix.grad!).Should().Equal(Values(dense.t().mm(vectors)), (a, b) => Math.Abs(a - b) < 1e-12, "the encoder's gradient, computed on the other thread");
        Values(bias.grad!).Should().Equal(Values(dense.sum([0])), (a, b) => Math.Abs(a - b) < 1e-12, "the bias's gradient");
    }

    [Fact]
    public void The_count_sees_what_a_backward_without_a_scope_of_its_own_leaves_on_another_thread()
    {
        // The control: a function whose backward makes its gradient with no care for scopes, as the two above did before.
        var (_, matrix, _, _, _) = Case();
        using var generator = new Generator(11);
        var upstream = randn([Latents, Dimension], generator: generator, dtype: ScalarType.Float64);

        var leftBehind = LiveTensorsLeftBehind(() => Doubled.apply(matrix), upstream);

        leftBehind.Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_graph_made_outside_any_scope_is_still_freed_by_the_garbage_collector()
    {
        // The backward keeps only a weak reference to the forward's output: a strong one would close a loop through the graph.
        var (values, matrix, indices, _, upstream) = Case();
        var before = SettledCount();

        DecodeAndDifferentiateWithoutAScope(values, matrix, indices, upstream);

        SettledCount().Should().Be(before);
        matrix.grad.Should().NotBeNull();
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // its locals must be unreachable once it returns
    private static void DecodeAndDifferentiateWithoutAScope(Tensor values, Tensor matrix, Tensor indices, Tensor upstream)
    {
        var loss = (SparseRows.DecodeFunction.apply(values, matrix, indices) * upstream).sum();
        OnAnotherThread(() => loss.backward());
    }

    /// <summary>
    /// Runs <paramref name="forward"/> inside a dispose scope on this thread and the backward of its output against
    /// <paramref name="upstream"/> on another, ends the scope, and returns how many tensors more TorchSharp then holds than before.
    /// No garbage collection runs meanwhile, so that no finaliser hides a tensor left behind.
    /// </summary>
    private static long LiveTensorsLeftBehind(Func<Tensor> forward, Tensor upstream)
    {
        var before = SettledCount();
        GC.TryStartNoGCRegion(NoCollectionBytes).Should().BeTrue("the count is read with no collection running");
        long after;
        try
        {
            using (NewDisposeScope())
            {
                var loss = (forward() * upstream).sum();
                OnAnotherThread(() => loss.backward());
            }

            after = Tensor.TotalCount;
        }
        finally
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
                GC.EndNoGCRegion();
        }

        return after - before;
    }

    /// <summary>What the measured step may allocate on the managed heap with no collection.</summary>
    private const long NoCollectionBytes = 64L << 20;

    /// <summary>TorchSharp's count of live tensors once the garbage collector has finalised everything unreachable (it changes no more between two full collections).</summary>
    private static long SettledCount()
    {
        var count = -1L;
        for (var round = 0; round < 20 && count != Tensor.TotalCount; round++)
        {
            count = Tensor.TotalCount;
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return Tensor.TotalCount;
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

    private static double[] Values(Tensor tensor) => tensor.detach().to(ScalarType.Float64).data<double>().ToArray();

    /// <summary>2x, with a backward that leaves its gradient to whatever scope is open, for the control.</summary>
    private sealed class Doubled : autograd.SingleTensorFunction<Doubled>
    {
        public override string Name => "SaeMlTestDoubled";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).mul(HeldScalars.Two);

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradient) => [gradient.mul(HeldScalars.Two)];
    }
}
