using System.Diagnostics;
using SaeMl.Data;

namespace SaeMl.Cli;

/// <summary>
/// The files and folders one command reads and writes, checked before any work: no output is, holds or
/// lies inside an input; no two outputs collide; an output that exists is refused unless the user passed
/// <c>--overwrite</c> (or the command resumes it), and even then only when replacing it destroys nothing
/// else; each output is locked for the run, so a second run writing the same file fails at once; the
/// temporary files a killed run left are deleted. Messages name the flags and paths the user typed.
/// </summary>
internal sealed class CommandFiles : IDisposable
{
    private const string LockSuffix = ".saeml-lock";
    private const string OwnerSuffix = ".saeml-run"; // who holds the lock: the lock file itself cannot be read while locked
    private const int SharingViolation = 11; // EWOULDBLOCK: .NET's FileShare.None is an exclusive flock on Unix
    private readonly List<Entry> _inputs = [];
    private readonly List<Output> _outputs = [];
    private readonly List<(FileStream Stream, string Path, string Owner)> _locks = [];

    private sealed record Entry(string Given, string Path, string Flag);

    private sealed record Output(string Given, string Path, string Flag, Func<string, bool>? Resumable, Func<string, string?>? Foreign, bool OwnsFolder);

    /// <summary>An input: a file, or a folder whose whole content is read (a store).</summary>
    public CommandFiles Reads(string? path, string flag)
    {
        if (path is not null)
            _inputs.Add(new Entry(path, Canonical(path), flag));
        return this;
    }

    /// <summary>An output file or folder.</summary>
    /// <param name="path">What the command writes; null when the option was not given.</param>
    /// <param name="flag">The option that named it.</param>
    /// <param name="resumable">True for an existing output the command continues rather than replaces (an unfinished store).</param>
    /// <param name="foreign">For a folder that <c>--overwrite</c> replaces: the first entry in it that is not the command's own, or null.</param>
    /// <param name="ownsFolder">The output is a folder only this command writes into (a store): temporary files a killed run left inside it are swept too.</param>
    public CommandFiles Writes(string? path, string flag, Func<string, bool>? resumable = null, Func<string, string?>? foreign = null, bool ownsFolder = false)
    {
        if (path is not null)
            _outputs.Add(new Output(path, Canonical(path), flag, resumable, foreign, ownsFolder));
        return this;
    }

