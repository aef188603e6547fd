using System.Diagnostics;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Embedding;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Embeds a collection of texts into a store folder with a progress bar: writes <c>ids.txt</c>, resumes
/// an unfinished store of the same job after its last complete shard, and commits the manifest.
/// </summary>
internal static class EmbeddingJob
{
    public static void Run(
        IAnsiConsole console,
        TextEmbedder embedder,
        IEnumerable<TextRecord> records,
        IdIndex ids,
        string folder,
        string job,
        NpyDataType dataType,
        long? rowsPerShard,
        CancellationToken cancellationToken)
    {
        using var writer = EmbeddingStoreWriter.CanResume(folder)
            ? EmbeddingStoreWriter.Resume(folder, job)
            : new EmbeddingStoreWriter(folder, embedder.Dimension, dataType, rowsPerShard, job);
        if (writer.Dimension != embedder.Dimension)
            throw new InvalidOperationException($"The unfinished store '{folder}' holds vectors of dimension {writer.Dimension}, but the model embeds to {embedder.Dimension}.");
        ids.Save(Path.Combine(folder, EmbeddingStore.IdsFileName));

        var skipped = writer.RowsWritten;
        console.MarkupLine(skipped > 0
            ? $"Resuming '{Markup.Escape(folder)}' after {skipped:N0} of {ids.Count:N0} texts."
            : $"Embedding {ids.Count:N0} texts into '{Markup.Escape(folder)}' (dimension {embedder.Dimension}, {embedder.Device}).");
        var before = embedder.Statistics;
        var stopwatch = Stopwatch.StartNew();
        ProgressBars.Run(console, "Embedding", report => embedder.EmbedToStore(
            records.Skip(checked((int)skipped)).Select(r => r.EmbeddingText),
            writer,
            new CallbackProgress<long>(done => report(skipped + done, ids.Count)),
            cancellationToken));
        writer.Commit();

        var seconds = stopwatch.Elapsed.TotalSeconds;
        var after = embedder.Statistics;
        var texts = after.Texts - before.Texts;
        var tokens = after.Tokens - before.Tokens;
        var padded = after.PaddedTokens - before.PaddedTokens;
        console.MarkupLine($"Embedded {texts:N0} texts in {seconds:F1} s: {texts / seconds:N0} texts/s, {tokens / seconds:N0} tokens/s, "
            + $"{(padded == 0 ? 0 : 1 - (double)tokens / padded):P1} padding.");
    }
}
