namespace SaeMl.Tests;

/// <summary>
/// Tests that run with no other test beside them: the collector thread of
/// <see cref="Compute.ScalarLifetimeTests"/> would otherwise put every test that runs meanwhile under the same
/// pressure, and a failure there would point at the wrong test; <see cref="Cli.ReliabilityTests"/> kill child
/// processes at points they watch for, which a loaded machine would blur; <see cref="Compute.CpuAllocationsTests"/> sets the
/// C heap's options and reads its process-wide counters; <see cref="Autoencoder.BackwardLifetimeTests"/> counts TorchSharp's
/// live tensors, which every other test's tensors would move.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Alone";
}
