using System.Text;
using SaeMl.Cli;
using SaeMl.Demo;
using SaeMl.Interpretation;

namespace SaeMl.Tests.Cli;

/// <summary>saeml interpret, explain and features on a small demo world, in separate processes; the LLM path against a fake OpenAI-compatible server on 127.0.0.1.</summary>
public sealed class InterpretCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string World => _folder.File("world");

    private string[] Onnx => ["--onnx", Path.Combine(World, DemoWorld.ModelFile), "--vocab", Path.Combine(World, DemoWorld.VocabularyFile)];

    [Fact]
    public async Task Interpret_writes_an_atlas_that_features_and_explain_read_and_a_second_run_reuses_its_labels()
    {
        var (store, model) = SmallWorldModel.Prepare(_folder, epochs: 4);
        var atlas = _folder.File("atlas.sqlite");
        string[] interpret = ["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", atlas, "--latents", "all", .. Onnx, "--device", "cpu"];

        var first = await CliProcess.RunSeparatelyAsync(interpret);
        first.ExitCode.Should().Be(0, first.Error);
        first.Output.Should().Contain("latents labelled").And.Contain("Label embedding scores").And.Contain("Wrote");
        using (var opened = FeatureAtlas.Open(atlas))
        {
            var labels = opened.Labels("local:words=5,documents=2,share=0.25,z=1.96,stop=english");
            labels.Should().NotBeEmpty();
            var unscored = labels.Values.Count(l => l.Succeeded && opened.Card(l.Latent).Scores.Count == 0);
            if (unscored > 0)
                first.Output.Should().MatchRegex($@"{unscored} labelled latents? (has|have) no score: every document", "a labelled latent left unscored is counted and explained");
            else
                first.Output.Should().NotContain("no score:");
            var (latent, label) = labels.First(l => l.Value.Succeeded);
            var card = opened.Card(latent);
            card.TopDocuments.Should().NotBeEmpty();
            var features = await CliProcess.RunSeparatelyAsync(["features", "--atlas", atlas, "--find", label.Text.Split(", ")[0], "--top", "3"]);
            features.ExitCode.Should().Be(0, features.Error);
            features.Output.Should().Contain($"latent {latent}").And.Contain(card.TopDocuments[0].DocumentId);
            var matching = opened.FindByLabel(label.Text.Split(", ")[0]).Count;
            features.Output.Should().Contain(matching == 1 ? "1 latent has a label with" : $"{matching} latents have labels with", "the count is said in good English");
        }

        var second = await CliProcess.RunSeparatelyAsync(interpret);
        second.ExitCode.Should().Be(0, second.Error);
        second.Output.Should().MatchRegex(@"reusing\s+[0-9]+\s+labels");

        var explain = await CliProcess.RunSeparatelyAsync(["explain", "--model", model, "--corpus", store, "--atlas", atlas, "--texts", World, "--query", "rain and storms", "--k", "3", .. Onnx, "--device", "cpu"]);
        explain.ExitCode.Should().Be(0, explain.Error);
        explain.Output.Should().Contain("#1 ").And.Contain("#3 ").And.Contain("dense score").And.Contain("reconstructed").And.Contain("latent score");
        explain.Output.Should().Contain($"(embedded by '{DemoWorld.ModelFile}': cls pooling, at most {SaeMl.Embedding.TextEmbedderOptions.Defaults.MaxTokens} tokens, no query prefix)",
            "how the query was embedded is shown, since nothing can check it against how the corpus was");
        var firstWordOnly = await CliProcess.RunSeparatelyAsync(["explain", "--model", model, "--corpus", store, "--query", "rain and storms", "--k", "3", "--max-tokens", "3", .. Onnx, "--device", "cpu"]);
        var firstWord = await CliProcess.RunSeparatelyAsync(["explain", "--model", model, "--corpus", store, "--query", "rain", "--k", "3", .. Onnx, "--device", "cpu"]);
        string DenseScores(string output) => string.Join(" ", System.Text.RegularExpressions.Regex.Matches(output, @"dense score [0-9.\-]+").Select(m => m.Value));
        DenseScores(firstWordOnly.Output).Should().Be(DenseScores(firstWord.Output), "--max-tokens 3 keeps [CLS], the first word and [SEP], as embedding the first word alone does")
            .And.NotBe(DenseScores(explain.Output), "the whole query scores otherwise");
        var notRetrieved = await CliProcess.RunSeparatelyAsync(["explain", "--model", model, "--corpus", store, "--query", "rain and storms", "--doc", "D000007", .. Onnx, "--device", "cpu"]);
        notRetrieved.ExitCode.Should().Be(0, notRetrieved.Error);
        notRetrieved.Output.Should().Contain("D000007").And.Contain("The query's strongest latents that the document lacks");
    }

    [Fact]
    public async Task Stop_words_can_be_switched_off_or_read_from_a_file_and_a_missing_file_is_refused_before_any_work()
    {
        var (store, model) = SmallWorldModel.Prepare(_folder, epochs: 4);
        File.WriteAllLines(_folder.File("stop.txt"), ["Rain", "", "storm"]);
        string[] Interpret(string output, string stopWords) =>
            ["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", _folder.File(output), "--latents", "sample:20", "--stop-words", stopWords, "--device", "cpu"];

        var none = await CliProcess.RunSeparatelyAsync(Interpret("none.sqlite", "none"));
        var own = await CliProcess.RunSeparatelyAsync(Interpret("own.sqlite", _folder.File("stop.txt")));
        var missing = await CliProcess.RunSeparatelyAsync(Interpret("missing.sqlite", _folder.File("no-such-list.txt")));

        none.ExitCode.Should().Be(0, none.Error);
        using (var atlas = FeatureAtlas.Open(_folder.File("none.sqlite")))
            atlas.Labels("local:words=5,documents=2,share=0.25,z=1.96,stop=none").Should().NotBeEmpty("the labels are cached under the labeler's own settings");
        own.ExitCode.Should().Be(0, own.Error);
        using (var atlas = FeatureAtlas.Open(_folder.File("own.sqlite")))
        {
            var labels = atlas.Labels(new LocalLabeler(WordCounts.Of(["any text"]), stopWords: new HashSet<string> { "rain", "storm" }).Name);
            labels.Should().NotBeEmpty("the file's words, lower-cased, blank lines skipped, name the labeler");
            labels.Values.SelectMany(l => l.Text.Split(", ")).Should().NotContain(["rain", "storm"]);
        }

        missing.ExitCode.Should().Be(2);
        missing.Error.Should().StartWith($"error: --stop-words '{_folder.File("no-such-list.txt")}': expected english, none, or a file of words");
        File.Exists(_folder.File("missing.sqlite")).Should().BeFalse();
    }

    [Fact]
    public async Task An_atlas_of_another_model_or_a_foreign_file_is_not_replaced_without_overwrite()
    {
        var (store, model) = SmallWorldModel.Prepare(_folder);
        var target = _folder.File("notes.sqlite");
        File.WriteAllText(target, "my notes");
        var refused = await CliProcess.RunSeparatelyAsync(["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", target, "--latents", "sample:3", "--device", "cpu"]);
        refused.ExitCode.Should().Be(1);
        refused.Error.Should().Contain("--output").And.Contain("--overwrite");
        File.ReadAllText(target).Should().Be("my notes");

        var outside = await CliProcess.RunSeparatelyAsync(["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", _folder.File("new.sqlite"), "--latents", "list:1,99999", "--device", "cpu"]);
        outside.ExitCode.Should().Be(SaeMlCommandLine.Usage, outside.Error);
        outside.Error.Should().StartWith("error: --latents names latent 99999, but the autoencoder has latents 0..");
        Directory.GetFiles(_folder.Path, "new.sqlite*").Should().BeEmpty("a latent the model lacks is refused before the scan, leaving no atlas and no partial work");
    }

    [Fact]
    public async Task The_llm_labeler_asks_an_openai_compatible_endpoint_keeps_failures_per_latent_and_never_writes_the_key()
    {
        var (store, model) = SmallWorldModel.Prepare(_folder);
        const string Key = "sk-test-key-that-must-not-leak";
        using var server = new FakeOpenAiServer(request => request % 3 == 2 ? null : "Label: rain, storms, weather");
        var atlas = _folder.File("atlas.sqlite");
        string[] args = ["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", atlas, "--latents", "sample:9",
            "--labeler", "llm", "--llm-endpoint", server.Endpoint, "--llm-model", "fake-model", "--llm-key-env", "SAEML_TEST_KEY", "--device", "cpu"];
        var environment = new Dictionary<string, string> { ["SAEML_TEST_KEY"] = Key };

        var first = await CliProcess.RunSeparatelyAsync(args, environment: environment);

        first.ExitCode.Should().Be(0, first.Error);
        server.Requests.Should().HaveCount(9);
        server.Requests.Should().OnlyContain(r => r.Authorization == "Bearer " + Key && r.Body.Contains("fake-model") && r.Body.Contains("Top-activating documents"));
        (first.Output + first.Error).Should().NotContain(Key);
        Encoding.UTF8.GetString(File.ReadAllBytes(atlas)).Should().NotContain(Key);
        using (var opened = FeatureAtlas.Open(atlas))
        {
            var labels = opened.Labels("chat:fake-model");
            labels.Values.Count(l => l.Succeeded).Should().Be(6);
            labels.Values.Where(l => l.Succeeded).Should().OnlyContain(l => l.Text == "rain, storms, weather");
            labels.Values.Where(l => !l.Succeeded).Should().OnlyContain(l => l.Error!.Contains("400"));
        }

        var second = await CliProcess.RunSeparatelyAsync(args, environment: environment);
        second.ExitCode.Should().Be(0, second.Error);
        server.Requests.Should().HaveCount(12, "the second run asks only for the three latents that failed");
    }

    [Fact]
    public async Task An_interrupted_run_resumes_without_scanning_again_or_redoing_saliency_and_labels_already_done()
    {
        var (store, model) = SmallWorldModel.Prepare(_folder);
        var atlas = _folder.File("atlas.sqlite");
        var checkpointPath = atlas + ".partial";
        using var sixthAsked = new ManualResetEventSlim();
        using var killed = new ManualResetEventSlim();
        using var server = new FakeOpenAiServer(request =>
        {
            if (request == 5)
            {
                sixthAsked.Set();
                killed.Wait(TimeSpan.FromSeconds(60)); // the run is killed while it waits for this answer
                return null;
            }

            return $"Label: topic{request}, weather";
        });
        string[] Arguments(FakeOpenAiServer endpoint) => ["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", atlas, "--latents", "all",
            "--saliency-documents", "3", "--labeler", "llm", "--llm-endpoint", endpoint.Endpoint, "--llm-model", "fake", .. Onnx, "--device", "cpu"];

        using (var first = CliProcess.Start(Arguments(server)))
        {
            _ = first.StandardOutput.ReadToEndAsync();
            _ = first.StandardError.ReadToEndAsync();
            var reached = await Task.Run(() => sixthAsked.Wait(TimeSpan.FromMinutes(2)));
            first.Kill(entireProcessTree: true);
            reached.Should().BeTrue($"the run reaches its sixth label (the server was asked {server.Requests.Count} times)");
            await first.WaitForExitAsync();
        }

        killed.Set();
        File.Exists(atlas).Should().BeFalse("the interrupted run wrote no atlas");
        int kept;
        int saliencies;
        using (var checkpoint = InterpretationCheckpoint.Open(checkpointPath))
        {
            checkpoint.HasScan.Should().BeTrue();
            (saliencies, kept, _) = checkpoint.Counts;
            kept.Should().BeInRange(2, 5, "the labels answered before the kill are kept (up to three answers may have been in flight)");
        }

        using var resumed = new FakeOpenAiServer(request => $"Label: again{request}, weather");
        var second = await CliProcess.RunSeparatelyAsync(Arguments(resumed));

        second.ExitCode.Should().Be(0, second.Error);
        System.Text.RegularExpressions.Regex.Replace(second.Output, @"\s+", " ").Should().Contain("Resuming the interrupted run").And.Contain("the corpus scan")
            .And.Contain($"{saliencies} word saliencies, {kept} labels");
        using (var opened = FeatureAtlas.Open(atlas))
        {
            var labels = opened.Labels("chat:fake");
            labels.Values.Should().OnlyContain(l => l.Succeeded);
            saliencies.Should().Be(labels.Count, "saliency had finished for every latent before labelling began");
            resumed.Requests.Should().HaveCount(labels.Count - kept, "the second run asks only for the labels the first did not get");
        }

        File.Exists(checkpointPath).Should().BeFalse("a finished run leaves no checkpoint");
    }
}
