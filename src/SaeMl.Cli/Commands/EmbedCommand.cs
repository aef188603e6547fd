using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.ML;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Embedding;
using Spectre.Console;

namespace SaeMl.Cli.Commands;

/// <summary>
/// <c>saeml embed</c>: texts (MS MARCO or BEIR) → an embedding store and its <c>ids.txt</c>, with an
/// ONNX model and its vocabulary or a saved EmbedText model zip. An interrupted run is resumed from
/// its last complete shard when the same command is run again.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var input = new Option<string>("--input") { Description = "Texts: an MS MARCO .tsv (id<TAB>text), a BEIR .jsonl, or a BEIR folder (see --part)", Required = true };
        var part = new Option<string>("--part") { Description = "Which part of a BEIR folder to embed", DefaultValueFactory = _ => "corpus" }.AcceptOnlyFromAmong("corpus", "queries");
        var output = new Option<string>("--output") { Description = "The embedding store folder to write; an unfinished one of the same job is resumed", Required = true };
        var model = new Option<string>("--model") { Description = "An ONNX embedding model, or a model zip saved with an EmbedText transform", Required = true };
        var vocabulary = new Option<string?>("--vocab") { Description = "The model's vocab.txt or WordPiece tokenizer.json (with an .onnx model)" };
        var pooling = new Option<string>("--pooling") { Description = "How token vectors become one", DefaultValueFactory = _ => "cls" }.AcceptOnlyFromAmong("cls", "mean", "last-token");
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Keep the raw vectors instead of scaling them to unit length" };
        var prefix = new Option<string>("--prefix") { Description = "Text put before every input, e.g. a query instruction", DefaultValueFactory = _ => string.Empty };
        var maxTokens = CliOptions.PositiveInt("--max-tokens", "Tokens per text, special tokens included; longer texts are cut", TextEmbedderOptions.Defaults.MaxTokens);
        var batchSize = CliOptions.PositiveInt("--batch-size", "Texts per ONNX Runtime call", TextEmbedderOptions.Defaults.BatchSize);
        var device = CliOptions.Device();
        var fallback = new Option<bool>("--allow-cpu-fallback") { Description = "With --device cuda and no usable GPU, embed on the CPU instead of failing" };
        var rowsPerShard = new Option<long?>("--rows-per-shard") { Description = "Rows per .npy shard (default: about 512 MB each)" };
        rowsPerShard.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long?>() is < 1)
                result.AddError("--rows-per-shard must be at least 1.");
        });
        var float16 = new Option<bool>("--float16") { Description = "Store float16 values (half the disk)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a finished store in --output (an unfinished one of the same job is resumed without it)" };

        var command = new Command("embed", "Embeds texts (MS MARCO or BEIR) into an .npy embedding store, resumably")
        {
            input, part, output, model, vocabulary, pooling, noNormalize, prefix, maxTokens, batchSize, device, fallback, rowsPerShard, float16, overwrite,
        };
        command.SetAction(CommandAction.Guarded(console, (parse, cancellationToken) =>
        {
            var inputPath = parse.GetValue(input)!;
            var outputFolder = parse.GetValue(output)!;
            var modelPath = parse.GetValue(model)!;
            Option[] embeddingSettings = [vocabulary, pooling, noNormalize, prefix, maxTokens, batchSize];
            var fromZip = modelPath.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
            if (fromZip && embeddingSettings.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                throw new UsageException($"{given.Name} is stored in the model zip '{modelPath}'; leave it out.");
            if (!fromZip && parse.GetValue(vocabulary) is null)
                throw new UsageException("--vocab is needed with an ONNX model: name its vocab.txt or tokenizer.json.");

            using var files = new CommandFiles()
                .Reads(inputPath, "--input").Reads(modelPath, "--model").Reads(parse.GetValue(vocabulary), "--vocab")
                .Writes(outputFolder, "--output", resumable: EmbeddingStoreWriter.CanResume, foreign: StoreFolder.ForeignEntry, ownsFolder: true)
                .Check(parse.GetValue(overwrite));
            var records = TextInputs.Read(inputPath, parse.GetValue(part)!);
            var ids = console.Status().Start("Reading ids…", _ => IdIndex.Build(records, inputPath));
            if (ids.Count == 0)
                throw new FormatException($"--input '{inputPath}' holds no texts: expected one record per line.");

            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            using var loaded = fromZip
                ? EmbedderFromZip(modelPath, computeDevice, parse.GetValue(fallback))
                : new LoadedEmbedder(TextEmbedder.Create(new TextEmbedderOptions
                {
                    ModelPath = modelPath,
                    VocabularyPath = parse.GetValue(vocabulary)!,
                    Pooling = parse.GetValue(pooling) switch { "mean" => EmbeddingPooling.Mean, "last-token" => EmbeddingPooling.LastToken, _ => EmbeddingPooling.Cls },
                    Normalize = !parse.GetValue(noNormalize),
                    Prefix = parse.GetValue(prefix)!,
                    MaxTokens = parse.GetValue(maxTokens),
                    BatchSize = parse.GetValue(batchSize),
                    Device = computeDevice,
                    AllowCpuFallback = parse.GetValue(fallback),
                }, message => console.MarkupLine($"[yellow]{Markup.Escape(message)}[/]")));
            var embedder = loaded.Embedder;
            if (parse.GetValue(overwrite) && !EmbeddingStoreWriter.CanResume(outputFolder))
                StoreFolder.DeleteStore(outputFolder); // only now that the model loaded: a failure above keeps the old store

            var storage = $"{(parse.GetValue(float16) ? "float16" : "float32")}, rows per shard {parse.GetValue(rowsPerShard)?.ToString() ?? "default"}";
            var job = Job(TextInputs.FileRead(inputPath, parse.GetValue(part)!), modelPath, parse.GetValue(vocabulary), fromZip ? $"settings from the model zip; {storage}"
                : $"pooling {parse.GetValue(pooling)}, normalize {!parse.GetValue(noNormalize)}, prefix '{parse.GetValue(prefix)}', max tokens {parse.GetValue(maxTokens)}; {storage}");
            var dataType = parse.GetValue(float16) ? NpyDataType.Float16 : NpyDataType.Float32;
            EmbeddingJob.Run(console, embedder, ids.Count, outputFolder, progress =>
                embedder.EmbedToStoreFolder(records, ids, outputFolder, job, dataType, parse.GetValue(rowsPerShard), progress, cancellationToken));
            console.MarkupLine($"Wrote [link]{Markup.Escape(outputFolder)}[/] ({ids.Count:N0} rows, ids in {EmbeddingStore.IdsFileName}).");
            return 0;
        }));
        return command;
    }

    /// <summary>What a store is being written from: the file read, the model and the settings. A resumed run must match it.</summary>
    private static string Job(string inputFile, string modelPath, string? vocabularyPath, string settings)
    {
        var input = new FileInfo(inputFile);
        var vocabulary = vocabularyPath is null ? string.Empty : $", vocabulary sha256:{Sha256(vocabularyPath)}";
        return $"{input.FullName} ({input.Length} bytes, {input.LastWriteTimeUtc:O}) with model sha256:{Sha256(modelPath)}{vocabulary}; {settings}";
    }

    private static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }

    private static LoadedEmbedder EmbedderFromZip(string path, ComputeDevice device, bool allowCpuFallback)
    {
        var transformer = TextEmbeddingTransformer.Load(path, device, allowCpuFallback);
        return new LoadedEmbedder(transformer.Embedder, transformer);
    }

    /// <summary>An embedder and whatever owns it, disposed together.</summary>
    private sealed class LoadedEmbedder(TextEmbedder embedder, IDisposable? owner = null) : IDisposable
    {
        public TextEmbedder Embedder { get; } = embedder;

        public void Dispose() => (owner ?? Embedder).Dispose();
    }
}
