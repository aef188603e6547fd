using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using static TorchSharp.torch;

namespace SaeMl.Benchmarks;

/// <summary>
/// Sparse autoencoder training steps and transform throughput on random unit vectors, against the
/// plain matrix product of the same shapes (the dense pre-activation product, [N, d]·[d, n]) measured
/// in the same run.
/// </summary>
internal static class SaeTrainingBenchmark
{
    public static Command Create()
    {
        var dimension = new Option<int>("--dimension") { DefaultValueFactory = _ => 768 };
        var latents = new Option<string>("--latents") { Description = "Comma-separated n values; the first is the reference", DefaultValueFactory = _ => "16384,4096,65536" };
        var k = new Option<string>("--k") { Description = "Comma-separated K values; the first is the reference", DefaultValueFactory = _ => "64,32,128" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 512 };
        var neighbors = new Option<int>("--neighbors") { DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per configuration (after one warm-up step)", DefaultValueFactory = _ => 3 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var command = new Command("sae-train", "Training step and transform throughput of the sparse autoencoder") { dimension, latents, k, batch, neighbors, steps, device };
        command.SetAction(parse => Run(
            parse.GetValue(dimension),
            parse.GetValue(latents)!.Split(',').Select(int.Parse).ToArray(),
            parse.GetValue(k)!.Split(',').Select(int.Parse).ToArray(),
            parse.GetValue(batch), parse.GetValue(neighbors), parse.GetValue(steps), ComputeDevice.Parse(parse.GetValue(device)!)));
        return command;
    }

    private static int Run(int d, int[] latentSizes, int[] ks, int batch, int neighbors, int steps, ComputeDevice device)
    {
        var vectorsPerStep = batch * (1 + neighbors);
        var random = new Random(1);
        var queries = UnitRows(random, batch * (steps + 1), d);
        var documents = UnitRows(random, batch * (steps + 1) * neighbors, d);
        var data = SaeTrainingData.FromArrays(queries, d, documents, neighbors, "random unit vectors");
        Console.WriteLine($"### Sparse autoencoder training, d = {d}, B = {batch} queries with M = {neighbors} documents ({vectorsPerStep:N0} vectors per step)");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}; device {device.Resolve()}.");
        Console.WriteLine($"Median of {steps} timed steps after a warm-up step; no latent is dead yet, so no AuxK work. Useful work counted: the dense pre-activation product 2·N·n·d plus the K-sparse products, 12·N·K·d over forward and backward.");
        Console.WriteLine();
        Console.WriteLine("| n | K | step (s) | vectors/s | useful GFLOP/s | plain product [N×d]·[d×n] (s) | its GFLOP/s | step ÷ product | peak anonymous memory |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var configurations = latentSizes.Select(n => (n, ks[0])).Concat(ks.Skip(1).Select(k => (latentSizes[0], k)));
        foreach (var (n, k) in configurations)
        {
            var (step, peak) = TimeSteps(data, n, k, batch, neighbors, steps, device);
            var product = TimeProduct(vectorsPerStep, d, n, steps, device);
            var usefulFlops = 2.0 * vectorsPerStep * n * d + 12.0 * vectorsPerStep * k * d;
            var productFlops = 2.0 * vectorsPerStep * n * d;
            Console.WriteLine($"| {n:N0} | {k} | {step:F2} | {vectorsPerStep / step:N0} | {usefulFlops / step / 1e9:F1} | {product:F2} | {productFlops / product / 1e9:F1} | {step / product:F2} | {peak / 1048576.0:N0} MiB |");
        }

        TransformThroughput(d, latentSizes[0], ks[0], device);
        return 0;
    }

    private static (double Seconds, long PeakBytes) TimeSteps(SaeTrainingData data, int n, int k, int batch, int neighbors, int steps, ComputeDevice device)
    {
        var times = new List<double>();
        var stopwatch = new Stopwatch();
        using var monitor = MemoryMonitor.Start();
        var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
        {
            LatentSize = n, ActiveLatents = k, BatchSize = batch, NeighborsPerQuery = neighbors, Epochs = 1, ValidationFraction = 0, Device = device,
            DecoderBiasInitialization = DecoderBiasInitialization.Zero,
        });
        var progress = new StepTimer(stopwatch, times);
        stopwatch.Start();
        using (trainer.Train(data, progress))
        {
        }

        monitor.Dispose();
        var timed = times.Skip(1).Order().ToList();                       // the first step warms up
        return (timed[timed.Count / 2], monitor.PeakAnonymousBytes);
    }

