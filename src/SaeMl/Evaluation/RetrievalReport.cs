using System.Globalization;
using System.Text;
using System.Text.Json;
using SaeMl.Data;

namespace SaeMl.Evaluation;

/// <summary>One line of a Table 1-style report: a model, a retrieval setting and its figures.</summary>
/// <param name="Model">The model evaluated (e.g. "K = 32"), or "embeddings" for the original vectors.</param>
/// <param name="Setting">The setting: original, latent or reconstructed.</param>
/// <param name="Metrics">The setting's metrics.</param>
/// <param name="MeanSquaredError">The model's reconstruction MSE per element, on its reconstructed line; else null.</param>
/// <param name="FractionOfVarianceUnexplained">The model's reconstruction FVU, on its reconstructed line; else null.</param>
public sealed record RetrievalReportRow(string Model, string Setting, RetrievalMetrics Metrics, double? MeanSquaredError, double? FractionOfVarianceUnexplained);

/// <summary>
/// The paper's Table 1 for any set of evaluations: MRR@10, full-depth MRR, P@10, R@10, nDCG@10 and the
/// reconstruction MSE of each setting, with the share of the original MRR each keeps; written as
/// Markdown and as JSON (every metric at every cutoff).
/// </summary>
public sealed class RetrievalReport
{
    private const int TableCutoff = 10;

    /// <summary>Builds the report: the original embeddings once, then each model's latent and reconstructed lines.</summary>
    /// <param name="evaluations">Evaluations labelled by model; each holds the original setting, those of autoencoders also latent and reconstructed.</param>
    /// <exception cref="ArgumentException">No evaluation, or one that lacks the original setting or the cutoff 10.</exception>
    public RetrievalReport(IReadOnlyList<(string Model, RetrievalEvaluation Evaluation)> evaluations)
    {
        ArgumentNullException.ThrowIfNull(evaluations);
        if (evaluations.Count == 0)
            throw new ArgumentException("A report needs at least one evaluation.", nameof(evaluations));
        Original = evaluations[0].Evaluation[RetrievalEvaluation.Original].Metrics;
        if (!Original.Cutoffs.Contains(TableCutoff))
            throw new ArgumentException($"The table reports P@{TableCutoff}, R@{TableCutoff} and nDCG@{TableCutoff}; evaluate with cutoff {TableCutoff}.", nameof(evaluations));
        var rows = new List<RetrievalReportRow> { new("embeddings", RetrievalEvaluation.Original, Original, null, null) };
        foreach (var (model, evaluation) in evaluations)
        {
            foreach (var setting in evaluation.Settings.Where(s => s.Setting != RetrievalEvaluation.Original))
            {
                var reconstructed = setting.Setting == RetrievalEvaluation.Reconstructed;
                rows.Add(new(model, setting.Setting, setting.Metrics,
                    reconstructed ? evaluation.MeanSquaredError : null, reconstructed ? evaluation.FractionOfVarianceUnexplained : null));
            }
        }

        Rows = rows;
    }

    /// <summary>The original embeddings' metrics, the reference of every "kept" ratio.</summary>
    public RetrievalMetrics Original { get; }

    /// <summary>The lines of the table, original first.</summary>
    public IReadOnlyList<RetrievalReportRow> Rows { get; }

    /// <summary>The column headers of <see cref="Cells"/>.</summary>
    public static IReadOnlyList<string> Headers { get; } =
        ["model", "setting", "MRR@10", "MRR", "kept", $"P@{TableCutoff}", $"R@{TableCutoff}", $"nDCG@{TableCutoff}", "MSE"];

    /// <summary>The cells of one row, formatted for display (invariant culture).</summary>
    public IReadOnlyList<string> Cells(RetrievalReportRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var m = row.Metrics;
        return
        [
            row.Model, row.Setting, Number(m.MeanReciprocalRankAtCutoff), Number(m.MeanReciprocalRank),
            (m.MeanReciprocalRank / Original.MeanReciprocalRank).ToString("P1", CultureInfo.InvariantCulture),
            Number(m.PrecisionAt(TableCutoff)), Number(m.RecallAt(TableCutoff)), Number(m.NdcgAt(TableCutoff)),
            row.MeanSquaredError is { } mse ? mse.ToString("G3", CultureInfo.InvariantCulture) : "",
        ];
    }

    /// <summary>The table in Markdown.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", Headers).Append(" |\n");
        text.Append('|').Append(string.Concat(Headers.Select(_ => "---|"))).Append('\n');
        foreach (var row in Rows)
            text.Append("| ").AppendJoin(" | ", Cells(row)).Append(" |\n");
        return text.ToString();
    }

    /// <summary>Writes <c>table.md</c> and <c>metrics.json</c> into a folder (each to a temporary name, then renamed).</summary>
    /// <param name="folder">The folder; created when missing.</param>
    /// <param name="description">A line saying what was evaluated, written above the table and into the JSON.</param>
    /// <returns>The two files written.</returns>
    public IReadOnlyList<string> Write(string folder, string description)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        var markdown = Path.Combine(folder, "table.md");
        var json = Path.Combine(folder, "metrics.json");
        AtomicFile.Write(markdown, stream => stream.Write(Encoding.UTF8.GetBytes($"{description}\n\n{ToMarkdown()}")));
        AtomicFile.Write(json, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteString("description", description);
            writer.WriteNumber("queries", Original.QueryCount);
            writer.WriteString("evaluatedQueries", Original.EvaluatedQueries.ToString());
            writer.WriteStartArray("rows");
            foreach (var row in Rows)
                WriteRow(writer, row);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });
        return [markdown, json];
    }

    private static void WriteRow(Utf8JsonWriter writer, RetrievalReportRow row)
    {
        var m = row.Metrics;
        writer.WriteStartObject();
        writer.WriteString("model", row.Model);
        writer.WriteString("setting", row.Setting);
        writer.WriteNumber($"mrr@{m.ReciprocalRankCutoff}", m.MeanReciprocalRankAtCutoff);
        writer.WriteNumber("mrr", m.MeanReciprocalRank);
        writer.WriteNumber("map", m.MeanAveragePrecision);
        for (var i = 0; i < m.Cutoffs.Count; i++)
        {
            writer.WriteNumber($"p@{m.Cutoffs[i]}", m.Precision[i]);
            writer.WriteNumber($"recall@{m.Cutoffs[i]}", m.Recall[i]);
            writer.WriteNumber($"ndcg@{m.Cutoffs[i]}", m.Ndcg[i]);
        }

        if (row.MeanSquaredError is { } mse)
            writer.WriteNumber("mse", mse);
        if (row.FractionOfVarianceUnexplained is { } fvu)
            writer.WriteNumber("fvu", fvu);
        writer.WriteEndObject();
    }

    private static string Number(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
}
