using SaeMl.Evaluation;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>Runs a retrieval evaluation with one progress bar per stage, and prints Table 1.</summary>
internal static class EvaluationJob
{
    /// <summary>Runs <paramref name="evaluate"/> with a progress bar that follows its stages.</summary>
    public static RetrievalEvaluation Run(IAnsiConsole console, string label, Func<IProgress<RetrievalEvaluationProgress>, RetrievalEvaluation> evaluate) =>
        ProgressBars.Run(console, $"Evaluating {label}", bar => evaluate(new CallbackProgress<RetrievalEvaluationProgress>(p =>
        {
            bar.Status(p.Stage);
            bar.Report(p.Done, p.Total);
        })));

    /// <summary>Prints the report as a table, writes table.md and metrics.json, and says where.</summary>
    public static void Report(IAnsiConsole console, RetrievalReport report, string title, string folder)
    {
        var table = new Table().Title(Markup.Escape(title));
        foreach (var header in RetrievalReport.Headers)
            table.AddColumn(Markup.Escape(header), c => { if (header is not ("model" or "setting")) c.RightAligned(); });
        foreach (var row in report.Rows)
            table.AddRow(report.Cells(row).Select(Markup.Escape).ToArray());
        console.Write(table);
        foreach (var file in report.Write(folder, title))
            console.MarkupLine($"Wrote [link]{Markup.Escape(file)}[/]");
    }
}
