using SaeMl.Compute;
using TorchSharp;

namespace SaeMl.Tests.Compute;

public sealed class ComputeDeviceTests
{
    [Fact]
    public void TorchSharp_native_backend_loads_and_multiplies_matrices_on_the_cpu()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        using var b = torch.tensor(new float[] { 1, 0, 0, 1, 1, 1 }, new long[] { 3, 2 });
        using var product = a.matmul(b);

        product.data<float>().ToArray().Should().Equal(4f, 5f, 10f, 11f);
        product.device_type.Should().Be(DeviceType.CPU);
    }
}
