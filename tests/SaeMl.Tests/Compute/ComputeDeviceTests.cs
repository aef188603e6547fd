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

    [Theory]
    [InlineData("auto", DeviceKind.Auto, 0)]
    [InlineData("CPU", DeviceKind.Cpu, 0)]
    [InlineData("cuda", DeviceKind.Cuda, 0)]
    [InlineData(" cuda:3 ", DeviceKind.Cuda, 3)]
    public void Parses_the_text_forms(string text, DeviceKind kind, int index)
    {
        var device = ComputeDevice.Parse(text);

        device.Should().Be(new ComputeDevice(kind, index));
        ComputeDevice.Parse(device.ToString()).Should().Be(device);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    public void Rejects_unknown_text_forms(string text)
    {
        var parse = () => ComputeDevice.Parse(text);

        parse.Should().Throw<ArgumentException>().WithMessage($"Unknown device '{text}': expected 'auto', 'cpu', 'cuda' or 'cuda:N'.*");
    }

    [Fact]
    public void Auto_takes_the_first_gpu_when_there_is_one_and_the_cpu_otherwise()
    {
        ComputeDevice.Auto.Resolve(cudaDeviceCount: 0).Should().Be(ComputeDevice.Cpu);
        ComputeDevice.Auto.Resolve(cudaDeviceCount: 2).Should().Be(ComputeDevice.Cuda(0));
        ComputeDevice.Cpu.Resolve(cudaDeviceCount: 2).Should().Be(ComputeDevice.Cpu);
    }

    [Fact]
    public void Cuda_requested_without_a_gpu_is_an_error_not_a_silent_fallback()
    {
        var resolve = () => ComputeDevice.Cuda().Resolve(cudaDeviceCount: 0);

        resolve.Should().Throw<InvalidOperationException>()
            .WithMessage("Device 'cuda:0' was requested, but TorchSharp sees no CUDA device on this machine.*'cpu' or 'auto'*-p:TorchBackend=cuda*");
    }

    [Fact]
    public void A_cuda_ordinal_beyond_the_devices_present_is_an_error()
    {
        var resolve = () => ComputeDevice.Cuda(3).Resolve(cudaDeviceCount: 2);

        resolve.Should().Throw<ArgumentOutOfRangeException>().WithMessage("Device 'cuda:3' was requested, but only 2 CUDA device(s) are available.*");
    }

    [Fact]
    public void On_this_machine_cuda_resolves_only_where_torch_sees_a_gpu()
    {
        var resolve = () => ComputeDevice.Cuda().ToTorchDevice();

        if (torch.cuda.is_available())
            resolve().type.Should().Be(DeviceType.CUDA);
        else
            resolve.Should().Throw<InvalidOperationException>().WithMessage("*sees no CUDA device*");
        ComputeDevice.Cpu.ToTorchDevice().type.Should().Be(DeviceType.CPU);
    }
}
