using System.Text.Json;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Cli;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;
using SaeMl.Interpretation;

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
        table.Output.Should().Contain($"The query was embedded by '{DemoWorld.ModelFile}': cls pooling, at most {TextEmbedderOptions.Defaults.MaxTokens} tokens, no query prefix.");
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
        var first = result.RootElement.GetProperty("before")[0];
        var title = first.GetProperty("title").GetString()!;
        title.Length.Should().BeGreaterThan(20, "the check below needs a title that 80 columns would wrap");
        table.Output.Split('\n').Should().Contain(line => line.Contains($"{first.GetProperty("id").GetString()}  {title}"),
            "output to a file or pipe is not wrapped at 80 columns: a document's id and title stay on one line");
    }

    [Theory]
    [InlineData("--amplify", "5", "--amplify '5': expected FEATURE=α")]
    [InlineData("--amplify", "5=x", "--amplify '5=x': expected FEATURE=α")]
    [InlineData("--amplify", "5=NaN", "--amplify '5=NaN': expected FEATURE=α")]
    [InlineData("--amplify", "=1", "--amplify '=1': expected FEATURE=α")]
    [InlineData("--amplify", "rain=1", "--amplify 'rain': a feature named by words needs --atlas")]
    [InlineData("--suppress", "one", "--suppress 'one': a feature named by words needs --atlas")]
    [InlineData("--amplify", "-3=1", "--amplify '-3': a latent number is 0 or more.")]
    [InlineData("--amplify", "64=1", "The Add edit names latent 64, but the autoencoder has latents 0 to 63.")]
    public async Task A_bad_edit_is_one_line_exit_code_1_and_nothing_is_retrieved(string flag, string value, string expected)
    {
        var (store, model) = Prepare();

        var (code, output) = await CliProcess.RunAsync("steer", "--model", model, "--corpus", store, "--query", "rain",
            "--onnx", Path.Combine(World, DemoWorld.ModelFile), "--vocab", Path.Combine(World, DemoWorld.VocabularyFile), flag, value, "--device", "cpu");

        code.Should().Be(1);
        output.Trim().Should().StartWith("error: ").And.Contain(expected).And.NotContain("\n");
    }

    [Fact]
    public async Task A_feature_named_by_label_words_is_the_atlas_latent_whose_label_matches_them()
    {
        var (store, model) = Prepare();
        var atlasPath = _folder.File("atlas.sqlite");
        (await CliProcess.RunAsync("interpret", "--model", model, "--corpus", store, "--texts", World, "--output", atlasPath, "--latents", "all",
            "--saliency-documents", "0", "--device", "cpu")).ExitCode.Should().Be(0);
        int expected;
        string word;
        using (var atlas = FeatureAtlas.Open(atlasPath))
        {
            var labels = atlas.Labels();
            word = labels.Values.Where(l => l.Succeeded).Select(l => l.Text.Split(", ")[0]).First();
            expected = atlas.FindByLabel(word)[0].Latent;
            labels[expected].Text.Split(", ").Should().Contain(word);
        }

        string[] common = ["steer", "--model", model, "--corpus", store, "--query", "rain", "--onnx", Path.Combine(World, DemoWorld.ModelFile),
            "--vocab", Path.Combine(World, DemoWorld.VocabularyFile), "--k", "5", "--json", "--device", "cpu"];
        var byLabel = await CliProcess.RunSeparatelyAsync([.. common, "--atlas", atlasPath, "--amplify", $"{word}=2"]);
        var byNumber = await CliProcess.RunSeparatelyAsync([.. common, "--amplify", $"{expected}=2"]);

        byLabel.ExitCode.Should().Be(0, byLabel.Error);
        byNumber.ExitCode.Should().Be(0, byNumber.Error);
        using var labelled = JsonDocument.Parse(byLabel.Output);
        using var numbered = JsonDocument.Parse(byNumber.Output);
        var feature = labelled.RootElement.GetProperty("features")[0];
        feature.GetProperty("latent").GetInt32().Should().Be(expected);
        feature.GetProperty("label").GetString().Should().Contain(word);
        numbered.RootElement.GetProperty("features")[0].GetProperty("label").ValueKind.Should().Be(JsonValueKind.Null, "without an atlas there is no label");
        labelled.RootElement.GetProperty("after").ToString().Should().Be(numbered.RootElement.GetProperty("after").ToString());

        double mean;
        using (var atlas = FeatureAtlas.Open(atlasPath))
            mean = atlas.Card(expected).MeanActivation;
        var byMultiple = await CliProcess.RunSeparatelyAsync([.. common, "--atlas", atlasPath, "--amplify", $"{expected}=3x"]);
        var byAbsolute = await CliProcess.RunSeparatelyAsync([.. common, "--amplify", $"{expected}={((float)(3 * mean)).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}"]);
        byMultiple.ExitCode.Should().Be(0, byMultiple.Error);
        using (var multiple = JsonDocument.Parse(byMultiple.Output))
        using (var absolute = JsonDocument.Parse(byAbsolute.Output))
        {
            multiple.RootElement.GetProperty("after").ToString().Should().Be(absolute.RootElement.GetProperty("after").ToString(), "3x is three times the latent's mean activation in the atlas");
            multiple.RootElement.GetProperty("after").ToString().Should().NotBe(labelled.RootElement.GetProperty("after").ToString(), "the control: α = 2 retrieves otherwise");
        }

        var outside = await CliProcess.RunAsync([.. common, "--atlas", atlasPath, "--amplify", "99999=3x"]);
        outside.ExitCode.Should().Be(1);
        outside.Output.Trim().Should().StartWith("error: --amplify '99999': the autoencoder has latents 0..");
        var withoutAtlas = await CliProcess.RunAsync([.. common, "--amplify", $"{expected}=3x"]);
        withoutAtlas.ExitCode.Should().Be(1);
        withoutAtlas.Output.Trim().Should().Be($"error: --amplify '{expected}=3x': α as a multiple of the latent's mean activation needs --atlas, which holds it.");

        var unknown = await CliProcess.RunAsync([.. common, "--atlas", atlasPath, "--amplify", "zzzqqq=2"]);
        unknown.ExitCode.Should().Be(1);
        unknown.Output.Trim().Should().Be($"error: --amplify 'zzzqqq': no label in --atlas '{atlasPath}' holds any of these words.");
    }
}
