using System.Globalization;
using System.Text.Json.Nodes;
using SaeMl.Demo;
using SaeMl.Interpretation;
using SaeMl.Tests.Cli;

namespace SaeMl.Tests.Reports;

/// <summary>
/// The HTML feature report and the explain page of a small world, opened in headless Chromium: what the tests check is
/// the rendered page (rows, drawn histograms, the filter box and sorting at work, no script errors), and that text
/// from the data (document texts and labels holding markup) renders as text.
/// </summary>
public sealed class FeatureReportTests : IDisposable
{
    private const string Payload = """<script>alert(1)</script> &<>"'""";
    private const string MaliciousLabel = """<img src=x onerror=alert(2)> & "quoted" 'label' rain""";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string World => _folder.File("world");

    private string[] Onnx => ["--onnx", Path.Combine(World, DemoWorld.ModelFile), "--vocab", Path.Combine(World, DemoWorld.VocabularyFile)];

    /// <summary>The small world with its atlas and report; every document's title starts with markup, and one label is markup.</summary>
    private async Task<(string Store, string Model, string Atlas, string Report)> InterpretAsync()
    {
        var (store, model) = SmallWorldModel.Prepare(_folder, epochs: 4);
        var corpus = Path.Combine(World, "corpus.jsonl");
        File.WriteAllLines(corpus, File.ReadAllLines(corpus).Select(line =>
        {
            var record = JsonNode.Parse(line)!;
            record["title"] = Payload + " " + (string?)record["title"];
            return record.ToJsonString();
        }));
        var (atlas, report) = (_folder.File("atlas.sqlite"), _folder.File("report"));
        using var server = new FakeOpenAiServer(request => request == 0 ? $"Label: {MaliciousLabel}" : $"Label: label{request:D3} weather");
        var run = await CliProcess.RunSeparatelyAsync(["interpret", "--model", model, "--corpus", store, "--texts", World, "--output", atlas, "--latents", "all",
            "--labeler", "llm", "--llm-endpoint", server.Endpoint, "--llm-model", "fake", "--report", report, "--preview-query", "rain and storms", .. Onnx, "--device", "cpu"]);
        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().Contain("Wrote the report");
        return (store, model, atlas, report);
    }

