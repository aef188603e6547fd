using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Compute;

/// <summary>
/// The numbers SaeMl passes to TorchSharp, as <see cref="Scalar"/>s that stay referenced until libtorch
/// has read them.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 wraps every .NET number given to a tensor method, and the implicit alpha of
/// <c>a + b</c>, <c>add_(t)</c> and <c>square()</c>, in a <see cref="Scalar"/> that only a finalizer frees
/// and that nothing references once its handle has been passed to native code. A garbage collection
/// started by another thread during the call can then free it while libtorch still reads it; the call
/// fails with "Expected false to be true … toFloat" or reads garbage. So SaeMl never lets TorchSharp
/// convert a number: constants are the static scalars below (a static field is never collected), and
/// a value known only at run time is made with <c>ToScalar()</c> into a <c>using</c> local, alive until
/// the end of its block. <c>ScalarLifetimeTests</c> reads the compiled library to hold every call site
/// to this; docs/torchsharp-scalars.md tells the story.
/// </remarks>
internal static class HeldScalars
{
    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>1, the alpha of a plain sum.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>−1, the alpha of a difference written as an in-place multiply-add.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();

    /// <summary>2, the exponent of a square.</summary>
    public static readonly Scalar Two = 2.ToScalar();

    /// <summary>−∞, what a masked-out score becomes before a top-k.</summary>
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();

    /// <summary>10⁻¹², the floor of a norm or a variance that is divided by.</summary>
    public static readonly Scalar DivisorFloor = 1e-12.ToScalar();

    /// <summary><c>left + right</c>.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);

    /// <summary><c>target += addend</c>, in place.</summary>
    public static Tensor PlusInPlace(this Tensor target, Tensor addend) => target.add_(addend, One);

    /// <summary>Each element squared.</summary>
    public static Tensor Squared(this Tensor values) => values.pow(Two);
}