    /// <summary>Checks the rules and locks every output; throws before anything is written, leaving no lock behind.</summary>
    /// <param name="overwrite">The user passed <c>--overwrite</c>: existing outputs may be replaced (inputs never).</param>
    /// <exception cref="ArgumentException">An output is an input or inside one, two outputs collide, or an output exists.</exception>
    /// <exception cref="IOException">Another run is writing one of the outputs, or a lock cannot be made.</exception>
    public CommandFiles Check(bool overwrite)
    {
        try
        {
            CheckRules(overwrite);
            foreach (var output in _outputs)
            {
                Lock(output);

                // Now that no other run writes this output: the temporary files a killed run left go.
                AtomicFile.DeleteLeftovers(Path.GetDirectoryName(output.Path)!, Path.GetFileName(output.Path));
                if (output.OwnsFolder && Directory.Exists(output.Path))
                    AtomicFile.DeleteLeftovers(output.Path, null);
            }

            return this;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Releases the locks and deletes their files (while still holding them, so no other run's lock is removed).</summary>
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

    private void CheckRules(bool overwrite)
    {
        foreach (var output in _outputs)
            RemoveStaleLock(output.Path);

        for (var index = 0; index < _outputs.Count; index++)
        {
            var output = _outputs[index];
            var (given, flag) = (output.Given, output.Flag);
            foreach (var input in _inputs)
            {
                if (output.Path == input.Path)
                    throw new ArgumentException($"{flag} '{given}' is the {input.Flag} input; SaeMl never writes over its inputs: choose another path.");
                if (Inside(output.Path, input.Path))
                    throw new ArgumentException($"{flag} '{given}' lies inside the {input.Flag} folder '{input.Given}', which it would change: choose a path outside it.");
                if (Inside(input.Path, output.Path))
                    throw new ArgumentException($"{flag} '{given}' holds the {input.Flag} input '{input.Given}': choose a folder that does not.");
            }

            foreach (var other in _outputs.Take(index))
            {
                if (other.Path == output.Path || Inside(other.Path, output.Path) || Inside(output.Path, other.Path))
                    throw new ArgumentException($"{flag} '{given}' and {other.Flag} '{other.Given}' would write the same files: give them different paths.");
            }

            var parent = Path.GetDirectoryName(output.Path);
            if (parent is not null && !Directory.Exists(parent))
                throw new DirectoryNotFoundException($"The output folder '{Path.GetDirectoryName(Path.GetFullPath(given))}' (of {flag}) does not exist; create it first.");
            var exists = File.Exists(output.Path) || Directory.Exists(output.Path) && Directory.EnumerateFileSystemEntries(output.Path).Any(e => !AtomicFile.IsTemporary(e));
            if (!exists || output.Resumable?.Invoke(output.Path) == true)
                continue;
            if (!overwrite)
                throw new ArgumentException($"{flag} '{given}' exists; pass --overwrite to replace it.");
            if (Directory.Exists(output.Path) && output.Foreign?.Invoke(output.Path) is { } foreign)
                throw new ArgumentException($"{flag} '{given}' holds '{Path.GetFileName(foreign)}', which is not the command's own; --overwrite replaces only what the command writes. Choose another folder.");
        }
    }

    /// <summary>Deletes the lock files a killed run left beside <paramref name="output"/>, while holding the lock; a lock a live run holds stays.</summary>
    private static void RemoveStaleLock(string output)
    {
        var path = output + LockSuffix;
        if (!File.Exists(path))
            return;
        try
        {
            using var stale = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            File.Delete(output + OwnerSuffix);
            File.Delete(path);
        }
        catch (IOException)
        {
            // Held by a live run (Lock reports it), or gone meanwhile.
        }
    }

    private void Lock(Output output)
    {
        var path = output.Path + LockSuffix;
        var owner = output.Path + OwnerSuffix;
        for (var attempt = 0; ; attempt++)
        {
            FileStream stream;
            try
            {
                // FileShare.None is an exclusive advisory lock on Unix too: a second run cannot take it while this one
                // lives, and a run killed with -9 releases it with its process.
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e.HResult == SharingViolation)
            {
                var holder = File.Exists(owner) ? File.ReadAllText(owner).Trim() : "its process is unknown";
                throw new IOException($"Another saeml run is writing {output.Flag} '{output.Given}' ({holder}); wait for it to finish or choose another path.");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"Could not lock {output.Flag} '{output.Given}' for writing: {e.Message}", e);
            }

            // A run that ended between our open and our lock deleted the file we hold: mark ours with a length
            // no one else writes and check that the name still leads to it, or start again.
            var mark = Random.Shared.Next(1, 256);
            try
            {
                stream.SetLength(mark);
            }
            catch (Exception e) when (e is IOException or ArgumentOutOfRangeException)
            {
                stream.Dispose();
                throw new IOException($"Could not lock {output.Flag} '{output.Given}' for writing: the file system refused its lock file ({e.Message.TrimEnd('.')}).", e);
            }

            if (File.Exists(path) && new FileInfo(path).Length == mark)
            {
                _locks.Add((stream, path, owner));
                break;
            }

            stream.Dispose();
            if (attempt == 3)
                throw new IOException($"Could not lock {output.Flag} '{output.Given}': its lock file keeps changing; is another run starting on it?");
        }

        using var process = Process.GetCurrentProcess();
        File.WriteAllText(owner, $"process {Environment.ProcessId}, started {process.StartTime.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
    }

    /// <summary>
    /// The absolute path with every link on the way resolved (as far as the path exists), so that two spellings
    /// of one file compare equal.
    /// </summary>
    private static string Canonical(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var root = Path.GetPathRoot(full)!;
        var resolved = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            resolved = Path.Combine(resolved, part);
            FileSystemInfo info = Directory.Exists(resolved) ? new DirectoryInfo(resolved) : new FileInfo(resolved);
            if (info.Exists && info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                resolved = Path.TrimEndingDirectorySeparator(Canonical(target.FullName));
        }

        return resolved;
    }

    private static bool Inside(string path, string folder) =>
        path.StartsWith(Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
