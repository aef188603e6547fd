using SaeMl.Autoencoder;

namespace SaeMl.Demo;

/// <summary>One autoencoder of an experiment: its label in Table 1, its settings and the zip it is saved to.</summary>
/// <param name="Label">The model's name in Table 1 ("K = 32").</param>
/// <param name="Options">Its training settings.</param>
/// <param name="Path">The model zip in the world's folder.</param>
public sealed record DemoModel(string Label, SparseAutoencoderOptions Options, string Path);
