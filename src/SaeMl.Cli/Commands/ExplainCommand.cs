using System.CommandLine;
using System.Globalization;
using System.Numerics.Tensors;
using SaeMl.Autoencoder;
using SaeMl.Cli.Reports;
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
        var html = new Option<string?>("--html") { Description = "Also write the explanation as a self-contained HTML page to this file" };
        var overwrite = CliOptions.Overwrite();
        var query = new QueryInput(new TextModelOptions());
        var device = CliOptions.Device();
        var command = new Command("explain", "Shows which latents make a query's scores for its top documents, or for one document")
        {
            model, corpus, corpusIds, texts, atlas, document, k, terms, html, overwrite, device,
        };
        foreach (var option in query.All)
            command.Options.Add(option);
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            query.Validate(parse);
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            var files = new CommandFiles().Reads(parse.GetValue(model), "--model").Reads(parse.GetValue(corpus), "--corpus")
                .Reads(parse.GetValue(corpusIds), "--corpus-ids").Reads(parse.GetValue(texts), "--texts").Reads(parse.GetValue(atlas), "--atlas");
            foreach (var (path, flag) in query.Inputs(parse))
                files.Reads(path, flag);
            using var locks = files.Writes(parse.GetValue(html), "--html").Check(parse.GetValue(overwrite));

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

            var shown = parse.GetValue(terms);
            var explained = new List<ExplainedDocument>(rows.Length);
            for (var i = 0; i < rows.Length; i++)
            {
                var d = store.Dimension;
                var dense = TensorPrimitives.Dot(queryVector, vectors.AsSpan((i + 1) * d, d));
                var documentLatents = codes.IndicesOf(i + 1).ToArray().ToHashSet();
                explained.Add(new ExplainedDocument(
                    parse.GetValue(document) is null ? (i + 1).ToString(CultureInfo.InvariantCulture) : RankOf(store, queryVector, dense).ToString("N0", CultureInfo.InvariantCulture),
                    ids[rows[i]], snippets.GetValueOrDefault(ids[rows[i]]), dense,
                    ScoreExplanation.Reconstructed(weights, codes, 0, codes, i + 1), ScoreExplanation.LatentScore(codes, 0, codes, i + 1),
                    parse.GetValue(document) is null ? null : [.. TopLatents(codes, 0).Where(l => !documentLatents.Contains(l)).Take(shown)]));
            }

            var queryLatents = TopLatents(codes, 0).ToList();
            console.MarkupLine($"Query: [bold]{Markup.Escape(query.Name(parse))}[/] ({Markup.Escape(query.Source(parse))}); its latents: {Markup.Escape(string.Join(", ", queryLatents.Take(shown).Select(l => Named(l, names))))}");
            foreach (var item in explained)
            {
                var table = new Table().Title(Markup.Escape($"#{item.Rank} {item.Id}" + (item.Snippet is { } snippet ? $"  {snippet}" : "")))
                    .AddColumns("latent", "label", "query", "document", "term", "share of the latent score");
                foreach (var term in item.Terms.Take(shown))
                {
                    table.AddRow(term.Latent.ToString(CultureInfo.InvariantCulture), Markup.Escape(names.GetValueOrDefault(term.Latent, "")),
                        F(term.QueryValue), F(term.DocumentValue), F(term.Contribution), item.LatentScore == 0 ? "–" : (term.Contribution / item.LatentScore).ToString("P1", CultureInfo.InvariantCulture));
                }

                console.Write(table);
                var reconstructed = item.Reconstructed;
                console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"dense score {item.Dense:F4}; reconstructed {reconstructed.Total:F4} ({reconstructed.ShareOf(item.Dense):P1} of it: latent pairs {reconstructed.Pairs.Sum(p => p.Contribution):F4}, decoder bias {reconstructed.QueryBias + reconstructed.DocumentBias + reconstructed.BiasBias:F4}); "
                    + $"latent score {item.LatentScore:F4} from {item.Terms.Count} shared latents (the terms shown sum to {item.Terms.Take(shown).Sum(t => t.Contribution):F4})."));
                if (item.MissingLatents is { } missing)
                    console.MarkupLine($"The query's strongest latents that the document lacks: {Markup.Escape(missing.Count == 0 ? "none" : string.Join(", ", missing.Select(l => Named(l, names))))}.");
            }

            if (parse.GetValue(html) is { } page)
            {
                ExplainPage.Write(page, query.Name(parse), queryLatents.Take(shown).ToList(), explained, names, shown);
                console.MarkupLine($"Wrote [link]{Markup.Escape(page)}[/].");
            }

            return 0;
        }));
        return command;
    }

    private static string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>A row's firing latents, strongest first.</summary>
    private static IEnumerable<int> TopLatents(SparseCodes codes, int row)
    {
        var indices = codes.IndicesOf(row).ToArray();
        var values = codes.ValuesOf(row).ToArray();
        return Enumerable.Range(0, indices.Length).Where(k => values[k] > 0).OrderByDescending(k => values[k]).Select(k => indices[k]);
    }

    /// <summary>"latent (label)", or the latent alone without a label.</summary>
    private static string Named(int latent, IReadOnlyDictionary<int, string> names) =>
        names.TryGetValue(latent, out var name) ? $"{latent} ({name})" : latent.ToString(CultureInfo.InvariantCulture);

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
