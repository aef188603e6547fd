using System.Text;
using Microsoft.Extensions.AI;

namespace SaeMl.Interpretation;

/// <summary>
/// Labels latents with a language model through any <see cref="IChatClient"/> (an OpenAI-compatible
/// endpoint, a local server, a test double): the prompt shows the top documents and examples across
/// the activation range with their salient words marked «like this», and asks for a short label.
/// </summary>
/// <remarks>
/// The client is built by the caller, so endpoint and key never pass through SaeMl; <see cref="Name"/>
/// holds only the model's name. A failing, refusing or slow endpoint yields a <see cref="FeatureLabel"/>
/// with the error for that latent; labels already obtained are unaffected.
/// </remarks>
public sealed class ChatLabeler : IFeatureLabeler
{
    private readonly IChatClient _client;

    /// <summary>A labeler asking <paramref name="client"/>.</summary>
    /// <param name="client">The chat client; its endpoint, model and key are its own.</param>
    /// <param name="model">The model's name, recorded with each label (null: the client's default).</param>
    /// <param name="timeout">How long one latent may take.</param>
    /// <param name="documentCharacters">Each example is cut to this many characters in the prompt.</param>
    public ChatLabeler(IChatClient client, string? model = null, TimeSpan? timeout = null, int documentCharacters = 400)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(documentCharacters);
        if (timeout is { } given && given <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), given, "The time a latent may take must be positive.");
        _client = client;
        Model = model;
        Timeout = timeout ?? TimeSpan.FromSeconds(60);
        DocumentCharacters = documentCharacters;
    }

    /// <summary>The model asked, or null for the client's default.</summary>
    public string? Model { get; }

    /// <summary>How long one latent may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The prompt's characters per example.</summary>
    public int DocumentCharacters { get; }

    /// <inheritdoc/>
    public string Name => "chat:" + (Model ?? "default");

    /// <inheritdoc/>
    public async Task<FeatureLabel> LabelAsync(LabelingExamples examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        cancellationToken.ThrowIfCancellationRequested();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var response = await _client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, Instructions), new ChatMessage(ChatRole.User, Prompt(examples))],
                new ChatOptions { ModelId = Model, Temperature = 0 },
                timeout.Token).ConfigureAwait(false);
            var label = ParseLabel(response.Text);
            return label is null
                ? new FeatureLabel(examples.Latent, Name, string.Empty, $"The model answered without a 'Label:' line: \"{Shorten(response.Text)}\"")
                : new FeatureLabel(examples.Latent, Name, label);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new FeatureLabel(examples.Latent, Name, string.Empty, $"The model gave no answer within {Timeout.TotalSeconds:0.#} s.");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new FeatureLabel(examples.Latent, Name, string.Empty, $"The model call failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>What the model is told once per latent.</summary>
    public const string Instructions =
        "You name the concept that one feature of a text-embedding model detects. You see documents on which the feature fires, "
        + "strongest first, then documents across its range of activation; the words that drive the feature most are marked «like this». "
        + "Answer with one line: 'Label: ' followed by three to six lower-case keywords separated by commas, most central first.";

    /// <summary>The user message for one latent.</summary>
    public string Prompt(LabelingExamples examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var prompt = new StringBuilder();
        prompt.Append("Top-activating documents:\n");
        Append(examples.TopDocuments);
        if (examples.QuantileExamples.Count > 0)
        {
            prompt.Append("\nDocuments across the activation range, weakest first:\n");
            Append(examples.QuantileExamples);
        }

        return prompt.ToString();

        void Append(IEnumerable<LabelingExample> documents)
        {
            var number = 0;
            foreach (var document in documents)
                prompt.Append($"{++number}. (activation {document.Activation:0.###}) {Mark(document)}\n");
        }
    }

    /// <summary>
    /// The label from an answer: the text after "Label:" on the first line that starts with it (markdown
    /// emphasis, quotes and a final full stop removed), or null when no line does, as when the model refuses.
    /// </summary>
    public static string? ParseLabel(string? answer)
    {
        foreach (var raw in (answer ?? string.Empty).Split('\n'))
        {
            var line = raw.Replace("*", string.Empty, StringComparison.Ordinal).Replace("`", string.Empty, StringComparison.Ordinal).Trim();
            if (!line.StartsWith("label:", StringComparison.OrdinalIgnoreCase))
                continue;
            var label = line["label:".Length..].Trim().TrimEnd('.').Trim('"', '\'', ' ').TrimEnd('.').Trim();
            return label.Length == 0 ? null : label;
        }

        return null;
    }

    private static string Shorten(string? text)
    {
        var flat = (text ?? string.Empty).ReplaceLineEndings(" ").Trim();
        return flat.Length <= 80 ? flat : flat[..80] + "…";
    }

    private string Mark(LabelingExample document)
    {
        var salient = new HashSet<string>(document.SalientWords, StringComparer.OrdinalIgnoreCase);
        var words = document.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var text = new StringBuilder();
        foreach (var word in words)
        {
            if (text.Length >= DocumentCharacters)
            {
                text.Append(" …");
                break;
            }

            if (text.Length > 0)
                text.Append(' ');
            text.Append(salient.Contains(word) ? $"«{word}»" : word);
        }

        return text.ToString();
    }
}
