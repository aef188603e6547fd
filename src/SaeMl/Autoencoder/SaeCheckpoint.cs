using System.Runtime.InteropServices;
using SaeMl.Data;
using static TorchSharp.torch;

namespace SaeMl.Autoencoder;

/// <summary>
/// Everything a training run needs to continue exactly where it stopped: the position (epoch and step
/// within it), the weights and activation threshold, Adam's moments and step count, each latent's vectors
/// since it last fired, the epoch's BatchTopK thresholds so far, and the validation history. Bound to the run's settings by a fingerprint: a checkpoint is resumed
/// only with the same data size and hyper-parameters.
/// </summary>
internal sealed record SaeCheckpoint(
    string Fingerprint,
    int NextEpoch,
    int NextStep,
    long OptimizerStep,
    float[][] Parameters,
    float[][] FirstMoments,
    float[][] SecondMoments,
    long[] VectorsSinceFired,
    IReadOnlyList<SaeValidationMetrics> History,
    float ActivationThreshold,
    BatchThresholds Thresholds)
{
    private const string Magic = "SAEMLCKP";
    private const int Version = 3;

    public static SaeCheckpoint Capture(string fingerprint, int nextEpoch, int nextStep, SaeOptimizer optimizer, SparseAutoencoder model, Tensor vectorsSinceFired,
        IReadOnlyList<SaeValidationMetrics> history, BatchThresholds thresholds) =>
        new(fingerprint, nextEpoch, nextStep, optimizer.Step,
            model.Parameters.Select(ToHost<float>).ToArray(),
            optimizer.FirstMoments.Select(ToHost<float>).ToArray(),
            optimizer.SecondMoments.Select(ToHost<float>).ToArray(),
            ToHost<long>(vectorsSinceFired),
            history.ToArray(),
            model.ActivationThreshold,
            thresholds);

    /// <summary>Copies the saved state into a model, an optimiser and the firing counters of the same shapes.</summary>
    public void Restore(SparseAutoencoder model, SaeOptimizer optimizer, Tensor vectorsSinceFired)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < Parameters.Length; i++)
        {
            CopyInto(model.Parameters[i], Parameters[i]);
            CopyInto(optimizer.FirstMoments[i], FirstMoments[i]);
            CopyInto(optimizer.SecondMoments[i], SecondMoments[i]);
        }

        vectorsSinceFired.copy_(tensor(VectorsSinceFired));
        optimizer.Step = OptimizerStep;
        model.ActivationThreshold = ActivationThreshold;
    }

    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(Fingerprint);
        writer.Write(NextEpoch);
        writer.Write(NextStep);
        writer.Write(OptimizerStep);
        foreach (var group in new[] { Parameters, FirstMoments, SecondMoments })
        {
            writer.Write(group.Length);
            foreach (var values in group)
            {
                writer.Write(values.Length);
                writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            }
        }

        writer.Write(VectorsSinceFired.Length);
        writer.Write(MemoryMarshal.AsBytes(VectorsSinceFired.AsSpan()));
        writer.Write(History.Count);
        foreach (var metrics in History)
        {
            writer.Write(metrics.Fvu);
            writer.Write(metrics.Mse);
            writer.Write(metrics.L0);
            writer.Write(metrics.DeadFraction);
            writer.Write(metrics.Kld);
            writer.Write(metrics.Top10Overlap);
            writer.Write(metrics.LatentTop10Overlap);
        }

        writer.Write(ActivationThreshold);
        writer.Write(Thresholds.Sum);
        writer.Write(Thresholds.Batches);
    });

    /// <summary>What sets two fingerprints apart: the settings that differ, when both list the same kinds of settings; else both whole.</summary>
    private static string Differences(string saved, string current)
    {
        var (before, now) = (saved.Split(", "), current.Split(", "));
        if (before.Length != now.Length)
            return $"it has {saved}; this run has {current}";
        var differing = Enumerable.Range(0, before.Length).Where(i => before[i] != now[i]).Select(i => $"{before[i]} where this run has {now[i]}");
        return "it has " + string.Join(", and ", differing);
    }

    /// <exception cref="FormatException">The file is not a checkpoint, is cut short, or was written by a run with other settings.</exception>
    public static SaeCheckpoint Load(string path, string fingerprint)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadString() != Magic)
                throw new FormatException($"'{path}' is not a SaeMl training checkpoint.");
            var version = reader.ReadInt32();
            if (version is not (2 or Version))
                throw new FormatException($"'{path}' is checkpoint version {version}; this SaeMl reads versions 2 and {Version}.");
            var saved = reader.ReadString();
            if (saved != fingerprint)
                throw new FormatException($"'{path}' was written by a training run with other settings or data ({Differences(saved, fingerprint)}); resume it with the settings it was written with, or train afresh.");
            var (nextEpoch, nextStep, optimizerStep) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt64());
            var groups = new float[3][][];
            for (var g = 0; g < groups.Length; g++)
            {
                groups[g] = new float[reader.ReadInt32()][];
                for (var i = 0; i < groups[g].Length; i++)
                    groups[g][i] = MemoryMarshal.Cast<byte, float>(ReadExactly(reader, checked(reader.ReadInt32() * sizeof(float)))).ToArray();
            }

            var counters = MemoryMarshal.Cast<byte, long>(ReadExactly(reader, checked(reader.ReadInt32() * sizeof(long)))).ToArray();
            var history = Enumerable.Range(0, reader.ReadInt32())
                .Select(_ => new SaeValidationMetrics(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble()))
                .ToList();
            var (activationThreshold, thresholds) = version >= 3 ? (reader.ReadSingle(), new BatchThresholds(reader.ReadDouble(), reader.ReadInt32())) : (0f, default); // version 2: a TopK run
            if (!SparseAutoencoder.IsValidThreshold(activationThreshold) || !double.IsFinite(thresholds.Sum) || thresholds.Batches < 0)
                throw new FormatException($"'{path}' holds an activation threshold of {activationThreshold} or a batch tally ({thresholds.Sum}, {thresholds.Batches}) that no training writes.");
            return new SaeCheckpoint(saved, nextEpoch, nextStep, optimizerStep, groups[0], groups[1], groups[2], counters, history, activationThreshold, thresholds);
        }
        catch (EndOfStreamException ex)
        {
            throw new FormatException($"'{path}' is cut short: it is not a complete training checkpoint.", ex);
        }
    }

    private static byte[] ReadExactly(BinaryReader reader, int count)
    {
        var bytes = reader.ReadBytes(count);
        return bytes.Length == count ? bytes : throw new EndOfStreamException();
    }

    private static T[] ToHost<T>(Tensor values) where T : unmanaged
    {
        using var scope = NewDisposeScope();
        return values.detach().cpu().contiguous().data<T>().ToArray();
    }

    private static void CopyInto(Tensor target, float[] values)
    {
        if (values.LongLength != target.numel())
            throw new FormatException($"A checkpoint tensor holds {values.LongLength} values where {target.numel()} are expected.");
        target.copy_(tensor(values, target.shape));
    }
}
