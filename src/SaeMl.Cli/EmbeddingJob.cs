using System.Diagnostics;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Embedding;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Embeds a collection of texts into a store folder (<see cref="TextEmbedder.EmbedToStoreFolder"/>: ids.txt,
/// resumable, committed) with a progress bar and the speed it reached.
/// </summary>
internal static class EmbeddingJob
{
    /// <summary>Runs <paramref name="embed"/> (which reports texts done and returns how many an earlier run had written) with a progress bar, then the speed.</summary>
    public static void Run(IAnsiConsole console, TextEmbedder embedder, long total, string folder, Func<IProgress<long>, long> embed)
    {
        console.MarkupLine(EmbeddingStoreWriter.CanResume(folder)
            ? $"Resuming the unfinished store '{Markup.Escape(folder)}' ({total:N0} texts in all)."
            : $"Embedding {total:N0} texts into '{Markup.Escape(folder)}' (dimension {embedder.Dimension}, {embedder.Device}).");
        var before = embedder.Statistics;
        var stopwatch = Stopwatch.StartNew();
        var skipped = ProgressBars.Run(console, "Embedding", report => embed(new CallbackProgress<long>(done => report(done, total))));
        if (skipped > 0)
            console.MarkupLine($"Resumed after {skipped:N0} of {total:N0} texts, which an earlier run had written.");

        var seconds = stopwatch.Elapsed.TotalSeconds;
        var after = embedder.Statistics;
        var texts = after.Texts - before.Texts;
        var tokens = after.Tokens - before.Tokens;
        var padded = after.PaddedTokens - before.PaddedTokens;
        console.MarkupLine($"Embedded {texts:N0} texts in {seconds:F1} s: {texts / seconds:N0} texts/s, {tokens / seconds:N0} tokens/s, "
            + $"{(padded == 0 ? 0 : 1 - (double)tokens / padded):P1} padding.");
    }
}
