using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SaeMl.Compute;

/// <summary>
/// Asks libtorch for transparent huge pages on its large CPU allocations, once, when SaeMl loads.
/// </summary>
/// <remarks>
/// <para>libtorch's CPU allocator keeps no cache: every tensor of a few megabytes is a fresh mapping from the
/// kernel, and its first touch costs one page fault per 4 KB. A training step at n = 16,384 allocates
/// about twenty such tensors ([N, n] pre-activations, [n, d] gradients, Adam's temporaries), so on Linux
/// the page faults took about a third of the step (docs/benchmarks.md). libtorch reads the environment
/// variable <c>THP_MEM_ALLOC_ENABLE</c> at its first CPU allocation; set to 1, it aligns allocations of
/// 2 MB and more to 2 MB and advises the kernel to back them with huge pages (when
/// <c>/sys/kernel/mm/transparent_hugepage/enabled</c> is <c>always</c> or <c>madvise</c>), 512 times fewer faults.</para>
/// <para>SaeMl sets the variable in the process environment when its assembly loads, on Linux, unless the
/// variable is already set: <c>THP_MEM_ALLOC_ENABLE=0</c> in the environment turns this off. A program whose
/// libtorch allocated CPU memory before it loaded SaeMl keeps libtorch's first reading.</para>
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
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            _ = SetEnvironment(HugePagesVariable, "1", overwrite: 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without setenv under this name: libtorch keeps its default, and SaeMl still loads.
        }
    }

    /// <summary>The variable as the native environment holds it (what libtorch reads), or null.</summary>
    internal static string? NativeValue(string name) =>
        OperatingSystem.IsLinux() ? Marshal.PtrToStringUTF8(GetEnvironment(name)) : Environment.GetEnvironmentVariable(name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnvironment(string name);
}
