using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Compute;

/// <summary>
/// Lifetimes for the tensors a custom autograd function's backward makes. libtorch runs the backward of a graph on a CUDA
/// device on a thread of its own, where none of the caller's dispose scopes is open: every tensor made there (the handles of
/// the incoming gradient and of the saved tensors, the temporaries, the gradients returned) would hold device memory until the
/// garbage collector finalised it, which it does rarely, since the memory is not its own (a training run on a GPU held
/// 135 GiB after ten epochs). A function's forward calls <see cref="Remember"/> on its output and its backward runs inside
/// <see cref="Run"/>.
/// </summary>
/// <remarks>
/// The returned gradients are moved into the dispose scope of the forward's output from the backward's thread. That is safe
/// while the thread that owns the scope waits in <c>backward()</c> and the graph's custom functions run on one device thread,
/// as a training step on one device does; a graph spread over several devices could run two backwards at once.
/// </remarks>
internal static class BackwardScope
{
    /// <summary>The key under which a forward keeps a weak reference to its output for <see cref="Run"/>.</summary>
    private const string ForwardOutputKey = "SaeMl forward output";

    /// <summary>
    /// Keeps a weak reference to the forward's <paramref name="output"/>, whose dispose scope the backward's gradients are to
    /// join, and returns the output. Weak: the output shares its tensor with the graph, which holds the context, so a strong
    /// reference would keep a graph made outside any dispose scope alive for ever.
    /// </summary>
    public static Tensor Remember(autograd.AutogradContext ctx, Tensor output)
    {
        ctx.save_data(ForwardOutputKey, new WeakReference<Tensor>(output));
        return output;
    }

    /// <summary>
    /// Runs a backward <paramref name="body"/> over the saved tensors inside a dispose scope of its own: the saved tensors'
    /// handles, the temporaries and the incoming <paramref name="gradient"/>'s handle are disposed when it ends; the gradients
    /// it returns, which libtorch copies after the backward returns, join the dispose scope of the output given to
    /// <see cref="Remember"/> (none, and so the garbage collector, when that output is in no scope or gone).
    /// </summary>
    public static List<Tensor> Run(autograd.AutogradContext ctx, Tensor gradient, Func<List<Tensor>, List<Tensor>> body)
    {
        try
        {
            using var scope = NewDisposeScope();
            var gradients = body(ctx.get_saved_variables());
            var returned = gradients.Where(g => g is not null).ToArray();
            if (ctx.get_data(ForwardOutputKey) is WeakReference<Tensor> reference && reference.TryGetTarget(out var output) && !output.IsInvalid)
            {
                foreach (var tensor in returned)
                    tensor.MoveToOtherDisposeScope(output);
            }
            else
            {
                scope.Detach(returned);
            }

            return gradients;
        }
        finally
        {
            gradient.Dispose();
        }
    }
}
