using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Compute;

/// <summary>Copies between .NET memory and tensors through the tensors' own host memory, with no intermediate arrays.</summary>
internal static class HostTensors
{
    /// <summary>The memory of a contiguous CPU tensor, to read values into or out of.</summary>
    public static Span<T> Memory<T>(Tensor hostTensor) where T : unmanaged => MemoryMarshal.Cast<byte, T>(hostTensor.bytes);

    /// <summary>
    /// The address of a contiguous CPU tensor's first element, for kernels that split its memory between threads (a span
    /// cannot cross into a lambda). Native memory does not move; the pointer is valid while the tensor is alive.
    /// </summary>
    public static unsafe T* Pointer<T>(Tensor hostTensor) where T : unmanaged =>
        (T*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(Memory<T>(hostTensor)));

    /// <summary>
    /// A tensor of <paramref name="shape"/> on <paramref name="device"/> holding <paramref name="values"/> (float or int): written
    /// once into a host tensor, which is the result on the CPU and is copied to any other device once.
    /// </summary>
    public static Tensor ToDevice<T>(ReadOnlySpan<T> values, long[] shape, Device device) where T : unmanaged
    {
        var type = typeof(T) == typeof(float) ? ScalarType.Float32
            : typeof(T) == typeof(int) ? ScalarType.Int32
            : throw new NotSupportedException($"No tensor type for {typeof(T).Name}.");
        var host = empty(shape, type);
        values.CopyTo(Memory<T>(host));
        return device.type == DeviceType.CPU ? host : host.to(device);
    }

    /// <summary>Copies <paramref name="values"/> (any device, any layout) into <paramref name="destination"/>.</summary>
    public static void CopyToHost<T>(Tensor values, Span<T> destination) where T : unmanaged
    {
        using var scope = NewDisposeScope();     // holds the intermediate tensors until the copy is done
        var host = values.contiguous().cpu();
        Memory<T>(host).CopyTo(destination);
    }
}
