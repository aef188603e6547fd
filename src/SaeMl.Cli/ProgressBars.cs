using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>Shows one progress bar while long work runs; the work reports (done, total) as it goes.</summary>
internal static class ProgressBars
{
    public static T Run<T>(IAnsiConsole console, string description, Func<Action<double, double>, T> work) =>
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(description, maxValue: 1);
                var result = work((done, total) =>
                {
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = done;
                });
                task.Value = task.MaxValue;
                task.StopTask();
                return result;
            });
}
