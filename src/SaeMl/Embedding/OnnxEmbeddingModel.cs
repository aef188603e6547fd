using Microsoft.ML.OnnxRuntime;
using SaeMl.Compute;

namespace SaeMl.Embedding;

/// <summary>
/// An ONNX embedding model run by ONNX Runtime: which inputs it takes (<c>input_ids</c>,
/// <c>attention_mask</c>, optionally <c>token_type_ids</c>; int64 or int32), which output it gives
/// (token-level <c>last_hidden_state</c> or a pooled <c>sentence_embedding</c>), on which device.
/// </summary>
internal sealed class OnnxEmbeddingModel : IDisposable
{
    private const string InputIds = "input_ids";
    private const string AttentionMask = "attention_mask";
    private const string TokenTypeIds = "token_type_ids";
    private static readonly string[] PreferredOutputs = ["sentence_embedding", "last_hidden_state"];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly bool[] _inputIsInt64;
    private readonly string[] _outputNames;

    private readonly string _source;

    private OnnxEmbeddingModel(InferenceSession session, string source, string? outputName, ComputeDevice device)
    {
        _session = session;
        _source = source;
        Device = device;
        var inputs = session.InputMetadata;
        foreach (var name in inputs.Keys)
        {
            if (name is not (InputIds or AttentionMask or TokenTypeIds))
                throw new FormatException($"ONNX model '{source}' has input '{name}', which EmbedText cannot fill; it fills {InputIds}, {AttentionMask} and {TokenTypeIds}.");
            if (inputs[name].ElementType != typeof(long) && inputs[name].ElementType != typeof(int))
                throw new FormatException($"ONNX model '{source}' input '{name}' holds {inputs[name].ElementType.Name}; expected int64 or int32 token ids.");
        }

        foreach (var required in new[] { InputIds, AttentionMask })
        {
            if (!inputs.ContainsKey(required))
                throw new FormatException($"ONNX model '{source}' has no '{required}' input; its inputs are {string.Join(", ", inputs.Keys)}.");
        }

        _inputNames = inputs.Keys.ToArray();
        _inputIsInt64 = _inputNames.Select(n => inputs[n].ElementType == typeof(long)).ToArray();

        var outputs = session.OutputMetadata;
        OutputName = outputName ?? PreferredOutputs.FirstOrDefault(outputs.ContainsKey)
            ?? (outputs.Count == 1 ? outputs.Keys.Single() : throw new FormatException(
                $"ONNX model '{source}' has outputs {string.Join(", ", outputs.Keys)}; name the embedding output (e.g. last_hidden_state) in the options."));
        if (!outputs.TryGetValue(OutputName, out var output))
            throw new FormatException($"ONNX model '{source}' has no output '{OutputName}'; its outputs are {string.Join(", ", outputs.Keys)}.");
        if (output.ElementType != typeof(float))
            throw new FormatException($"ONNX model '{source}' output '{OutputName}' holds {output.ElementType.Name}; expected float32.");
        if (output.Dimensions.Length is not (2 or 3))
            throw new FormatException($"ONNX model '{source}' output '{OutputName}' has rank {output.Dimensions.Length}; expected [batch, hidden] or [batch, tokens, hidden].");

        _outputNames = [OutputName];
        IsPooled = output.Dimensions.Length == 2;
        HiddenSize = output.Dimensions[^1];
    }

    /// <summary>The device the session runs on after any fallback.</summary>
    public ComputeDevice Device { get; }

    public string OutputName { get; }

    /// <summary>Whether the output is already one vector per text (<c>[batch, hidden]</c>).</summary>
    public bool IsPooled { get; }

    /// <summary>The output's last dimension; -1 until a run shows it when the model leaves it symbolic.</summary>
    public int HiddenSize { get; private set; }

    /// <summary>Whether the model takes <c>token_type_ids</c>.</summary>
    public bool TakesTokenTypes => _inputNames.Contains(TokenTypeIds);

