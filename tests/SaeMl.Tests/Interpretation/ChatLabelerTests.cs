using Microsoft.Extensions.AI;
using SaeMl.Interpretation;

namespace SaeMl.Tests.Interpretation;

/// <summary>The LLM labeler against a fake chat client that records its prompts; no network.</summary>
public sealed class ChatLabelerTests
{
    [Fact]
    public async Task The_prompt_shows_documents_with_salient_words_marked_and_the_answer_is_parsed()
    {
        var client = new FakeChatClient(_ => "Label: weather, storms, rain.\nBecause the documents describe storms.");
        var labeler = new ChatLabeler(client, model: "tiny-model");
        var label = await labeler.LabelAsync(Examples(3));
        label.Should().Be(new FeatureLabel(3, "chat:tiny-model", "weather, storms, rain"));
        client.Prompts.Should().ContainSingle();
        var prompt = client.Prompts[0];
        prompt.Should().Contain("heavy «rain» fell on the coast").And.Contain("a «storm» came").And.Contain("(activation 0.25)").And.Contain("weakest first");
        client.Options[0]!.ModelId.Should().Be("tiny-model");
        ChatLabeler.ParseLabel("**Label:** \"taxes, budgets\".").Should().Be("taxes, budgets");
        ChatLabeler.ParseLabel("I'm sorry, I can't help with that.").Should().BeNull("a refusal is not a label");
        ChatLabeler.ParseLabel("Label:   ").Should().BeNull();
    }

    [Fact]
    public async Task A_failing_or_slow_endpoint_costs_only_its_latent_with_a_clear_error()
    {
        var client = new FakeChatClient(prompt => prompt.Contains("latent-2") ? throw new HttpRequestException("503 Service Unavailable")
            : prompt.Contains("latent-3") ? null : prompt.Contains("latent-5") ? "I cannot label this." : "Label: fine");
        var labeler = new ChatLabeler(client, timeout: TimeSpan.FromMilliseconds(300));
        var labels = new List<FeatureLabel>();
        foreach (var latent in new[] { 1, 2, 3, 4, 5 })
            labels.Add(await labeler.LabelAsync(Examples(latent)));
        labels.Select(l => l.Succeeded).Should().Equal(true, false, false, true, false);
        labels[1].Error.Should().Contain("503 Service Unavailable");
        labels[2].Error.Should().Contain("no answer within 0.3 s");
        labels[3].Text.Should().Be("fine");
        labels[4].Error.Should().Contain("without a 'Label:' line").And.Contain("I cannot label this.");
        FluentActions.Invoking(() => new ChatLabeler(client, timeout: TimeSpan.Zero)).Should().Throw<ArgumentOutOfRangeException>();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await FluentActions.Awaiting(() => labeler.LabelAsync(Examples(5), cancelled.Token)).Should().ThrowAsync<OperationCanceledException>("the caller's own cancellation is not a per-latent error");
    }

    private static LabelingExamples Examples(int latent) => new(
        latent,
        [new LabelingExample($"heavy rain fell on the coast latent-{latent}", 0.9f, ["rain"]), new LabelingExample("a storm came", 0.5f, ["storm"])],
        [new LabelingExample("cloudy morning", 0.25f, [])]);

    /// <summary>Answers with <paramref name="answer"/>(prompt); a null answer waits until cancelled.</summary>
    internal sealed class FakeChatClient(Func<string, string?> answer) : IChatClient
    {
        public List<string> Prompts { get; } = [];

        public List<ChatOptions?> Options { get; } = [];

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var prompt = messages.Last().Text;
            lock (Prompts)
            {
                Prompts.Add(prompt);
                Options.Add(options);
            }

            var text = answer(prompt);
            if (text is null)
                await Task.Delay(Timeout.Infinite, cancellationToken);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, text));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The labeler asks for whole responses.");

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
