using System.CommandLine;
using System.Globalization;
using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;
using SaeMl.Search;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml explain</c>: a query's top documents, and for each the latents that make its score (the exact
/// decomposition of the latent score, with labels from an atlas), or one query–document pair, retrieved or not.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model") { Description = "A model zip holding a SparseAutoencode transform", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus embeddings: a store folder (with ids.txt) or a .npy file (with --corpus-ids)", Required = true };
        var corpusIds = new Option<string?>("--corpus-ids") { Description = "Document ids, one per line in row order; without it, the store folder's ids.txt" };
        var texts = new Option<string?>("--texts") { Description = "The corpus texts (MS MARCO .tsv, BEIR .jsonl or folder), to show the documents" };
        var atlas = new Option<string?>("--atlas") { Description = "A feature atlas of this model (saeml interpret), for the latents' labels" };
        var document = new Option<string?>("--doc") { Description = "Explain this one document (retrieved or not) instead of the top k" };
        var k = CliOptions.PositiveInt("--k", "Documents explained", 5);
        var terms = CliOptions.PositiveInt("--terms", "Latents shown per document", 5);
        var query = new QueryInput(new TextModelOptions());
        var device = CliOptions.Device();
        var command = new Command("explain", "Shows which latents make a query's scores for its top documents, or for one document")
        {
            model, corpus, corpusIds, texts, atlas, document, k, terms, device,
        };
        foreach (var option in query.All)
            command.Options.Add(option);
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            query.Validate(parse);
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);

            using var transformer = SparseAutoencoderTransformer.Load(parse.GetValue(model)!, computeDevice);
            var autoencoder = transformer.Autoencoder;
            using var store = EmbeddingStore.Open(parse.GetValue(corpus)!);
            var ids = store.LoadIds(parse.GetValue(corpusIds));
            using var labels = parse.GetValue(atlas) is { } atlasPath ? FeatureAtlas.Open(atlasPath) : null;
            if (labels is not null && labels.ModelIdentity != FeatureAtlas.IdentityOf(autoencoder))
                throw new ArgumentException($"--atlas '{labels.Path}' was made for another autoencoder than --model.");
            var names = labels is null ? new Dictionary<int, string>() : labels.Labels().ToDictionary(l => l.Key, l => l.Value.Text);
            var queryVector = query.Vector(parse, computeDevice);
            if (queryVector.Length != store.Dimension)
                throw new ArgumentException($"The query embeds to {queryVector.Length} values, but --corpus '{store.Name}' holds vectors of {store.Dimension}.");

            long[] rows;
            if (parse.GetValue(document) is { } documentId)
            {
                if (!ids.TryGetRow(documentId, out var row))
                    throw new ArgumentException($"--doc '{documentId}' is not among the {ids.Count:N0} ids of --corpus '{store.Name}'.");
                rows = [row];
            }
            else
            {
                rows = ExactSearch.Search(queryVector, store, new ExactSearchOptions { K = parse.GetValue(k), Device = computeDevice }, cancellationToken: cancellationToken).RowsOf(0).ToArray();
            }

            var vectors = new float[(rows.Length + 1) * store.Dimension];
            queryVector.CopyTo(vectors, 0);
            for (var i = 0; i < rows.Length; i++)
                store.ReadRows(rows[i], vectors.AsSpan((i + 1) * store.Dimension, store.Dimension));
            var codes = autoencoder.Encode(vectors);
            var weights = autoencoder.GetWeights();
            var snippets = parse.GetValue(texts) is { } textPath ? TextInputs.Titles(textPath, rows.Select(r => ids[r]).ToHashSet()) : [];

            console.MarkupLine($"Query: [bold]{Markup.Escape(query.Name(parse))}[/]; its latents: {Markup.Escape(string.Join(", ", TopLatents(codes, 0, names).Take(parse.GetValue(terms))))}");
            for (var i = 0; i < rows.Length; i++)
            {
                var d = store.Dimension;
                var dense = TensorPrimitives.Dot(queryVector, vectors.AsSpan((i + 1) * d, d));
                var latentTerms = ScoreExplanation.LatentScore(codes, 0, codes, i + 1);
                var latentScore = latentTerms.Sum(t => t.Contribution);
                var reconstructed = ScoreExplanation.Reconstructed(weights, codes, 0, codes, i + 1);
                var rank = parse.GetValue(document) is null ? (i + 1).ToString(CultureInfo.InvariantCulture) : RankOf(store, queryVector, dense).ToString("N0", CultureInfo.InvariantCulture);
                var documentName = ids[rows[i]] + (snippets.TryGetValue(ids[rows[i]], out var snippet) ? $"  {snippet}" : "");
                var table = new Table().Title(Markup.Escape($"#{rank} {documentName}"))
                    .AddColumns("latent", "label", "query", "document", "term", "share of the latent score");
                foreach (var term in latentTerms.Take(parse.GetValue(terms)))
                {
                    table.AddRow(term.Latent.ToString(CultureInfo.InvariantCulture), Markup.Escape(names.GetValueOrDefault(term.Latent, "")),
                        F(term.QueryValue), F(term.DocumentValue), F(term.Contribution), latentScore == 0 ? "–" : (term.Contribution / latentScore).ToString("P1", CultureInfo.InvariantCulture));
                }

                console.Write(table);
                console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"dense score {dense:F4}; reconstructed {reconstructed.Total:F4} ({reconstructed.ShareOf(dense):P1} of it: latent pairs {reconstructed.Pairs.Sum(p => p.Contribution):F4}, decoder bias {reconstructed.QueryBias + reconstructed.DocumentBias + reconstructed.BiasBias:F4}); "
                    + $"latent score {latentScore:F4} from {latentTerms.Count} shared latents (the terms shown sum to {latentTerms.Take(parse.GetValue(terms)).Sum(t => t.Contribution):F4})."));
                if (parse.GetValue(document) is not null)
                {
                    var documentLatents = codes.IndicesOf(i + 1).ToArray().ToHashSet();
                    var missing = TopLatents(codes, 0, names).Where(l => !documentLatents.Contains(int.Parse(l.Split(' ')[0], CultureInfo.InvariantCulture))).Take(parse.GetValue(terms)).ToList();
                    console.MarkupLine($"The query's strongest latents that the document lacks: {Markup.Escape(missing.Count == 0 ? "none" : string.Join(", ", missing))}.");
                }
            }

            return 0;
        }));
        return command;
    }

    private static string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>A row's firing latents, strongest first, as "latent (label)".</summary>
    private static IEnumerable<string> TopLatents(SparseCodes codes, int row, IReadOnlyDictionary<int, string> names)
    {
        var indices = codes.IndicesOf(row).ToArray();
        var values = codes.ValuesOf(row).ToArray();
        return Enumerable.Range(0, indices.Length).Where(k => values[k] > 0).OrderByDescending(k => values[k])
            .Select(k => names.TryGetValue(indices[k], out var name) ? $"{indices[k]} ({name})" : indices[k].ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>1 + the number of documents whose dense score beats <paramref name="score"/>.</summary>
    private static long RankOf(EmbeddingStore store, float[] query, float score)
    {
        long better = 0;
        foreach (var batch in store.ReadBatches(4096))
        {
            var values = batch.Values.Span;
            for (var i = 0; i < batch.RowCount; i++)
                better += TensorPrimitives.Dot(query, values.Slice(i * store.Dimension, store.Dimension)) > score ? 1 : 0;
        }

        return better + 1;
    }
}
