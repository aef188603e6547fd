using System.Numerics.Tensors;

namespace SaeMl.Evaluation;

/// <summary>
/// Accumulates how far reconstructions are from their inputs over a stream of batches: the mean squared
/// error per element (the paper's Table 1 MSE) and the fraction of variance unexplained,
/// FVU = Σ‖x − x̂‖² / Σ‖x − x̄‖², with x̄ the mean input. Sums are kept in double precision.
/// </summary>
internal sealed class ReconstructionError(int dimension)
{
    private readonly double[] _sum = new double[dimension];
    private double _squaredError;
    private double _squaredNorm;
    private long _rows;

    /// <summary>Adds a batch: row-major inputs and their reconstructions, both <c>[rows, dimension]</c>.</summary>
    public void Add(ReadOnlySpan<float> inputs, ReadOnlySpan<float> reconstructions)
    {
        if (inputs.Length != reconstructions.Length || inputs.Length % dimension != 0)
            throw new ArgumentException($"Expected inputs and reconstructions of equal length, a multiple of {dimension}; got {inputs.Length} and {reconstructions.Length}.");
        var difference = new float[dimension];
        for (var row = 0; row < inputs.Length / dimension; row++)
        {
            var input = inputs.Slice(row * dimension, dimension);
            TensorPrimitives.Subtract(input, reconstructions.Slice(row * dimension, dimension), difference);
            _squaredError += TensorPrimitives.Dot(difference, difference);
            _squaredNorm += TensorPrimitives.Dot(input, input);
            for (var i = 0; i < dimension; i++)
                _sum[i] += input[i];
            _rows++;
        }
    }

    /// <summary>Mean squared error per element, Σ‖x − x̂‖² / (rows · d).</summary>
    public double MeanSquaredError => _rows == 0 ? double.NaN : _squaredError / (_rows * (double)dimension);

    /// <summary>Fraction of variance unexplained; Σ‖x − x̄‖² = Σ‖x‖² − rows · ‖x̄‖².</summary>
    public double FractionOfVarianceUnexplained
    {
        get
        {
            var meanNorm = _sum.Sum(s => s * s) / ((double)_rows * _rows);
            return _squaredError / (_squaredNorm - _rows * meanNorm);
        }
    }
}
