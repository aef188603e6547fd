using System.Diagnostics;
using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>
/// The files and folders one command reads and writes, checked before any work: no output is, holds or
/// lies inside an input; no two outputs collide; an output that exists is refused unless the user passed
/// <c>--overwrite</c> (or the command resumes it); and each output is locked for the run, so a second
/// run writing the same file fails at once; temporary files that a killed run left are deleted. Messages
/// name the flags the user typed.
/// </summary>
internal sealed class CommandFiles : IDisposable
{
    private const string LockSuffix = ".saeml-lock";
    private const string OwnerSuffix = ".saeml-run"; // who holds the lock: the lock file itself cannot be read while locked
    private readonly List<(string Path, string Flag)> _inputs = [];
    private readonly List<(string Path, string Flag, Func<string, bool>? Resumable)> _outputs = [];
    private readonly List<(FileStream Stream, string Path, string Owner)> _locks = [];

    /// <summary>An input: a file, or a folder whose whole content is read (a store).</summary>
    public CommandFiles Reads(string? path, string flag)
    {
        if (path is not null)
            _inputs.Add((Canonical(path), flag));
        return this;
    }

    /// <summary>An output file or folder.</summary>
    /// <param name="path">What the command writes; null when the option was not given.</param>
    /// <param name="flag">The option that named it.</param>
    /// <param name="resumable">True for an existing output the command continues rather than replaces (an unfinished store).</param>
    public CommandFiles Writes(string? path, string flag, Func<string, bool>? resumable = null)
    {
        if (path is not null)
            _outputs.Add((Canonical(path), flag, resumable));
        return this;
    }

    /// <summary>Checks the rules and locks every output; throws before anything is written.</summary>
    /// <param name="overwrite">The user passed <c>--overwrite</c>: existing outputs may be replaced (inputs never).</param>
    /// <exception cref="ArgumentException">An output is an input or inside one, two outputs collide, or an output exists.</exception>
    /// <exception cref="IOException">Another run is writing one of the outputs.</exception>
    public CommandFiles Check(bool overwrite)
    {
        foreach (var (output, _, _) in _outputs)
            RemoveStaleLock(output);

        for (var index = 0; index < _outputs.Count; index++)
        {
            var (output, flag, resumable) = _outputs[index];
            foreach (var (input, inputFlag) in _inputs)
            {
                if (output == input)
                    throw new ArgumentException($"{flag} '{output}' is the {inputFlag} input; SaeMl never writes over its inputs: choose another path.");
                if (Inside(output, input))
                    throw new ArgumentException($"{flag} '{output}' lies inside the {inputFlag} folder '{input}', which it would change: choose a path outside it.");
                if (Inside(input, output))
                    throw new ArgumentException($"{flag} '{output}' holds the {inputFlag} input '{input}': choose a folder that does not.");
            }

            foreach (var (other, otherFlag, _) in _outputs.Take(index))
            {
                if (other == output || Inside(other, output) || Inside(output, other))
                    throw new ArgumentException($"{flag} '{output}' and {otherFlag} '{other}' would write the same files: give them different paths.");
            }

            var parent = Path.GetDirectoryName(output);
            if (parent is not null && !Directory.Exists(parent))
                throw new DirectoryNotFoundException($"The output folder '{parent}' (of {flag}) does not exist; create it first.");
            var exists = File.Exists(output) || Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any(e => !AtomicFile.IsTemporary(e));
            if (!overwrite && exists && resumable?.Invoke(output) != true)
                throw new ArgumentException($"{flag} '{output}' exists; pass --overwrite to replace it.");
        }

        foreach (var (output, flag, _) in _outputs)
        {
            Lock(output, flag);

            // Now that no other run writes here: the temporary files a killed run left behind go.
            AtomicFile.DeleteLeftovers(Path.GetDirectoryName(output)!, Path.GetFileName(output));
            if (Directory.Exists(output))
                AtomicFile.DeleteLeftovers(output, "*");
        }

        return this;
    }

    /// <summary>Releases the locks and deletes their files.</summary>
    public void Dispose()
    {
        foreach (var (stream, path, owner) in _locks)
        {
            File.Delete(owner);
            File.Delete(path);
            stream.Dispose();
        }

        _locks.Clear();
    }

    /// <summary>Deletes the lock files a killed run left beside <paramref name="output"/>; a lock a live run holds stays.</summary>
    private static void RemoveStaleLock(string output)
    {
        var path = output + LockSuffix;
        if (!File.Exists(path))
            return;
        try
        {
            using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                File.Delete(output + OwnerSuffix);
            File.Delete(path);
        }
        catch (IOException)
        {
            // Held: Lock reports the run that holds it.
        }
    }

    private void Lock(string output, string flag)
    {
        var path = output + LockSuffix;
        var owner = output + OwnerSuffix;
        FileStream stream;
        try
        {
            // FileShare.None is an exclusive advisory lock on Unix too: a second run cannot take it while this one lives,
            // and a run killed with -9 releases it with its process.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            var holder = File.Exists(owner) ? File.ReadAllText(owner).Trim() : "its process is unknown";
            throw new IOException($"Another saeml run is writing {flag} '{output}' ({holder}); wait for it to finish or choose another path.");
        }

        using (var process = Process.GetCurrentProcess())
            File.WriteAllText(owner, $"process {Environment.ProcessId}, started {process.StartTime.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
        _locks.Add((stream, path, owner));
    }

    /// <summary>The absolute path with links resolved, so that two spellings of one file compare equal.</summary>
    private static string Canonical(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        if (info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            return Path.TrimEndingDirectorySeparator(target.FullName);
        var parent = Path.GetDirectoryName(full);
        return parent is not null && Directory.Exists(parent) && new DirectoryInfo(parent).ResolveLinkTarget(returnFinalTarget: true) is { } parentTarget
            ? Path.Combine(parentTarget.FullName, Path.GetFileName(full))
            : full;
    }

    private static bool Inside(string path, string folder) => path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
