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
        {
            var lines = new ProgressBar(console, description);
            var done = work(lines);
            lines.Complete();
            return done;
        }

        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var bar = new ProgressBar(context.AddTask(description, maxValue: 1), description);
                var result = work(bar);
                bar.Complete();
                return result;
            });
    }

    public static T Run<T>(IAnsiConsole console, string description, Func<Action<double, double>, T> work) =>
        Run(console, description, (ProgressBar bar) => work(bar.Report));
}

/// <summary>The bar a long job moves: a live bar's task, or lines written as it passes each tenth.</summary>
internal sealed class ProgressBar
{
    private readonly ProgressTask? _task;
    private readonly IAnsiConsole? _lines;
    private readonly string _description;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private string _status = string.Empty;
    private int _tenthsWritten;

    public ProgressBar(ProgressTask task, string description) => (_task, _description) = (task, description);

    public ProgressBar(IAnsiConsole lines, string description) => (_lines, _description) = (lines, description);

    public void Report(double done, double total)
    {
        if (_task is not null)
        {
            _task.MaxValue = Math.Max(total, 1);
            _task.Value = done;
            return;
        }

        var fraction = Math.Clamp(done / Math.Max(total, 1), 0, 1);
        var tenths = (int)Math.Floor(fraction * 10 + 1e-9);
        if (tenths <= _tenthsWritten || tenths >= 10)
            return;
        _tenthsWritten = tenths;
        var elapsed = _clock.Elapsed.TotalSeconds;
        _lines!.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{_description}{_status}: {tenths * 10} % after {Seconds(elapsed)}, about {Seconds(elapsed / fraction * (1 - fraction))} left")));
    }

    /// <summary>Shows a short status after the description, e.g. the latest loss.</summary>
    public void Status(string status)
    {
        if (_task is not null)
            _task.Description = $"{_description} {Markup.Escape(status)}";
        else
            _status = $" ({status})";
    }

    public void Complete()
    {
        if (_task is not null)
        {
            _task.Value = _task.MaxValue;
            _task.StopTask();
            return;
        }

        _lines!.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{_description}{_status}: done in {Seconds(_clock.Elapsed.TotalSeconds)}")));
    }

    private static string Seconds(double seconds) =>
        seconds < 120 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s") : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F1} min");
}
