using System.CommandLine;
using System.Diagnostics;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Search;
using static TorchSharp.torch;

namespace SaeMl.Benchmarks;

/// <summary>
/// Whether a second device computes what the CPU computes: a matrix product, exact search and a short
/// sparse autoencoder training run from the same seed on the same data, compared to float tolerance
/// (bitwise equality is not expected: cuBLAS and the CPU sum in different orders).
/// </summary>
internal static class DeviceAgreement
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "The device compared with the CPU", DefaultValueFactory = _ => "cuda" };
        var dimension = new Option<int>("--dimension") { DefaultValueFactory = _ => 256 };
        var latents = new Option<int>("--latents") { DefaultValueFactory = _ => 4096 };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 32 };
        var queries = new Option<int>("--queries") { Description = "Training queries (each with its neighbor documents)", DefaultValueFactory = _ => 2048 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 2 };
        var command = new Command("device-agreement", "CPU against another device: a product, exact search and SAE training from one seed") { device, dimension, latents, k, queries, epochs };
        command.SetAction(parse => Run(ComputeDevice.Parse(parse.GetValue(device)!), parse.GetValue(dimension), parse.GetValue(latents), parse.GetValue(k),
            parse.GetValue(queries), parse.GetValue(epochs)));
        return command;
    }

    private static int Run(ComputeDevice other, int d, int n, int k, int queryCount, int epochs)
    {
        if (other.Resolve() == ComputeDevice.Cpu)
        {
            Console.WriteLine($"--device {other} resolves to the CPU here: there is nothing to compare the CPU with.");
            return 1;
        }

        Console.WriteLine($"### CPU against {other}");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineDescription.Describe()}");
        var failures = Section("CUDA through TorchSharp", () =>
        {
            Console.WriteLine($"cuda.is_available {cuda.is_available()}, device_count {(cuda.is_available() ? cuda.device_count() : 0)}, cudnn {cuda.is_cudnn_available()}");
            Console.WriteLine($"{other} resolves to {other.Resolve()}");
            return true;
        });
        failures += Section("matrix product", () => Product(other));
        failures += Section("exact search", () => Search(other, d));
        failures += Section("SAE training", () => Training(other, d, n, k, queryCount, epochs));
        Console.WriteLine($"AGREEMENT SECTIONS FAILED: {failures}");
        return failures == 0 ? 0 : 1;
    }

    private static int Section(string name, Func<bool> body)
    {
        Console.WriteLine();
        Console.WriteLine($"#### {name}");
        try
        {
            var ok = body();
            Console.WriteLine($"{name}: {(ok ? "AGREE" : "DIFFER")}");
            return ok ? 0 : 1;
        }
        catch (Exception e)
        {
            Console.WriteLine($"{name}: ERROR {e}");
            return 1;
        }
    }

    private static bool Product(ComputeDevice other)
    {
        var device = other.ToTorchDevice();
        manual_seed(3);
        using var a = randn(1024, 768);
        using var b = randn(768, 4096);
        using var cpuProduct = a.mm(b);
        using var scope = NewDisposeScope();
        var onDevice = a.to(device).mm(b.to(device)).cpu();
        var maxAbs = (cpuProduct - onDevice).abs().max().item<float>();
        var scale = cpuProduct.abs().max().item<float>();
        Console.WriteLine($"[1024×768]·[768×4096] float32: max |CPU − {other}| = {maxAbs:E3} (largest entry {scale:F1}); allow_tf32 (cuBLAS) default {backends.cuda.matmul.allow_tf32}");
        return maxAbs <= 1e-3 * scale;
    }

    private static bool Search(ComputeDevice other, int d)
    {
        const int corpusRows = 50_000, queryRows = 500, k = 20;
        using var data = new GaussianCorpus(corpusRows, queryRows, d);
        using var corpus = EmbeddingStore.Open(data.CorpusPath);
        var cpu = ExactSearch.Search(data.Queries, corpus, new ExactSearchOptions { K = k, Device = ComputeDevice.Cpu });
        var stopwatch = Stopwatch.StartNew();
        var dev = ExactSearch.Search(data.Queries, corpus, new ExactSearchOptions { K = k, Device = other });
        var seconds = stopwatch.Elapsed.TotalSeconds;
        long sameRow = 0, inTopK = 0;
        double maxScore = 0;
        for (var q = 0; q < queryRows; q++)
        {
            var a = cpu.RowsOf(q);
            var b = dev.RowsOf(q);
            var set = new HashSet<long>(a.ToArray());
            for (var i = 0; i < k; i++)
            {
                sameRow += a[i] == b[i] ? 1 : 0;
                inTopK += set.Contains(b[i]) ? 1 : 0;
                maxScore = Math.Max(maxScore, Math.Abs(cpu.ScoresOf(q)[i] - dev.ScoresOf(q)[i]));
            }
        }

        var total = (double)queryRows * k;
        Console.WriteLine($"{corpusRows:N0} × {d} corpus, {queryRows} queries, top-{k}: same row at the same rank {sameRow / total:P3}, same top-{k} set {inTopK / total:P3}, max |score difference| {maxScore:E3} ({other} search {seconds:F2} s)");
        return inTopK / total >= 0.999 && maxScore < 1e-3;
    }

    private static bool Training(ComputeDevice other, int d, int n, int k, int queryCount, int epochs)
    {
        const int neighbors = 4;
        var random = new Random(5);
        var queries = Gaussian(random, queryCount, d);
        var documents = new float[queries.LongLength * neighbors];
        for (var q = 0; q < queryCount; q++)
            for (var m = 0; m < neighbors; m++)
                for (var j = 0; j < d; j++)   // neighbors: the query plus noise, so the KL term has signal
                    documents[((long)q * neighbors + m) * d + j] = queries[(long)q * d + j] + 0.5f * (float)Normal(random) / MathF.Sqrt(d);
        var data = SaeTrainingData.FromArrays(queries, d, documents, neighbors, "Gaussian queries with noisy neighbors");
        var options = new SparseAutoencoderOptions
        {
            LatentSize = n, ActiveLatents = k, BatchSize = 128, NeighborsPerQuery = neighbors, Epochs = epochs, ValidationFraction = 0.1f, Seed = 11,
            DeadAfterVectors = 4 * 128 * (1 + neighbors),   // latents count as dead after 4 steps without firing; the table's AuxK columns show whether any did
        };
        var (cpuSteps, cpuModel, cpuHistory, cpuSeconds) = Train(options, ComputeDevice.Cpu, data);
        var (devSteps, devModel, devHistory, devSeconds) = Train(options, other, data);
        using (cpuModel)
        using (devModel)
        {
            Console.WriteLine($"d = {d}, n = {n}, K = {k}, B = 128, M = {neighbors}, {queryCount} queries, {epochs} epochs, {cpuSteps.Count} steps; CPU {cpuSeconds:F2} s, {other} {devSeconds:F2} s");
            Console.WriteLine();
            Console.WriteLine("| step | loss CPU | loss device | MSE CPU | MSE device | KL CPU | KL device | AuxK CPU | AuxK device |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            double worstLoss = 0;
            for (var i = 0; i < cpuSteps.Count; i++)
            {
                var (c, g) = (cpuSteps[i], devSteps[i]);
                worstLoss = Math.Max(worstLoss, Math.Abs(c.Loss - g.Loss) / Math.Max(1e-12, Math.Abs(c.Loss)));
                if (i < 3 || i % 8 == 0 || i == cpuSteps.Count - 1)
                    Console.WriteLine($"| {c.Step} | {c.Loss:G7} | {g.Loss:G7} | {c.Mse:G7} | {g.Mse:G7} | {c.Kld:G5} | {g.Kld:G5} | {c.AuxK:G5} | {g.AuxK:G5} |");
            }

            Console.WriteLine();
            for (var e = 0; e < cpuHistory.Count; e++)
                Console.WriteLine($"epoch {e + 1} validation: CPU {cpuHistory[e]}; {other} {devHistory[e]}");
            Console.WriteLine($"largest relative loss difference over the steps: {worstLoss:E3}; first step: {Math.Abs(cpuSteps[0].Loss - devSteps[0].Loss) / Math.Abs(cpuSteps[0].Loss):E3}");

            var (cw, gw) = (cpuModel.GetWeights(), devModel.GetWeights());
            foreach (var (name, a, b) in new[] { ("W_enc", cw.EncoderWeight, gw.EncoderWeight), ("b_enc", cw.EncoderBias, gw.EncoderBias), ("W_dec", cw.DecoderWeight, gw.DecoderWeight), ("b_dec", cw.DecoderBias, gw.DecoderBias) })
                Console.WriteLine($"{name}: max |Δ| {MaxAbsDifference(a, b):E3}, ‖Δ‖/‖CPU‖ {RelativeDifference(a, b):E3}");

            // The same (CPU-trained) weights encoding the same vectors on both devices: how often the K chosen latents match.
            var probe = Gaussian(new Random(6), 2048, d);
            using var cpuOnDevice = SparseAutoencoder.FromWeights(cw, k, other);
            var (x, y) = (cpuModel.Encode(probe), cpuOnDevice.Encode(probe));
            long same = 0;
            for (var r = 0; r < x.Rows; r++)
                same += x.IndicesOf(r).ToArray().Intersect(y.IndicesOf(r).ToArray()).Count();
            Console.WriteLine($"encode with the CPU-trained weights, 2,048 vectors: {same / (double)(x.Rows * k):P3} of latent choices identical on CPU and {other}");
            var lastRelative = Math.Abs(cpuHistory[^1].Fvu - devHistory[^1].Fvu) / cpuHistory[^1].Fvu;
            Console.WriteLine($"final validation FVU relative difference {lastRelative:E3}");
            return Math.Abs(cpuSteps[0].Loss - devSteps[0].Loss) <= 1e-4 * Math.Abs(cpuSteps[0].Loss) && lastRelative < 0.05;
        }
    }

    private static (List<SaeTrainingProgress> Steps, SparseAutoencoder Model, IReadOnlyList<SaeValidationMetrics> History, double Seconds) Train(SparseAutoencoderOptions options, ComputeDevice device, SaeTrainingData data)
    {
        var steps = new List<SaeTrainingProgress>();
        var onDevice = options.Copy();
        onDevice.Device = device;
        var trainer = new SparseAutoencoderTrainer(onDevice);
        var stopwatch = Stopwatch.StartNew();
        var model = trainer.Train(data, new Collector(steps));
        return (steps, model, trainer.History, stopwatch.Elapsed.TotalSeconds);
    }

    private static double MaxAbsDifference(float[] a, float[] b)
    {
        double worst = 0;
        for (var i = 0; i < a.Length; i++)
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
    }

    private static double RelativeDifference(float[] a, float[] b)
    {
        double difference = 0, norm = 0;
        for (var i = 0; i < a.Length; i++)
        {
            difference += (double)(a[i] - b[i]) * (a[i] - b[i]);
            norm += (double)a[i] * a[i];
        }

        return Math.Sqrt(difference / Math.Max(norm, 1e-30));
    }

    private static float[] Gaussian(Random random, int rows, int d)
    {
        var values = new float[(long)rows * d];
        for (var i = 0; i < values.Length; i++)
            values[i] = (float)Normal(random) / MathF.Sqrt(d);
        return values;
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private sealed class Collector(List<SaeTrainingProgress> steps) : IProgress<SaeTrainingProgress>
    {
        public void Report(SaeTrainingProgress value)
        {
            if (value.Validation is null)
                steps.Add(value);
        }
    }
}
