using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>
/// A folder output written whole or not at all: the command fills a staging folder beside the target (named as
/// <see cref="AtomicFile"/> names temporary entries, so a killed run's leftovers are swept), then moves it into place.
/// </summary>
internal static class StagedFolder
{
    /// <summary>Fills a new staging folder with <paramref name="fill"/> and puts it at <paramref name="target"/>; on failure the staging folder goes and the target is untouched.</summary>
    public static T Write<T>(string target, Func<string, T> fill)
    {
        var staging = AtomicFile.TemporaryPathOf(target);
        Directory.CreateDirectory(staging);
        try
        {
            var result = fill(staging);
            Replace(target, staging);
            return result;
        }
        catch
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Puts the finished <paramref name="staging"/> folder at <paramref name="target"/>: a folder already there (which
    /// --overwrite allowed) is first moved aside, and put back if the move in fails, so one of the two is always whole.
    /// </summary>
    public static void Replace(string target, string staging)
    {
        string? aside = null;
        if (Directory.Exists(target))
        {
            aside = AtomicFile.TemporaryPathOf(target);
            Directory.Move(target, aside);
        }

        try
        {
            Directory.Move(staging, target);
        }
        catch
        {
            if (aside is not null)
                Directory.Move(aside, target);
            throw;
        }

        if (aside is not null)
            Directory.Delete(aside, recursive: true);
    }
}
