using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>Shows one progress bar while long work runs; the work reports how far it is and, if it likes, a status.</summary>
internal static class ProgressBars
{
    public static T Run<T>(IAnsiConsole console, string description, Func<ProgressBar, T> work) =>
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var bar = new ProgressBar(context.AddTask(description, maxValue: 1), description);
                var result = work(bar);
                bar.Complete();
                return result;
            });

    public static T Run<T>(IAnsiConsole console, string description, Func<Action<double, double>, T> work) =>
        Run(console, description, (ProgressBar bar) => work(bar.Report));
}

/// <summary>The bar a long job moves.</summary>
internal sealed class ProgressBar(ProgressTask task, string description)
{
    public void Report(double done, double total)
    {
        task.MaxValue = Math.Max(total, 1);
        task.Value = done;
    }

    /// <summary>Shows a short status after the description, e.g. the latest loss.</summary>
    public void Status(string status) => task.Description = $"{description} {Markup.Escape(status)}";

    public void Complete()
    {
        task.Value = task.MaxValue;
        task.StopTask();
    }
}
