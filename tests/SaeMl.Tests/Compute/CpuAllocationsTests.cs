using FluentAssertions;
using SaeMl.Compute;
using Xunit;

namespace SaeMl.Tests.Compute;

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
}
