using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// Shows the progress of long work: a live bar with elapsed and remaining time on a terminal; written to a file or a pipe,
/// where a live bar cannot redraw, a line at every tenth of the way with the time so far and the time left.
/// </summary>
internal static class ProgressBars
{
    public static T Run<T>(IAnsiConsole console, string description, Func<ProgressBar, T> work)
    {
        if (!console.Profile.Capabilities.Interactive)
            return Finished(new LoggedProgressBar(console, description), work);

        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context => Finished(new LiveProgressBar(context.AddTask(description, maxValue: 1), description), work));
    }

    public static T Run<T>(IAnsiConsole console, string description, Func<Action<double, double>, T> work) =>
        Run(console, description, (ProgressBar bar) => work(bar.Report));

    private static T Finished<T>(ProgressBar bar, Func<ProgressBar, T> work)
    {
        var result = work(bar);
        bar.Complete();
        return result;
    }
}

/// <summary>The bar a long job moves.</summary>
internal abstract class ProgressBar
{
    /// <summary>How far the work is: <paramref name="done"/> of <paramref name="total"/>.</summary>
    public abstract void Report(double done, double total);

    /// <summary>Shows a short status after the description, e.g. the latest loss.</summary>
    public abstract void Status(string status);

    /// <summary>Marks the work done.</summary>
    public abstract void Complete();
}

/// <summary>A live bar on a terminal, with Spectre's elapsed and remaining time.</summary>
internal sealed class LiveProgressBar(ProgressTask task, string description) : ProgressBar
{
    public override void Report(double done, double total)
    {
        task.MaxValue = Math.Max(total, 1);
        task.Value = done;
    }

    public override void Status(string status) => task.Description = $"{description} {Markup.Escape(status)}";

    public override void Complete()
    {
        task.Value = task.MaxValue;
        task.StopTask();
    }
}

/// <summary>Progress written to a file or a pipe: a line as the work passes each tenth, with the time so far and the time left, and one when done.</summary>
internal sealed class LoggedProgressBar(IAnsiConsole console, string description) : ProgressBar
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private string _status = string.Empty;
    private int _tenthsWritten;

    public override void Report(double done, double total)
    {
        var fraction = Math.Clamp(done / Math.Max(total, 1), 0, 1);
        var tenths = (int)Math.Floor(fraction * 10 + 1e-9);
        if (tenths <= _tenthsWritten || tenths >= 10)
            return;
        _tenthsWritten = tenths;
        var elapsed = _clock.Elapsed.TotalSeconds;
        Write($"{tenths * 10} % after {Seconds(elapsed)}, about {Seconds(elapsed / fraction * (1 - fraction))} left");
    }

    public override void Status(string status) => _status = $" ({status})";

    public override void Complete() => Write($"done in {Seconds(_clock.Elapsed.TotalSeconds)}");

    private void Write(string progress) => console.MarkupLine(Markup.Escape($"{description}{_status}: {progress}"));

    private static string Seconds(double seconds) =>
        seconds < 120 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s") : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F1} min");
}
