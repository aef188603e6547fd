using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>
/// Adam with a cosine learning-rate schedule from the initial rate to 0 over the whole run, written
/// out (rather than TorchSharp's optimiser and scheduler) so that its whole state — the moment
/// estimates and the step count — is plain tensors that a checkpoint saves and restores exactly.
/// </summary>
internal sealed class SaeOptimizer : IDisposable
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;

    // Held for the life of the process: see HeldScalars.
    private static readonly Scalar Beta1Scalar = Beta1.ToScalar();
    private static readonly Scalar Beta2Scalar = Beta2.ToScalar();
    private static readonly Scalar FirstMomentShare = (1 - Beta1).ToScalar();
    private static readonly Scalar SecondMomentShare = (1 - Beta2).ToScalar();
    private const double Epsilon = 1e-8;

    private readonly IReadOnlyList<Tensor> _parameters;
    private readonly double _initialRate;
    private readonly long _totalSteps;

    public SaeOptimizer(IReadOnlyList<Tensor> parameters, double initialRate, long totalSteps)
    {
        _parameters = parameters;
        _initialRate = initialRate;
        _totalSteps = totalSteps;
        FirstMoments = parameters.Select(p => zeros_like(p)).ToArray();
        SecondMoments = parameters.Select(p => zeros_like(p)).ToArray();
    }

    /// <summary>Adam's m per parameter.</summary>
    public Tensor[] FirstMoments { get; }

    /// <summary>Adam's v per parameter.</summary>
    public Tensor[] SecondMoments { get; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; set; }

    /// <summary>The rate of the next step: <c>r₀ · (1 + cos(π · step / total)) / 2</c>.</summary>
    public double LearningRate => _initialRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(Step, _totalSteps) / _totalSteps));

    /// <summary>One Adam update of every parameter from its gradient, then the step count advances.</summary>
    public void Update()
    {
        var rate = LearningRate;
        Step++;
        // m̂ / (√v̂ + ε) with v̂ = v / c², c = √(1 − β₂ᵗ), is c·m̂ / (√v + c·ε): the correction folds into the step
        // size and ε, and the denominator takes one pass less over the weights.
        var secondCorrection = Math.Sqrt(1 - Math.Pow(Beta2, Step));
        using var correctedEpsilon = (Epsilon * secondCorrection).ToScalar();
        using var stepSize = (-rate * secondCorrection / (1 - Math.Pow(Beta1, Step))).ToScalar();
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var gradient = _parameters[i].grad!;
            FirstMoments[i].mul_(Beta1Scalar).add_(gradient, FirstMomentShare);
            SecondMoments[i].mul_(Beta2Scalar).addcmul_(gradient, gradient, SecondMomentShare);
            var denominator = SecondMoments[i].sqrt().add_(correctedEpsilon, HeldScalars.One);
            _parameters[i].addcdiv_(FirstMoments[i], denominator, stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var moment in FirstMoments.Concat(SecondMoments))
            moment.Dispose();
    }
}