    /// <summary>
    /// Creates a session on the chosen device. CUDA is tried by appending ONNX Runtime's CUDA execution
    /// provider: <c>auto</c> falls back to the CPU, with a message through <paramref name="log"/> unless ONNX Runtime is its CPU build, an explicit
    /// <c>cuda</c> falls back only when <paramref name="allowCpuFallback"/> is set, and otherwise fails.
    /// </summary>
    /// <exception cref="FormatException">ONNX Runtime cannot read the model, or its inputs and outputs are not an embedding model's.</exception>
    /// <exception cref="InvalidOperationException">CUDA was required and is not available.</exception>
    public static OnnxEmbeddingModel Load(byte[] model, string source, ComputeDevice device, bool allowCpuFallback, string? outputName, Action<string>? log)
    {
        var (options, actual) = SessionOptionsFor(device, allowCpuFallback, log);
        using (options)
        {
            InferenceSession session;
            try
            {
                session = new InferenceSession(model, options);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new FormatException($"ONNX Runtime cannot load '{source}': {ex.Message}", ex);
            }

            try
            {
                return new OnnxEmbeddingModel(session, source, outputName, actual);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Runs one padded batch: <paramref name="ids"/> and <paramref name="mask"/> are row-major
    /// <c>[rows, tokens]</c>. Returns the output, <c>[rows, hidden]</c> or <c>[rows, tokens, hidden]</c>.
    /// </summary>
    public float[] Run(long[] ids, long[] mask, int rows, int tokens)
    {
        long[] shape = [rows, tokens];
        var values = new OrtValue[_inputNames.Length];
        try
        {
            for (var i = 0; i < _inputNames.Length; i++)
            {
                var data = _inputNames[i] switch
                {
                    InputIds => ids,
                    AttentionMask => mask,
                    _ => new long[ids.Length], // token_type_ids: one segment
                };
                values[i] = _inputIsInt64[i]
                    ? OrtValue.CreateTensorValueFromMemory(data, shape)
                    : OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(data, v => (int)v), shape);
            }

            using var outputs = _session.Run(_runOptions, _inputNames, values, _outputNames);
            var output = outputs[0];
            var outputShape = output.GetTensorTypeAndShape().Shape;
            var expectedRank = IsPooled ? 2 : 3;
            if (outputShape.Length != expectedRank || outputShape[0] != rows || (!IsPooled && outputShape[1] != tokens) || (HiddenSize > 0 && outputShape[^1] != HiddenSize))
            {
                var expected = IsPooled ? $"[{rows}, {Describe(HiddenSize)}]" : $"[{rows}, {tokens}, {Describe(HiddenSize)}]";
                throw new FormatException(
                    $"ONNX model '{_source}' returned '{OutputName}' of shape [{string.Join(", ", outputShape)}] for a batch of {rows} texts of {tokens} tokens; expected {expected}.");
            }

            HiddenSize = (int)outputShape[^1];
            return output.GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var value in values)
                value?.Dispose();
        }
    }

    private static string Describe(int size) => size > 0 ? size.ToString(System.Globalization.CultureInfo.InvariantCulture) : "hidden";

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static (SessionOptions Options, ComputeDevice Actual) SessionOptionsFor(ComputeDevice device, bool allowCpuFallback, Action<string>? log)
    {
        var options = new SessionOptions();
        if (device.Kind == DeviceKind.Cpu)
            return (options, ComputeDevice.Cpu);

        try
        {
            options.AppendExecutionProvider_CUDA(device.CudaIndex);
            return (options, ComputeDevice.Cuda(device.CudaIndex));
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            options.Dispose();
            if (device.Kind == DeviceKind.Cuda && !allowCpuFallback)
            {
                throw new InvalidOperationException(
                    $"Device '{device}' was requested, but ONNX Runtime cannot use CUDA here ({ex.Message.Trim()}). "
                    + "Choose device 'cpu' or 'auto', allow CPU fallback, or run with the GPU build of ONNX Runtime on a machine with CUDA 13.", ex);
            }

            // 'auto' with ONNX Runtime's CPU build, which has no CUDA provider to append (the application chose the CPU): the CPU
            // is what was expected, nothing to report. The GPU build failing to start CUDA is worth a message.
            if (device.Kind == DeviceKind.Cuda || ex is not EntryPointNotFoundException)
                log?.Invoke($"ONNX Runtime cannot use CUDA device {device.CudaIndex} ({ex.Message.Trim()}); embedding on the CPU.");
            return (new SessionOptions(), ComputeDevice.Cpu);
        }
    }
}
