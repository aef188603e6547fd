using System.CommandLine;
using SaeMl.Compute;
using SaeMl.Embedding;

namespace SaeMl.Cli;

/// <summary>
/// The options that name the embedding model a command embeds text with: a model zip holding an
/// EmbedText transform (<c>--embedder</c>), or an ONNX model with its vocabulary, pooling and query
/// instruction and length (<c>--onnx</c>, <c>--vocab</c>, <c>--pooling</c>, <c>--prefix</c>, <c>--max-tokens</c>).
/// </summary>
internal sealed class TextModelOptions
{
    public Option<string?> Embedder { get; } = new("--embedder") { Description = "A model zip with an EmbedText transform (an ML.NET pipeline the library saved; docs/embedding.md)" };

    public Option<string?> Onnx { get; } = new("--onnx") { Description = "An ONNX embedding model (with --vocab)" };

    public Option<string?> Vocabulary { get; } = new("--vocab") { Description = "The --onnx model's vocab.txt or tokenizer.json" };

    public Option<string> Pooling { get; } = new Option<string>("--pooling") { Description = "How the --onnx model's token vectors become one", DefaultValueFactory = _ => "cls" }
        .AcceptOnlyFromAmong("cls", "mean", "last-token");

    public Option<string> Prefix { get; } = new("--prefix") { Description = "Text put before queries with --onnx (a query instruction); documents get none", DefaultValueFactory = _ => string.Empty };

    public Option<int> MaxTokens { get; } = CliOptions.PositiveInt("--max-tokens", "Tokens per text with --onnx, special tokens included, as saeml embed took them", TextEmbedderOptions.Defaults.MaxTokens);

    public IEnumerable<Option> All => [Embedder, Onnx, Vocabulary, Pooling, Prefix, MaxTokens];

    /// <summary>Whether a model is named.</summary>
    public bool Given(ParseResult parse) => parse.GetValue(Embedder) is not null || parse.GetValue(Onnx) is not null;

    /// <summary>Usage errors: both kinds named, or an ONNX model without its vocabulary.</summary>
    public void Validate(ParseResult parse)
    {
        if (parse.GetValue(Embedder) is not null && parse.GetValue(Onnx) is not null)
            throw new UsageException("Name one embedding model: --embedder ZIP or --onnx MODEL with --vocab, not both.");
        if (parse.GetValue(Onnx) is not null && parse.GetValue(Vocabulary) is null)
            throw new UsageException("--onnx needs --vocab: the model's vocab.txt or tokenizer.json.");
    }

    /// <summary>
    /// How a query is embedded, e.g. <c>embedded by model.onnx: cls pooling, at most 512 tokens, no query prefix</c>: what must match
    /// how <c>saeml embed</c> embedded the queries the corpus was searched with, and which no file records.
    /// </summary>
    public string DescribeQuerySide(ParseResult parse) => parse.GetValue(Embedder) is { } zip
        ? $"embedded by the pipeline in '{Path.GetFileName(zip)}'"
        : $"embedded by '{Path.GetFileName(parse.GetValue(Onnx))}': {parse.GetValue(Pooling)} pooling, at most {parse.GetValue(MaxTokens)} tokens, "
          + (parse.GetValue(Prefix) is { Length: > 0 } prefix ? $"query prefix \"{prefix}\"" : "no query prefix");

    /// <summary>The model's paths, for the input checks.</summary>
    public IEnumerable<(string? Path, string Flag)> Inputs(ParseResult parse) =>
        [(parse.GetValue(Embedder), "--embedder"), (parse.GetValue(Onnx), "--onnx"), (parse.GetValue(Vocabulary), "--vocab")];

    /// <summary>
    /// The document-side and query-side embedders. From a zip they are the same embedder (its own prefix);
    /// from an ONNX model, the query side puts <c>--prefix</c> first. Dispose the returned owner.
    /// </summary>
    public (TextEmbedder Documents, TextEmbedder Queries, IDisposable Owner) Create(ParseResult parse, ComputeDevice device)
    {
        var fallback = device.Kind == DeviceKind.Auto;
        if (parse.GetValue(Embedder) is { } zip)
        {
            var transformer = TextEmbeddingTransformer.Load(zip, device, fallback);
            return (transformer.Embedder, transformer.Embedder, transformer);
        }

        TextEmbedder Side(string prefix) => TextEmbedder.Create(new TextEmbedderOptions
        {
            ModelPath = parse.GetValue(Onnx)!,
            VocabularyPath = parse.GetValue(Vocabulary)!,
            Pooling = parse.GetValue(Pooling) switch { "mean" => EmbeddingPooling.Mean, "last-token" => EmbeddingPooling.LastToken, _ => EmbeddingPooling.Cls },
            Prefix = prefix,
            MaxTokens = parse.GetValue(MaxTokens),
            Device = device,
            AllowCpuFallback = fallback,
        });
        var documents = Side(string.Empty);
        var queries = parse.GetValue(Prefix) is { Length: > 0 } prefix ? Side(prefix) : documents;
        return (documents, queries, new Both(documents, queries));
    }

    private sealed class Both(TextEmbedder documents, TextEmbedder queries) : IDisposable
    {
        public void Dispose()
        {
            documents.Dispose();
            if (!ReferenceEquals(documents, queries))
                queries.Dispose();
        }
    }
}
