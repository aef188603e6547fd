using System.Globalization;
using System.Text.RegularExpressions;
using SaeMl.Tests.Cli;

namespace SaeMl.Tests;

/// <summary>Every program of examples/SaeMl.Examples runs as a user would run it, in its own process, and prints what its comments promise.</summary>
public sealed class ExamplesTests
{
    [Fact]
    public async Task Exact_search_ranks_each_query_s_nearest_document_first_and_writes_a_run()
    {
        var run = await CliProcess.RunExampleAsync("exact-search");

        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().Contain("query 0: d0 (0.90), d2 (0.70)").And.Contain("query 1: d3 (1.00), d2 (0.70)").And.Contain("TREC run written to")
            .And.Contain("in memory: the same rows as from the store: True");
    }

    [Fact]
    public async Task Embed_text_finds_the_two_weather_passages_the_most_similar_pair()
    {
        var run = await CliProcess.RunExampleAsync("embed-text");

        run.ExitCode.Should().Be(0, run.Error);
        var cosines = Regex.Matches(run.Output, @"cosine\(""(?<a>[^""]+)"", ""(?<b>[^""]+)""\) = (?<v>-?[0-9.]+)")
            .ToDictionary(m => (m.Groups["a"].Value, m.Groups["b"].Value), m => double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture));
        cosines.Should().HaveCount(3);
        cosines.MaxBy(c => c.Value).Key.Should().Be(("rain and thunder in the forecast", "storm clouds and drizzle"));
    }

    [Fact]
    public async Task Train_evaluate_trains_the_paper_s_objective_from_texts_and_its_latents_keep_most_of_the_retrieval()
    {
        var run = await CliProcess.RunExampleAsync("train-evaluate");

        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().Contain("objective: FVU + 1 × (KL (the paper's) + 10 × latent-score KL) over each row's 32 neighbor documents").And.Contain("neighbors by exact search over the 1,000 training rows");
        var original = double.Parse(Regex.Match(run.Output, @"original embeddings: MRR@10 (?<v>[0-9.]+)").Groups["v"].Value, CultureInfo.InvariantCulture);
        var kept = double.Parse(Regex.Match(run.Output, @"\((?<v>[0-9.]+) % of the MRR@10 kept\)").Groups["v"].Value, CultureInfo.InvariantCulture);
        original.Should().BeGreaterThan(0.8, "the demo world's queries find their documents");
        kept.Should().BeGreaterThan(80, "the latents keep most of the retrieval (94.0 % when last run, with 32 neighbours per row)");
    }

    [Fact]
    public async Task An_unknown_example_prints_the_usage_and_exits_2()
    {
        var run = await CliProcess.RunExampleAsync("no-such-example");

        run.ExitCode.Should().Be(2);
        run.Error.Should().Contain("exact-search|embed-text|train-evaluate|steer-text");
    }
}