    internal static double TimeProduct(int rows, int d, int n, int repeats, ComputeDevice device)
    {
        var torchDevice = device.ToTorchDevice();
        using var x = randn([rows, d], device: torchDevice);
        using var w = randn([n, d], device: torchDevice);
        using (x.mm(w.t())) { }
        var times = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            using var product = x.mm(w.t());
            if (torchDevice.type == TorchSharp.DeviceType.CUDA)
                cuda.synchronize();
            times.Add(stopwatch.Elapsed.TotalSeconds);
        }

        return times.Order().ElementAt(times.Count / 2);
    }

    private static void TransformThroughput(int d, int n, int k, ComputeDevice device)
    {
        const int rows = 16_384;
        var ml = new MLContext(seed: 1);
        var random = new Random(2);
        var vectors = UnitRows(random, rows, d);
        var tiny = SaeTrainingData.FromArrays(UnitRows(random, 64, d), d);
        using var transformer = ml.Transforms.SparseAutoencode(new SparseAutoencoderOptions
        {
            ReconstructionColumnName = "Reconstruction",
            LatentSize = n, ActiveLatents = k, BatchSize = 64, NeighborsPerQuery = 0, KLWeight = 0, Epochs = 1, ValidationFraction = 0, Device = device,
        }).Fit(tiny);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Embedding"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new Row { Embedding = vectors[(i * d)..((i + 1) * d)] }), schema);

        transformer.Autoencoder.Encode(vectors.AsSpan(0, 1024 * d));  // warm-up
        var raw = Stopwatch.StartNew();
        transformer.Autoencoder.Encode(vectors);
        var rawSeconds = raw.Elapsed.TotalSeconds;
        var cursorSeconds = TimeCursor(transformer, view);

        Console.WriteLine();
        Console.WriteLine($"Transform, n = {n:N0}, K = {k}, {rows:N0} rows of d = {d}: raw batched Encode {rows / rawSeconds:N0} rows/s; "
            + $"ML.NET cursor (latent and reconstruction) {rows / cursorSeconds:N0} rows/s ({rawSeconds / cursorSeconds:P0} of raw).");
    }

    private static double TimeCursor(SparseAutoencoderTransformer transformer, IDataView view)
    {
        var transformed = transformer.Transform(view);
        var stopwatch = Stopwatch.StartNew();
        using var cursor = transformed.GetRowCursor([transformed.Schema["Latent"], transformed.Schema["Reconstruction"]]);
        var latent = cursor.GetGetter<VBuffer<float>>(transformed.Schema["Latent"]);
        var reconstruction = cursor.GetGetter<VBuffer<float>>(transformed.Schema["Reconstruction"]);
        VBuffer<float> a = default, b = default;
        while (cursor.MoveNext())
        {
            latent(ref a);
            reconstruction(ref b);
        }

        return stopwatch.Elapsed.TotalSeconds;
    }

    internal static float[] UnitRows(Random random, int rows, int d)
    {
        var values = new float[(long)rows * d];
        for (var r = 0; r < rows; r++)
        {
            var norm = 0.0;
            for (var j = 0; j < d; j++)
            {
                var value = random.NextDouble() * 2 - 1;
                values[(long)r * d + j] = (float)value;
                norm += value * value;
            }

            for (var j = 0; j < d; j++)
                values[(long)r * d + j] /= (float)Math.Sqrt(norm);
        }

        return values;
    }

    private sealed class Row
    {
        public float[] Embedding { get; set; } = [];
    }

    /// <summary>Records the time between consecutive step reports.</summary>
    private sealed class StepTimer(Stopwatch stopwatch, List<double> times) : IProgress<SaeTrainingProgress>
    {
        public void Report(SaeTrainingProgress value)
        {
            if (value.Validation is not null)
                return;
            times.Add(stopwatch.Elapsed.TotalSeconds);
            stopwatch.Restart();
        }
    }
}
