using System.Globalization;
using TorchSharp;

namespace SaeMl.Compute;

/// <summary>The kind of device a <see cref="ComputeDevice"/> names.</summary>
public enum DeviceKind
{
    /// <summary>CUDA device 0 when TorchSharp sees a CUDA device, otherwise the CPU.</summary>
    Auto,

    /// <summary>The CPU.</summary>
    Cpu,

    /// <summary>A CUDA GPU; asking for it where none is available is an error, never a silent fallback.</summary>
    Cuda,
}

/// <summary>
/// Where SaeMl runs its tensor work. Every component that computes takes one of these as an explicit
/// parameter and resolves it here, so CPU versus CUDA is decided in exactly one place.
/// </summary>
/// <remarks>
/// Text forms (used by the command line): <c>auto</c>, <c>cpu</c>, <c>cuda</c> (device 0) and
/// <c>cuda:N</c>. Which native TorchSharp backend is present is a build choice of the application
/// (<c>-p:TorchBackend=cuda</c>); with the CPU backend no CUDA device is ever available.
/// </remarks>
/// <param name="Kind">Auto, CPU or CUDA.</param>
/// <param name="CudaIndex">The CUDA device ordinal; used only when <paramref name="Kind"/> is <see cref="DeviceKind.Cuda"/>.</param>
public readonly record struct ComputeDevice(DeviceKind Kind, int CudaIndex = 0)
{
    /// <summary>CUDA device 0 when available, otherwise the CPU.</summary>
    public static ComputeDevice Auto => new(DeviceKind.Auto);

    /// <summary>The CPU.</summary>
    public static ComputeDevice Cpu => new(DeviceKind.Cpu);

    /// <summary>The CUDA device with the given ordinal.</summary>
    /// <param name="index">The device ordinal, 0 for the first GPU.</param>
    public static ComputeDevice Cuda(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new(DeviceKind.Cuda, index);
    }

    /// <summary>Parses <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The text is none of those forms.</exception>
    public static ComputeDevice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim().ToLowerInvariant();
        if (value == "auto")
            return Auto;
        if (value == "cpu")
            return Cpu;
        if (value == "cuda")
            return Cuda();
        if (value.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return Cuda(index);
        throw new ArgumentException($"Unknown device '{text}': expected 'auto', 'cpu', 'cuda' or 'cuda:N'.", nameof(text));
    }

    /// <summary>
    /// The concrete device this choice stands for on this machine: <see cref="DeviceKind.Cpu"/> or
    /// <see cref="DeviceKind.Cuda"/> with an ordinal that exists.
    /// </summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for and TorchSharp sees no CUDA device.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The CUDA ordinal is not below the number of devices.</exception>
    public ComputeDevice Resolve() => Resolve(Kind == DeviceKind.Cpu ? 0 : AvailableCudaDevices());

    /// <summary>The TorchSharp device for <see cref="Resolve()"/>.</summary>
    public torch.Device ToTorchDevice()
    {
        var resolved = Resolve();
        return resolved.Kind == DeviceKind.Cuda ? new torch.Device(DeviceType.CUDA, resolved.CudaIndex) : torch.CPU;
    }

    /// <summary><see cref="Resolve()"/> for a machine with <paramref name="cudaDeviceCount"/> CUDA devices.</summary>
    internal ComputeDevice Resolve(int cudaDeviceCount) => Kind switch
    {
        DeviceKind.Cpu => Cpu,
        DeviceKind.Auto => cudaDeviceCount > 0 ? Cuda() : Cpu,
        DeviceKind.Cuda when cudaDeviceCount == 0 => throw new InvalidOperationException(
            $"Device '{this}' was requested, but TorchSharp sees no CUDA device on this machine. "
            + "Use device 'cpu' or 'auto', or run on a machine with an NVIDIA GPU and an application built with -p:TorchBackend=cuda."),
        DeviceKind.Cuda when CudaIndex >= cudaDeviceCount => throw new ArgumentOutOfRangeException(
            nameof(CudaIndex), CudaIndex, $"Device '{this}' was requested, but only {cudaDeviceCount} CUDA device(s) are available."),
        DeviceKind.Cuda => this,
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown device kind."),
    };

    /// <summary>The text form: <c>auto</c>, <c>cpu</c> or <c>cuda:N</c>.</summary>
    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        _ => $"cuda:{CudaIndex.ToString(CultureInfo.InvariantCulture)}",
    };

    private static int AvailableCudaDevices() => torch.cuda.is_available() ? torch.cuda.device_count() : 0;
}
