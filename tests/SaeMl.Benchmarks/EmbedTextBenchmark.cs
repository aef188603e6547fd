using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Demo;
using SaeMl.Embedding;

namespace SaeMl.Benchmarks;

/// <summary>
/// Text embedding on the demo world's model: the bulk API batched (sorted by length or not) and one
/// text per ONNX Runtime call, and the EmbedText transform through an ML.NET cursor and through a
/// PredictionEngine, all on the same texts in the same run.
/// </summary>
internal static class EmbedTextBenchmark
{
    public static Command Create()
    {
        var texts = new Option<int>("--texts") { Description = "Corpus texts embedded per measurement", DefaultValueFactory = _ => 20_000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes per measurement (the median is reported)", DefaultValueFactory = _ => 5 };
        var batchSize = new Option<int>("--batch-size") { Description = "Texts per ONNX Runtime call when batched", DefaultValueFactory = _ => TextEmbedderOptions.Defaults.BatchSize };
        var command = new Command("embed-text", "Embedding throughput and padding on the demo world's model") { texts, batchSize, repeats };
        command.SetAction(parse => Run(parse.GetValue(texts), parse.GetValue(batchSize), parse.GetValue(repeats)));
        return command;
    }

    private static int Run(int textCount, int batchSize, int repeats)
    {
        var folder = Directory.CreateTempSubdirectory("saeml-bench-embed-");
        try
        {
            var world = Path.Combine(folder.FullName, "world");
            DemoWorld.Generate().Write(world);
            var texts = BeirReader.ReadCorpus(world).Take(textCount).Select(r => r.EmbeddingText).ToList();
            TextEmbedderOptions Options(int batch, bool sort) => new()
            {
                ModelPath = Path.Combine(world, DemoWorld.ModelFile),
                VocabularyPath = Path.Combine(world, DemoWorld.VocabularyFile),
                BatchSize = batch,
                SortByLength = sort,
                Device = ComputeDevice.Cpu,
            };

            var rows = new List<(string Name, double Seconds, EmbeddingStatistics Statistics)>
            {
                Measure($"bulk API, batches of {batchSize}, sorted by length", Options(batchSize, sort: true), texts, repeats),
                Measure($"bulk API, batches of {batchSize}, input order", Options(batchSize, sort: false), texts, repeats),
                Measure("bulk API, one text per call", Options(1, sort: false), texts, repeats),
            };

            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }));
            using var transformer = ml.Transforms.EmbedText(Options(batchSize, sort: true)).Fit(data);
            var cursorSeconds = Time(repeats, () =>
            {
                var embedded = transformer.Transform(data);
                using var cursor = embedded.GetRowCursor([embedded.Schema["Embedding"]]);
                var getter = cursor.GetGetter<VBuffer<float>>(embedded.Schema["Embedding"]);
                VBuffer<float> vector = default;
                while (cursor.MoveNext())
                    getter(ref vector);
            });
            var engine = ml.Model.CreatePredictionEngine<TextRow, EmbeddedRow>(transformer);
            var engineSeconds = Time(repeats, () =>
            {
                foreach (var text in texts)
                    engine.Predict(new TextRow { Text = text });
            });

            var single = rows[2].Seconds;
            Console.WriteLine($"### EmbedText on the demo model, {texts.Count:N0} corpus texts");
            Console.WriteLine();
            Console.WriteLine($"Machine: {MachineDescription.Describe()}");
            var tokens = texts.Select(t => t.Split(' ').Length + 2).ToList();
            Console.WriteLine($"Demo world defaults (seed 42, dimension 256); texts of {tokens.Min()} to {tokens.Max()} tokens. Median of {repeats} timed passes after a warm-up pass.");
            Console.WriteLine();
            Console.WriteLine("| execution | seconds | texts/s | tokens/s | padding | speed-up over one text per call |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var (name, seconds, statistics) in rows)
                Console.WriteLine($"| {name} | {seconds:F2} | {texts.Count / seconds:N0} | {statistics.Tokens / seconds:N0} | {statistics.PaddingFraction:P1} | {single / seconds:F1}× |");
            Console.WriteLine($"| EmbedText transform, ML.NET cursor (read-ahead {batchSize * TextEmbedderOptions.Defaults.ReadAheadBatches}) | {cursorSeconds:F2} | {texts.Count / cursorSeconds:N0} | | | {single / cursorSeconds:F1}× |");
            Console.WriteLine($"| EmbedText transform, PredictionEngine (one row at a time) | {engineSeconds:F2} | {texts.Count / engineSeconds:N0} | | | {single / engineSeconds:F1}× |");
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static (string, double, EmbeddingStatistics) Measure(string name, TextEmbedderOptions options, List<string> texts, int repeats)
    {
        using var embedder = TextEmbedder.Create(options);
        var destination = new float[texts.Count * embedder.Dimension];
        embedder.Embed(texts, destination); // the statistics of one pass
        var statistics = embedder.Statistics;
        return (name, Time(repeats, () => embedder.Embed(texts, destination)), statistics);
    }

    /// <summary>The median duration of <paramref name="repeats"/> runs after one warm-up run.</summary>
    private static double Time(int repeats, Action action)
    {
        action();
        var seconds = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            action();
            seconds.Add(stopwatch.Elapsed.TotalSeconds);
        }

        return seconds.Order().ElementAt(seconds.Count / 2);
    }

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    private sealed class EmbeddedRow
    {
        public float[] Embedding { get; set; } = [];
    }
}
