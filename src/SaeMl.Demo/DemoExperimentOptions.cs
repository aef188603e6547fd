using SaeMl.Compute;

namespace SaeMl.Demo;

/// <summary>The settings of a <see cref="DemoExperiment"/>.</summary>
public sealed record DemoExperimentOptions
{
    /// <summary>The folder that holds one subfolder per generated world.</summary>
    public string Folder { get; init; } = "saeml-demo";

    /// <summary>The world to generate (<see cref="DemoWorldOptions.ForCorpus"/> sizes its judgements to the corpus).</summary>
    public DemoWorldOptions World { get; init; } = new();

    /// <summary>Training queries embedded for the autoencoders.</summary>
    public int TrainingQueries { get; init; } = 6_000;

    /// <summary>M, each training query's nearest documents, for the KL term.</summary>
    public int TrainingNeighbors { get; init; } = 16;

    /// <summary>n, the latents of each autoencoder of Table 1.</summary>
    public int LatentSize { get; init; } = 4_096;

    /// <summary>Training epochs of each autoencoder of Table 1.</summary>
    public int Epochs { get; init; } = 4;

    /// <summary>Where embedding, search, training and evaluation run.</summary>
    public ComputeDevice Device { get; init; } = ComputeDevice.Auto;
}