    [Fact]
    public async Task The_report_renders_its_latents_histograms_a_working_filter_and_sorting_with_data_shown_as_text()
    {
        var (_, _, atlasPath, report) = await InterpretAsync();
        int[] latents;
        FeatureCard first;
        using (var atlas = FeatureAtlas.Open(atlasPath))
        {
            latents = [.. atlas.InterpretedLatents()];
            first = atlas.Card(latents[0]);
        }

        latents.Length.Should().BeGreaterThan(10);
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.OpenAsync(Path.Combine(report, "index.html"));

        async Task<int> Visible() => (int)(await browser.EvaluateAsync("document.querySelectorAll('tr.latent:not([hidden])').length"))!;
        (await browser.EvaluateAsync("document.querySelectorAll('tr.latent').length"))!.GetValue<int>().Should().Be(latents.Length);
        (await Visible()).Should().Be(latents.Length);
        ((string?)await browser.EvaluateAsync("document.getElementById('shown').textContent")).Should().Be(latents.Length.ToString(CultureInfo.InvariantCulture));

        // Typing into the filter box narrows the list; clearing it brings every row back.
        await browser.TypeAsync("#filter", "label007");
        (await Visible()).Should().Be(1);
        ((string?)await browser.EvaluateAsync("document.querySelector('tr.latent:not([hidden])').dataset.label")).Should().Be("label007 weather");
        await browser.TypeAsync("#filter", "no-such-label");
        (await Visible()).Should().Be(0);
        ((string?)await browser.EvaluateAsync("document.getElementById('shown').textContent")).Should().Be("0");
        await browser.TypeAsync("#filter", "");
        (await Visible()).Should().Be(latents.Length);

        // A click on the frequency header sorts the rows by frequency, most frequent first; a second click reverses.
        await browser.ClickAsync("th[data-key=frequency]");
        var descending = (await browser.EvaluateAsync("Array.from(document.querySelectorAll('tr.latent')).map(r => parseFloat(r.dataset.frequency))"))!.AsArray().Select(v => (double)v!).ToList();
        descending.Should().BeInDescendingOrder().And.HaveCount(latents.Length);
        await browser.ClickAsync("th[data-key=frequency]");
        (await browser.EvaluateAsync("Array.from(document.querySelectorAll('tr.latent')).map(r => parseFloat(r.dataset.frequency))"))!.AsArray().Select(v => (double)v!)
            .Should().BeInAscendingOrder();

        // The markup label is text: no image element was made of it, and the cell reads it literally.
        (await browser.EvaluateAsync("document.querySelectorAll('img').length"))!.GetValue<int>().Should().Be(0);
        (await browser.EvaluateAsync("Array.from(document.querySelectorAll('td.label')).map(c => c.textContent)"))!.AsArray().Select(v => (string?)v)
            .Should().Contain(MaliciousLabel);
        (await browser.EvaluateAsync("Array.from(document.querySelectorAll('tr.latent')).map(r => r.dataset.label)"))!.AsArray().Select(v => (string?)v)
            .Should().Contain(MaliciousLabel, "the label survives in its attribute, escaped, not cut short by its quotes");
        (await browser.EvaluateAsync("document.scripts.length"))!.GetValue<int>().Should().Be(1, "the report's own script is the only one");

        // A number in the filter matches whole words: latent 1 is not every latent whose number holds a 1.
        var number = latents[1].ToString(CultureInfo.InvariantCulture);
        await browser.TypeAsync("#filter", number);
        (await browser.EvaluateAsync($"Array.from(document.querySelectorAll('tr.latent:not([hidden])')).map(r => r.dataset.latent)"))!.AsArray().Select(v => (string?)v)
            .Should().Contain(number);
        (await browser.EvaluateAsync($"Array.from(document.querySelectorAll('tr.latent:not([hidden])')).every(r => r.dataset.search.split(' ').includes('{number}'))"))!
            .GetValue<bool>().Should().BeTrue("every row left holds the number as a whole word");
        (await Visible()).Should().BeLessThan(latents.Length);
        await browser.TypeAsync("#filter", "");
        (await browser.EvaluateAsync("document.querySelectorAll('svg.zipf circle').length"))!.GetValue<int>().Should().BeGreaterThan(10, "Figure 3's points are drawn");

        // A latent's page: its histogram drawn bar by bar, documents with the markup shown as text, the steering preview.
        var latent = first.Latent;
        await browser.OpenAsync(Path.Combine(report, "latents", $"{latent}.html"));
        var filled = first.Histogram.Select((count, bin) => (count, bin)).Where(b => b.count > 0).Select(b => b.bin).ToList();
        (await browser.EvaluateAsync("document.querySelectorAll('svg.histogram rect').length"))!.GetValue<int>().Should().Be(filled[^1] - filled[0] + 1,
            "one bar per bin from the first filled bin to the last");
        (await browser.EvaluateAsync("Array.from(document.querySelectorAll('svg.histogram rect title')).map(t => t.textContent)"))!.AsArray()
            .Sum(t => long.Parse(((string)t!).Split(": ")[1].Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture))
            .Should().Be(first.FireCount, "the bars hold every document the latent fires in");
        (await browser.EvaluateAsync("Math.max(...Array.from(document.querySelectorAll('svg.histogram rect')).map(r => r.getBoundingClientRect().height))"))!
            .GetValue<double>().Should().BeGreaterThan(20, "the fullest bin is drawn tall");
        var texts = (await browser.EvaluateAsync("Array.from(document.querySelectorAll('.document .text')).map(e => e.textContent)"))!.AsArray().Select(v => (string)v!).ToList();
        texts.Should().NotBeEmpty().And.OnlyContain(t => t.StartsWith(Payload, StringComparison.Ordinal));
        (await browser.EvaluateAsync("document.scripts.length"))!.GetValue<int>().Should().Be(0);
        (await browser.EvaluateAsync("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"))!.AsArray().Select(v => (string?)v)
            .Should().Contain(["Activation histogram", "Top documents", "Related latents", "Steering preview"]);
        (await browser.EvaluateAsync("document.querySelectorAll('mark').length"))!.GetValue<int>().Should().BeGreaterThan(0, "salient words are highlighted");

        browser.Dialogs.Should().BeEmpty("no script from the data ran");
        browser.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task The_explain_page_shows_each_shared_latent_with_shares_that_add_up_to_the_latent_score_for_a_retrieved_and_a_missed_document()
    {
        var (store, model, atlas, _) = await InterpretAsync();
        var (top, missed) = (_folder.File("explain.html"), _folder.File("missed.html"));
        string[] common = ["explain", "--model", model, "--corpus", store, "--atlas", atlas, "--texts", World, "--query", "rain and storms", .. Onnx, "--device", "cpu"];
        (await CliProcess.RunSeparatelyAsync([.. common, "--k", "3", "--terms", "2", "--html", top])).ExitCode.Should().Be(0);
        (await CliProcess.RunSeparatelyAsync([.. common, "--doc", "D000299", "--html", missed])).ExitCode.Should().Be(0);

        await using var browser = await HeadlessChromium.StartAsync();
        await browser.OpenAsync(top);
        var sections = (await browser.EvaluateAsync("""
            Array.from(document.querySelectorAll('section.explained')).map(s => ({
              rows: Array.from(s.querySelectorAll('tr')).slice(1).map(r => Array.from(r.cells).map(c => c.textContent)),
              terms: s.querySelectorAll('tr.term').length,
              bars: s.querySelectorAll('tr.term .bar').length }))
            """))!.AsArray();
        sections.Should().HaveCount(3);
        foreach (var section in sections)
        {
            var rows = section!["rows"]!.AsArray().Select(r => r!.AsArray().Select(c => (string)c!).ToArray()).ToList();
            var total = rows[^1];
            total[0].Should().StartWith("all ").And.EndWith(" shared latents");
            total[4].Should().Be("100.0 %");
            var parts = rows[..^1];
            parts.Sum(r => double.Parse(r[3], CultureInfo.InvariantCulture)).Should().BeApproximately(double.Parse(total[3], CultureInfo.InvariantCulture), 0.0005 * parts.Count,
                "the terms shown and the rest add up to the latent score, within the rounding of each");
            parts.Sum(r => double.Parse(r[4].TrimEnd('%', ' '), CultureInfo.InvariantCulture)).Should().BeApproximately(100, 0.1 * parts.Count);
            var shared = int.Parse(total[0].Split(' ')[1], CultureInfo.InvariantCulture);
            ((int)section["terms"]!).Should().Be(Math.Min(2, shared));
            ((int)section["bars"]!).Should().Be((int)section["terms"]!, "each term's share is drawn");
        }

        await browser.OpenAsync(missed);
        var heading = (string)(await browser.EvaluateAsync("document.querySelector('section.explained h2').textContent"))!;
        heading.Should().Contain("D000299");
        int.Parse(heading[1..heading.IndexOf(' ', StringComparison.Ordinal)], NumberStyles.AllowThousands, CultureInfo.InvariantCulture).Should().BeGreaterThan(3, "the document was not retrieved in the top 3");
        ((string?)await browser.EvaluateAsync("document.body.textContent")).Should().Contain("The query's strongest latents that the document lacks");
        browser.Errors.Should().BeEmpty();
        browser.Dialogs.Should().BeEmpty();
    }
}
