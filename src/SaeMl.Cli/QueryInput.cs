using System.CommandLine;
using SaeMl.Compute;
using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>
/// One query a command starts from: a text embedded by the command's model (<c>--query</c> with
/// <see cref="TextModelOptions"/>), or the embedding of an id in a query store (<c>--query-id</c> with
/// <c>--queries</c>, and <c>--query-ids</c> when the store has no ids.txt).
/// </summary>
internal sealed class QueryInput
{
    public QueryInput(TextModelOptions model) => Model = model;

    public TextModelOptions Model { get; }

    public Option<string?> Text { get; } = new("--query") { Description = "The query as text (needs --embedder, or --onnx with --vocab)" };

    public Option<string?> Id { get; } = new("--query-id") { Description = "The query as an id of --queries" };

    public Option<string?> Store { get; } = new("--queries") { Description = "Query embeddings holding --query-id (ids beside them, or --query-ids)" };

    public Option<string?> Ids { get; } = new("--query-ids") { Description = "Ids of the --queries rows" };

    /// <summary>These options and the model's.</summary>
    public IEnumerable<Option> All => [Text, Id, Store, Ids, .. Model.All];

    /// <summary>The paths these options read (the query store, its ids and the model's files), for the input checks.</summary>
    public IEnumerable<(string? Path, string Flag)> Inputs(ParseResult parse) =>
        [(parse.GetValue(Store), "--queries"), (parse.GetValue(Ids), "--query-ids"), .. Model.Inputs(parse)];

    /// <summary>What names the query, for messages: its text or its id.</summary>
    public string Name(ParseResult parse) => parse.GetValue(Text) ?? parse.GetValue(Id)!;

    /// <summary>Usage errors: no query or two, an id without its store, a text without a model.</summary>
    public void Validate(ParseResult parse)
    {
        Model.Validate(parse);
        var text = parse.GetValue(Text);
        var id = parse.GetValue(Id);
        if ((text is null) == (id is null))
            throw new UsageException("Name the query once: --query TEXT or --query-id ID (with --queries).");
        if (id is not null && parse.GetValue(Store) is null)
            throw new UsageException("--query-id needs --queries: the store that holds the query's embedding.");
        if (text is not null && !Model.Given(parse))
            throw new UsageException("A text query needs one embedding model: --embedder ZIP, or --onnx MODEL with --vocab.");
    }

    /// <summary>How the query was embedded, for the output: read from the store, or the model's query-side settings.</summary>
    public string Source(ParseResult parse) => parse.GetValue(Id) is not null ? $"read from --queries '{parse.GetValue(Store)}'" : Model.DescribeQuerySide(parse);

    /// <summary>The query's embedding: read from the store, or the text embedded on the model's query side.</summary>
    public float[] Vector(ParseResult parse, ComputeDevice device)
    {
        if (parse.GetValue(Id) is { } id)
        {
            using var store = EmbeddingStore.Open(parse.GetValue(Store)!);
            var ids = store.LoadIds(parse.GetValue(Ids));
            if (!ids.TryGetRow(id, out var row))
                throw new ArgumentException($"--query-id '{id}' is not among the {ids.Count:N0} ids of --queries '{store.Name}'.");
            var vector = new float[store.Dimension];
            store.ReadRows(row, vector);
            return vector;
        }

        var (_, queries, owner) = Model.Create(parse, device);
        using (owner)
        {
            var embedded = new float[queries.Dimension];
            queries.Embed([parse.GetValue(Text)!], embedded);
            return embedded;
        }
    }
}
