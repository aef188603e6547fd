using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeMl.Autoencoder;
using SaeMl.Compute;

namespace SaeMl.Benchmarks;

/// <summary>
/// One training step of the paper's setting by phase (<c>sae-step-profile</c>): the time of each phase per
/// step, measured through the trainer's phase hook, against the plain encoder product [N×d]·[d×n] measured
/// in the same run.
/// </summary>
internal static class SaeStepProfile
{
    public static Command Create()
    {
        var dimension = new Option<int>("--dimension") { DefaultValueFactory = _ => 768 };
        var latents = new Option<string>("--latents") { Description = "Comma-separated n values", DefaultValueFactory = _ => "16384,65536" };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 512 };
        var neighbors = new Option<int>("--neighbors") { DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after one warm-up step)", DefaultValueFactory = _ => 3 };
        var command = new Command("sae-step-profile", "One training step by phase against its dense encoder product") { dimension, latents, k, batch, neighbors, steps };
        command.SetAction(parse => Run(parse.GetValue(dimension), [.. parse.GetValue(latents)!.Split(',').Select(int.Parse)], parse.GetValue(k),
            parse.GetValue(batch), parse.GetValue(neighbors), parse.GetValue(steps)));
        return command;
    }

    private static int Run(int d, int[] latentSizes, int k, int batch, int neighbors, int steps)
    {
        var vectorsPerStep = batch * (1 + neighbors);
        var random = new Random(1);
        var data = SaeTrainingData.FromArrays(SaeTrainingBenchmark.UnitRows(random, batch * (steps + 1), d), d,
            SaeTrainingBenchmark.UnitRows(random, batch * (steps + 1) * neighbors, d), neighbors, "random unit vectors");
        MachineDescription.PrintHeading($"A training step by phase, d = {d}, K = {k}, B = {batch} queries with M = {neighbors} documents ({vectorsPerStep:N0} vectors per step)");
        Console.WriteLine($"Mean of {steps} timed steps after a warm-up step, CPU; no latent is dead yet, so AuxK selects nothing.");
        Console.WriteLine();
        foreach (var n in latentSizes)
        {
            var phases = new Dictionary<string, List<double>>();
            var order = new List<string>();
            var clock = Stopwatch.StartNew();
            var trainer = new SparseAutoencoderTrainer(new SparseAutoencoderOptions
            {
                LatentSize = n, ActiveLatents = k, BatchSize = batch, NeighborsPerQuery = neighbors, Epochs = 1, ValidationFraction = 0, Device = ComputeDevice.Cpu,
                DecoderBiasInitialization = DecoderBiasInitialization.Zero,
            })
            {
                PhaseEnded = phase =>
                {
                    if (!phases.TryGetValue(phase, out var times))
                    {
                        phases[phase] = times = [];
                        order.Add(phase);
                    }

                    times.Add(clock.Elapsed.TotalSeconds);
                    clock.Restart();
                },
            };
            using (trainer.Train(data))
            {
            }

            var product = SaeTrainingBenchmark.TimeProduct(vectorsPerStep, d, n, steps, ComputeDevice.Cpu);
            // Phases inside the row blocks of the selection repeat within a step: sum them per step.
            var perStep = order.ToDictionary(p => p, p => phases[p].Chunk(phases[p].Count / (steps + 1)).Skip(1).Average(c => c.Sum()));
            var total = perStep.Values.Sum();
            Console.WriteLine($"**n = {n:N0}**: step {total:F2} s; plain product {product:F2} s; step ÷ product **{total / product:F2}**");
            Console.WriteLine();
            Console.WriteLine("| phase | seconds per step | share of the step | ÷ product |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var phase in order)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phase} | {perStep[phase]:F3} | {perStep[phase] / total:P1} | {perStep[phase] / product:F2} |"));
            Console.WriteLine();
        }

        return 0;
    }
}
