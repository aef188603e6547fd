using System.Text.Json;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Cli;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;

namespace SaeMl.Tests.Cli;

public sealed class SteerCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string World => _folder.File("world");

    private (string Store, string Model) Prepare() => SmallWorldModel.Prepare(_folder);

    [Fact]
    public async Task Steer_prints_the_top_k_before_and_after_and_its_json_names_what_entered_and_left()
    {
        var (store, model) = Prepare();
        string[] args =
        [
            "steer", "--model", model, "--corpus", store, "--texts", World, "--query", "rain and storms",
            "--onnx", Path.Combine(World, DemoWorld.ModelFile), "--vocab", Path.Combine(World, DemoWorld.VocabularyFile),
            "--amplify", "5=3", "--amplify", "9=2", "--suppress", "1", "--k", "5", "--device", "cpu",
        ];

        var table = await CliProcess.RunSeparatelyAsync(args);
        var json = await CliProcess.RunSeparatelyAsync([.. args, "--json"]);

        table.ExitCode.Should().Be(0, table.Error);
        table.Output.Should().Contain("\"rain and storms\" steered: add 5 3, add 9 2, ablate 1").And.Contain("before").And.Contain("after").And.Contain("entered the top 5");
        json.ExitCode.Should().Be(0, json.Error);
        using var result = JsonDocument.Parse(json.Output);
        var before = result.RootElement.GetProperty("before").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).ToList();
        var after = result.RootElement.GetProperty("after").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).ToList();
        before.Should().HaveCount(5);
        after.Should().HaveCount(5);
        result.RootElement.GetProperty("entered").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(after.Except(before));
        result.RootElement.GetProperty("left").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(before.Except(after));
        after.Should().NotEqual(before, "an edit this strong moves the ranking");
    }

    [Theory]
    [InlineData("--amplify", "x=1", 2, "--amplify 'x=1': expected FEATURE=α")]
    [InlineData("--amplify", "5", 2, "--amplify '5': expected FEATURE=α")]
    [InlineData("--suppress", "one", 2, "--suppress 'one': expected FEATURE, a latent number")]
    [InlineData("--amplify", "64=1", 1, "The Add edit names latent 64, but the autoencoder has latents 0 to 63.")]
    public async Task A_bad_edit_is_one_line_and_nothing_is_retrieved(string flag, string value, int exitCode, string expected)
    {
        var (store, model) = Prepare();

        var (code, output) = await CliProcess.RunAsync("steer", "--model", model, "--corpus", store, "--query", "rain",
            "--onnx", Path.Combine(World, DemoWorld.ModelFile), "--vocab", Path.Combine(World, DemoWorld.VocabularyFile), flag, value, "--device", "cpu");

        code.Should().Be(exitCode);
        output.Trim().Should().StartWith("error: ").And.Contain(expected).And.NotContain("\n");
    }
}
