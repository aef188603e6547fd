using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SaeMl.Compute;

/// <summary>
/// How SaeMl's CPU tensors get their memory on Linux: libtorch is asked for transparent huge pages on its large
/// allocations, once, when SaeMl loads; and while an autoencoder trains, the C heap keeps the blocks it frees.
/// </summary>
/// <remarks>
/// <para>libtorch's CPU allocator keeps no cache of its own: it asks the C heap for every tensor, and glibc maps each large
/// one afresh from the kernel, whose first touch costs one page fault per 4 KB. A training step at n = 16,384 allocates
/// about twenty such tensors ([N, n] pre-activations, [n, d] gradients, Adam's temporaries), so on Linux
/// the page faults took about a third of the step (docs/benchmarks.md). libtorch reads the environment
/// variable <c>THP_MEM_ALLOC_ENABLE</c> at its first CPU allocation; set to 1, it aligns allocations of
/// 2 MB and more to 2 MB and advises the kernel to back them with huge pages (when
/// <c>/sys/kernel/mm/transparent_hugepage/enabled</c> is <c>always</c> or <c>madvise</c>), 512 times fewer faults.</para>
/// <para>SaeMl sets the variable in the process environment when its assembly loads, on Linux, unless the
/// variable is already set: <c>THP_MEM_ALLOC_ENABLE=0</c> in the environment turns this off. A program whose
/// libtorch allocated CPU memory before it loaded SaeMl keeps libtorch's first reading.</para>
/// <para>Huge pages make a fault cheaper; <see cref="KeepFreedBlocks"/> removes most of them while an autoencoder trains
/// on the CPU. A training step frees and allocates the same tensors of tens of megabytes every step ([N, d] activations
/// and their gradients). glibc returns a freed block at the top of its heap to the kernel once more of it is free than
/// its trim threshold (by default twice the largest block it has had to map), so the next step faults the same memory
/// in again: at n = 16,384 one [N, d] subtraction took 10 to 50 ms on fresh memory and 1 ms on memory kept
/// (docs/benchmarks.md, "A training step by phase"). While a scope lives, blocks up to <see cref="HeapBlockLimit"/> come from
/// the heap (less 2 MB: libtorch aligns large blocks to huge pages) and the heap keeps what is freed: its trim threshold is
/// the largest there is, and its top pad is 64 MiB, the size of the heaps glibc gives threads other than the first, which
/// it would otherwise unmap as soon as one is wholly free (<c>saeml train</c> trains on such a thread; its backward
/// measured the same as on the first thread). When the last scope ends, the heap gives back what is free
/// (<c>malloc_trim</c>), the top pad is glibc's default again, and the rest is left as glibc's own rule leaves it after a
/// block of that size: blocks up to 32 MiB from the heap, trimmed above 64 MiB free. Setting these options turns off
/// glibc's adjustment of them for the rest of the process. Larger tensors (the [N, n] pre-activations, [n, d] weights and
/// gradients) stay mappings of their own, with huge pages. The settings are the process's: every thread's allocations
/// follow them during a training. SaeMl leaves the C heap alone where
/// the environment already sets its options (<c>MALLOC_TRIM_THRESHOLD_</c>, <c>MALLOC_MMAP_THRESHOLD_</c> or a
/// <c>glibc.malloc</c> tunable in <c>GLIBC_TUNABLES</c>), and on C libraries other than glibc.</para>
/// </remarks>
internal static partial class CpuAllocations
{
    /// <summary>The variable libtorch (c10) reads.</summary>
    internal const string HugePagesVariable = "THP_MEM_ALLOC_ENABLE";

#pragma warning disable CA2255 // A library's module initializer: libtorch reads the variable once, at its first allocation, which may come from any SaeMl type.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void AskForHugePages()
    {
        CallCLibrary(() => _ = SetEnvironment(HugePagesVariable, "1", overwrite: 0));
    }

    /// <summary>The largest block glibc's heap serves (glibc's maximum mmap threshold on 64-bit systems): larger ones are mappings of their own.</summary>
    internal const int HeapBlockLimit = 32 << 20;

    /// <summary>The size of the heaps glibc gives threads other than the first (twice <see cref="HeapBlockLimit"/>), and glibc's default top pad.</summary>
    private const int ThreadHeapSize = 2 * HeapBlockLimit, DefaultTopPad = 128 << 10;

    /// <summary>glibc's <c>mallopt</c> options: M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD.</summary>
    internal const int TrimThresholdOption = -1, TopPadOption = -2, MmapThresholdOption = -3;

    private static readonly object Gate = new();
    private static int s_scopes;

    /// <summary>Whether the first scope set the heap's options, so that the last one puts them back.</summary>
    private static bool s_optionsSet;

    /// <summary>
    /// Until the returned scope is disposed, the C heap serves blocks up to <see cref="HeapBlockLimit"/> and keeps freed memory
    /// for reuse instead of returning it to the kernel; scopes nest and may overlap across threads.
    /// </summary>
    internal static IDisposable KeepFreedBlocks()
    {
        lock (Gate)
        {
            if (s_scopes++ == 0 && !EnvironmentSetsTheHeap())
            {
                s_optionsSet = true;
                CallCLibrary(() =>
                {
                    _ = SetHeapOption(MmapThresholdOption, HeapBlockLimit);
                    _ = SetHeapOption(TrimThresholdOption, int.MaxValue);
                    _ = SetHeapOption(TopPadOption, ThreadHeapSize);
                });
            }
        }

        return new HeapScope();
    }

    private static void EndScope()
    {
        lock (Gate)
        {
            if (--s_scopes == 0 && s_optionsSet)
            {
                s_optionsSet = false;
                CallCLibrary(() =>
                {
                    _ = SetHeapOption(TrimThresholdOption, 2 * HeapBlockLimit);
                    _ = SetHeapOption(TopPadOption, DefaultTopPad);
                    _ = TrimHeap(0);
                });
            }
        }
    }

    /// <summary>Whether the process's environment sets glibc's heap options itself: then they are the user's.</summary>
    internal static bool EnvironmentSetsTheHeap() =>
        NativeValue("MALLOC_TRIM_THRESHOLD_") is not null || NativeValue("MALLOC_MMAP_THRESHOLD_") is not null
        || (NativeValue("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) ?? false);

    /// <summary>Calls the C library on Linux; one without the export called (musl has no <c>malloc_trim</c>) keeps its defaults, and SaeMl still works.</summary>
    private static void CallCLibrary(Action call)
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            call();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    private sealed class HeapScope : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                EndScope();
        }
    }

    /// <summary>The variable as the native environment holds it (what libtorch reads), or null.</summary>
    internal static string? NativeValue(string name) =>
        OperatingSystem.IsLinux() ? Marshal.PtrToStringUTF8(GetEnvironment(name)) : Environment.GetEnvironmentVariable(name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);

    /// <summary>glibc's <c>mallopt</c>: 1 when the option was set, 0 when refused.</summary>
    [LibraryImport("libc", EntryPoint = "mallopt")]
    internal static partial int SetHeapOption(int option, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int TrimHeap(nuint pad);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnvironment(string name);
}
