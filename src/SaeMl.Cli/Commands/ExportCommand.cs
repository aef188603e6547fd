using System.CommandLine;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interop;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml export</c>, written as a folder: a corpus's sparse latents for a search engine (Elasticsearch,
/// OpenSearch or Qdrant: the index definition, the documents streamed batch by batch, and the queries'
/// search requests), or the model itself as ONNX (encoder and decoder) or as safetensors in the layout of
/// Python's SAE libraries.
/// </summary>
internal static class ExportCommand
{
    private static readonly string[] OwnFiles =
    [
        "mapping.json", "collection.json", "documents.ndjson", "points.jsonl", "queries.msearch.ndjson", "queries.jsonl", "query-ids.txt",
        "encoder.onnx", "decoder.onnx", SparseAutoencoderSafetensors.WeightsFileName, SparseAutoencoderSafetensors.ConfigFileName,
    ];

    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model") { Description = "A model zip holding a SparseAutoencode transform (as saeml train writes)", Required = true };
        var format = new Option<string>("--format") { Description = "A search engine's format for the corpus's latents, or the model as ONNX or safetensors", Required = true }
            .AcceptOnlyFromAmong("elasticsearch", "opensearch", "qdrant", "onnx", "safetensors");
        var corpus = new Option<string?>("--corpus") { Description = "Corpus embeddings: a .npy file or a store folder (search-engine formats)" };
        var corpusIds = new Option<string?>("--corpus-ids") { Description = "Document ids, one per line in row order; without it, the store folder's ids.txt" };
        var queries = new Option<string?>("--queries") { Description = "Query embeddings whose search requests to write too" };
        var size = CliOptions.PositiveInt("--size", "Documents each search request asks for", 10);
        var index = new Option<string>("--index") { Description = "The index the bulk and search lines name (Elasticsearch, OpenSearch)", DefaultValueFactory = _ => new SearchEngineExportOptions().IndexName };
        var field = new Option<string>("--field") { Description = "The field, or Qdrant's sparse vector name, that holds the latents", DefaultValueFactory = _ => new SearchEngineExportOptions().FieldName };
        var output = new Option<string>("--output") { Description = "The folder to write", Required = true };
        var overwrite = CliOptions.Overwrite();
        var device = CliOptions.Device();
        var command = new Command("export", "Writes a corpus's sparse latents for Elasticsearch, OpenSearch or Qdrant, or the model as ONNX or safetensors")
        {
            model, format, corpus, corpusIds, queries, size, index, field, output, overwrite, device,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var folder = parse.GetValue(output)!;
            var formatName = parse.GetValue(format)!;
            Option[] corpusOptions = [corpus, corpusIds, queries, size, index, field];
            var modelOnly = formatName is "onnx" or "safetensors";
            if (modelOnly && corpusOptions.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                throw new UsageException($"{given.Name} applies to the search-engine formats; --format {formatName} exports the model alone.");
            if (!modelOnly && parse.GetValue(corpus) is null)
                throw new UsageException($"--format {formatName} exports a corpus's latents: name it with --corpus.");

            var options = new SearchEngineExportOptions { IndexName = parse.GetValue(index)!, FieldName = parse.GetValue(field)! };
            options.Validate();
            using var files = new CommandFiles()
                .Reads(parse.GetValue(model), "--model").Reads(parse.GetValue(corpus), "--corpus")
                .Reads(parse.GetValue(corpusIds), "--corpus-ids").Reads(parse.GetValue(queries), "--queries")
                .Writes(folder, "--output", foreign: f => Directory.EnumerateFileSystemEntries(f).FirstOrDefault(e => !OwnFiles.Contains(Path.GetFileName(e))))
                .Check(parse.GetValue(overwrite));
            if (modelOnly)
                return ExportModel(console, parse.GetValue(model)!, formatName, folder, ComputeDevice.Parse(parse.GetValue(device)!));

            var target = formatName switch
            {
                "elasticsearch" => SparseSearchEngine.Elasticsearch,
                "opensearch" => SparseSearchEngine.OpenSearch,
                _ => SparseSearchEngine.Qdrant,
            };
            using var corpusStore = EmbeddingStore.Open(parse.GetValue(corpus)!);
            var explicitIds = parse.GetValue(corpusIds);
            if (explicitIds is null && corpusStore.IdsPath is null)
                throw new ArgumentException($"Embedding store '{corpusStore.Name}' has no {EmbeddingStore.IdsFileName} beside it; name its ids with --corpus-ids.");
            var documentIds = corpusStore.LoadIds(explicitIds);
            using var queryStore = parse.GetValue(queries) is { } queryPath ? EmbeddingStore.Open(queryPath) : null;
            using var transformer = SparseAutoencoderTransformer.Load(parse.GetValue(model)!, ComputeDevice.Parse(parse.GetValue(device)!));
            var autoencoder = transformer.Autoencoder;
            var qdrant = target == SparseSearchEngine.Qdrant;

            var written = StagedFolder.Write(folder, staging =>
            {
                File.WriteAllText(Path.Combine(staging, qdrant ? "collection.json" : "mapping.json"), SearchEngineExport.IndexDefinition(target, options) + "\n");
                var documents = ProgressBars.Run(console, $"Exporting {corpusStore.Name}", report =>
                {
                    using var stream = new FileStream(Path.Combine(staging, qdrant ? "points.jsonl" : "documents.ndjson"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                    return SearchEngineExport.WriteDocuments(target, autoencoder, corpusStore, documentIds, stream, options,
                        new CallbackProgress<long>(rows => report(rows, corpusStore.RowCount)), cancellationToken);
                });
                if (queryStore is not null)
                {
                    using (var stream = new FileStream(Path.Combine(staging, qdrant ? "queries.jsonl" : "queries.msearch.ndjson"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                        SearchEngineExport.WriteQueries(target, autoencoder, queryStore, parse.GetValue(size), stream, options, cancellationToken);
                    if (queryStore.IdsPath is { } queryIds)
                        File.Copy(queryIds, Path.Combine(staging, "query-ids.txt"));
                    else
                        console.MarkupLine($"[yellow]Query store '{Markup.Escape(queryStore.Name)}' has no {EmbeddingStore.IdsFileName}; the search requests follow its row order.[/]");
                }

                return documents;
            });
            console.MarkupLine($"Exported {written:N0} documents' latents (n = {autoencoder.LatentSize:N0}, {ModelText.Sparsity(autoencoder)}) for {formatName} to [link]{Markup.Escape(folder)}[/]"
                + (queryStore is null ? "." : $", with {queryStore.RowCount:N0} search requests."));
            return 0;
        }));
        return command;
    }

    private static int ExportModel(IAnsiConsole console, string modelPath, string format, string folder, ComputeDevice device)
    {
        using var transformer = SparseAutoencoderTransformer.Load(modelPath, device);
        var autoencoder = transformer.Autoencoder;
        StagedFolder.Write(folder, staging =>
        {
            if (format == "onnx")
            {
                SparseAutoencoderOnnx.SaveEncoder(autoencoder, Path.Combine(staging, "encoder.onnx"));
                SparseAutoencoderOnnx.SaveDecoder(autoencoder, Path.Combine(staging, "decoder.onnx"));
            }
            else
            {
                SparseAutoencoderSafetensors.Save(autoencoder, staging);
            }

            return 0;
        });
        console.MarkupLine($"Exported the autoencoder (d = {autoencoder.Dimension}, n = {autoencoder.LatentSize:N0}, {ModelText.Sparsity(autoencoder)}) as {format} to [link]{Markup.Escape(folder)}[/]: "
            + Markup.Escape(string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal))));
        return 0;
    }
}
