using System.Runtime.InteropServices;
using FluentAssertions;
using SaeMl.Compute;
using Xunit;

namespace SaeMl.Tests.Compute;

[Collection(AloneCollection.Name)] // the heap test reads process-wide allocator counters
public class CpuAllocationsTests
{
    [Fact]
    public void Loading_SaeMl_asks_libtorch_for_huge_pages_unless_the_environment_says_otherwise()
    {
        // .NET keeps the environment it started with; the native one is what libtorch reads.
        var atStart = Environment.GetEnvironmentVariable(CpuAllocations.HugePagesVariable);

        var native = CpuAllocations.NativeValue(CpuAllocations.HugePagesVariable);

        if (OperatingSystem.IsLinux())
            native.Should().Be(atStart ?? "1", "SaeMl sets the variable when it loads and keeps a value the process started with");
        else
            native.Should().Be(atStart);
    }

    [Fact]
    public void The_native_environment_reads_back_what_the_process_started_with()
    {
        // A control: NativeValue reads the real environment, not a constant.
        CpuAllocations.NativeValue("PATH").Should().Be(Environment.GetEnvironmentVariable("PATH"));
        CpuAllocations.NativeValue("SAEML_SURELY_UNSET_VARIABLE").Should().BeNull();
    }

    [Fact]
    public void While_an_autoencoder_trains_blocks_under_32_MiB_come_from_the_heap_and_stay_there_when_freed()
    {
        if (!OperatingSystem.IsLinux() || CpuAllocations.EnvironmentSetsTheHeap() || !HasMallinfo2())
            return;                                                         // glibc's counters are what this test reads
        const int Block = 24 << 20;
        // glibc's defaults, as a process that never trained has them (the tests before this one may have trained).
        CpuAllocations.SetHeapOption(CpuAllocations.MmapThresholdOption, 128 << 10);
        CpuAllocations.SetHeapOption(CpuAllocations.TrimThresholdOption, 128 << 10);
        CpuAllocations.SetHeapOption(CpuAllocations.TopPadOption, 128 << 10);
        // A training earlier on this thread may have left its arena a large free top, which would serve the block below
        // without a mapping of its own; freeing a block of 64 KiB or more makes glibc trim that top to the defaults just set.
        Marshal.FreeHGlobal(Marshal.AllocHGlobal(96 << 10));

        // Free chunks an earlier training left in this arena's bins can also serve the block without a mapping: blocks are
        // held until one is mapped (the arena's suitable free chunks used up), so that the block inside the scope below
        // cannot come from them either.
        var held = new List<IntPtr>();
        long mappedInside, heapHeld, heapAfterFree;
        try
        {
            long mappedOutside = 0;
            for (var i = 0; i < 16 && mappedOutside < Block; i++)
            {
                var before = Counters().MappedBytes;
                held.Add(Marshal.AllocHGlobal(Block));
                mappedOutside = Counters().MappedBytes - before;
            }

            mappedOutside.Should().BeGreaterThanOrEqualTo(Block, "a control: with glibc's defaults a 24 MiB block is a mapping of its own, and the counter sees it");
            Marshal.FreeHGlobal(held[^1]);                                  // a mapping of its own: returned to the system
            held.RemoveAt(held.Count - 1);

            using (CpuAllocations.KeepFreedBlocks())
            {
                var mappedBefore = Counters().MappedBytes;
                var inside = Marshal.AllocHGlobal(Block);
                (mappedInside, heapHeld) = (Counters().MappedBytes - mappedBefore, Counters().HeapBytes);
                Marshal.FreeHGlobal(inside);
                heapAfterFree = Counters().HeapBytes;
            }
        }
        finally
        {
            foreach (var block in held)
                Marshal.FreeHGlobal(block);
        }

        mappedInside.Should().BeLessThan(Block, "inside the scope a 24 MiB block comes from the heap");
        heapAfterFree.Should().BeGreaterThanOrEqualTo(heapHeld, "the heap keeps the freed block for the next step");
    }

    private static bool HasMallinfo2()
    {
        try
        {
            _ = MallocInfo();
            return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;                                                   // glibc before 2.33
        }
    }

    /// <summary>glibc's <c>mallinfo2</c>: bytes in mappings of their own (<c>hblkhd</c>) and bytes the heaps hold from the system (<c>arena</c>).</summary>
    private static (long MappedBytes, long HeapBytes) Counters()
    {
        var info = MallocInfo();
        return ((long)info.MappedBytes, (long)info.Arena);
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallocCounters
    {
        public readonly nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, UsedSmallBytes, FreeSmallBytes, UsedBytes, FreeBytes, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocCounters MallocInfo();
}
