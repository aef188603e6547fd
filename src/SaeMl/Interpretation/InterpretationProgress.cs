namespace SaeMl.Interpretation;

/// <summary>Where an interpretation run is: the stage, and how much of it is done.</summary>
/// <param name="Stage">e.g. "scan", "saliency", "labels", "scores".</param>
/// <param name="Done">Units done (rows in the scan, latents after).</param>
/// <param name="Total">Units in the stage.</param>
public readonly record struct InterpretationProgress(string Stage, long Done, long Total);
