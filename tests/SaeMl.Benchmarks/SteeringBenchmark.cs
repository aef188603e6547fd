using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Steering;

namespace SaeMl.Benchmarks;

/// <summary>
/// Rows per second of the SteerLatents transform against the plain SparseAutoencode transform on the same
/// rows, in the same run: both read every row through an ML.NET cursor.
/// </summary>
internal static class SteeringBenchmark
{
    private sealed class Row
    {
        public float[] Embedding { get; set; } = [];
    }

    public static Command Create()
    {
        var dimension = new Option<int>("--dimension") { DefaultValueFactory = _ => 768 };
        var latents = new Option<int>("--latents") { DefaultValueFactory = _ => 16_384 };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 64 };
        var rows = new Option<int>("--rows") { DefaultValueFactory = _ => 16_384 };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 3 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var command = new Command("steer", "SteerLatents transform throughput against the SparseAutoencode transform") { dimension, latents, k, rows, repeats, device };
        command.SetAction(parse => Run(parse.GetValue(dimension), parse.GetValue(latents), parse.GetValue(k), parse.GetValue(rows), parse.GetValue(repeats),
            ComputeDevice.Parse(parse.GetValue(device)!)));
        return command;
    }

    private static int Run(int d, int n, int k, int rowCount, int repeats, ComputeDevice device)
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        var vectors = Enumerable.Range(0, rowCount * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        using var autoencoder = SparseAutoencoder.Initialize(d, n, k, new float[d], seed: 4, device);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Embedding"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rowCount).Select(i => new Row { Embedding = vectors[(i * d)..((i + 1) * d)] }), schema);
        var plan = SteeringPlan.Empty.Then(LatentEdit.Add(17, 0.5f)).Then(LatentEdit.Scale(42, 2)).Then(LatentEdit.Ablate(99));

        using var sae = new SparseAutoencoderTransformer(((Microsoft.ML.Runtime.IHostEnvironment)ml).Register("benchmark"),
            SparseAutoencoder.FromWeights(autoencoder.GetWeights(), k, device), "Embedding", "Latent", "Reconstruction");
        using var preserving = Steer(ml, autoencoder, plan, SteeringMode.ErrorPreserving, view);
        using var decoding = Steer(ml, autoencoder, plan, SteeringMode.Decode, view);
        var plain = Median(repeats, () => Read(sae.Transform(view), "Latent", "Reconstruction"));
        var errorPreserving = Median(repeats, () => Read(preserving.Transform(view), "Steered", "SteeredLatents"));
        var decoded = Median(repeats, () => Read(decoding.Transform(view), "Steered", "SteeredLatents"));

        Console.WriteLine($"### SteerLatents against SparseAutoencode, d = {d}, n = {n:N0}, K = {k}, {rowCount:N0} rows");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}; device {device.Resolve()}. Plan: {plan}. Median of {repeats} full passes of an ML.NET cursor over both output columns.");
        Console.WriteLine();
        Console.WriteLine("| transform | output columns | rows/s | ratio to SparseAutoencode |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| SparseAutoencode | latent, reconstruction | {rowCount / plain:N0} | 1.00 |");
        Console.WriteLine($"| SteerLatents, error-preserving | steered embedding, steered latents | {rowCount / errorPreserving:N0} | {plain / errorPreserving:F2} |");
        Console.WriteLine($"| SteerLatents, decode | steered embedding, steered latents | {rowCount / decoded:N0} | {plain / decoded:F2} |");
        return 0;
    }

    private static LatentSteeringTransformer Steer(MLContext ml, SparseAutoencoder autoencoder, SteeringPlan plan, SteeringMode mode, IDataView view) =>
        ml.Transforms.SteerLatents(autoencoder, new LatentSteeringOptions
        {
            OutputColumnName = "Steered", InputColumnName = "Embedding", LatentColumnName = "SteeredLatents", Plan = plan, Mode = mode,
        }).Fit(view);

    private static double Median(int repeats, Func<double> measure)
    {
        measure(); // warm-up
        return Enumerable.Range(0, repeats).Select(_ => measure()).Order().ElementAt(repeats / 2);
    }

    /// <summary>Seconds to read both columns of every row.</summary>
    private static double Read(IDataView view, string first, string second)
    {
        var stopwatch = Stopwatch.StartNew();
        using var cursor = view.GetRowCursor([view.Schema[first], view.Schema[second]]);
        var a = cursor.GetGetter<VBuffer<float>>(view.Schema[first]);
        var b = cursor.GetGetter<VBuffer<float>>(view.Schema[second]);
        VBuffer<float> x = default, y = default;
        while (cursor.MoveNext())
        {
            a(ref x);
            b(ref y);
        }

        return stopwatch.Elapsed.TotalSeconds;
    }
}
