using SaeMl.Autoencoder;
using SaeMl.Data;
using SaeMl.Evaluation;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>Runs a retrieval evaluation with one progress bar per stage, and prints Table 1.</summary>
internal static class EvaluationJob
{
    /// <summary>The stores, their ids and the qrels one evaluation reads.</summary>
    public sealed record Inputs(EmbeddingStore Queries, IdIndex QueryIds, EmbeddingStore Corpus, IdIndex CorpusIds, Qrels Qrels);

    public static RetrievalEvaluation Run(
        IAnsiConsole console, string label, SparseAutoencoder? autoencoder, Inputs inputs, RetrievalEvaluationOptions options, CancellationToken cancellationToken) =>
        ProgressBars.Run(console, $"Evaluating {label}", bar =>
        {
            var progress = new CallbackProgress<RetrievalEvaluationProgress>(p =>
            {
                bar.Status(p.Stage);
                bar.Report(p.Done, p.Total);
            });
            return autoencoder is null
                ? DenseRetrievalEvaluator.Evaluate(inputs.Queries, inputs.QueryIds, inputs.Corpus, inputs.CorpusIds, inputs.Qrels, options, progress, cancellationToken)
                : DenseRetrievalEvaluator.EvaluateAutoencoder(autoencoder, inputs.Queries, inputs.QueryIds, inputs.Corpus, inputs.CorpusIds, inputs.Qrels, options, progress, cancellationToken);
        });

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
