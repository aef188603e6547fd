using System.Globalization;
using System.Text;
using SaeMl.Data;
using SaeMl.Interpretation;
using static SaeMl.Cli.Reports.HtmlPage;

namespace SaeMl.Cli.Reports;

/// <summary>
/// The feature report: a folder that opens offline in any browser. <c>index.html</c> lists the interpreted latents
/// (sortable by any column, filtered by a text box and a frequency group) with the rank–frequency plot and, when
/// given, the retrieval results; <c>latents/J.html</c> shows latent J's labels and scores, density, activation
/// histogram, top and quantile-sampled documents with salient words highlighted by strength, related latents and
/// a steering preview.
/// </summary>
internal static class FeatureReport
{
    /// <summary>The report's first page.</summary>
    public const string IndexFile = "index.html";

    /// <summary>The folder of the latents' pages.</summary>
    public const string LatentFolder = "latents";

    private const int ShownCharacters = 700;
    private const int ShownTopDocuments = 10;

    /// <summary>The first entry of <paramref name="folder"/> that a report does not write, or null (what --overwrite may not delete).</summary>
    public static string? ForeignEntry(string folder) =>
        Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal)
            .FirstOrDefault(entry => Path.GetFileName(entry) is not (IndexFile or LatentFolder or "table.md" or "figure4.png") && !AtomicFile.IsTemporary(entry));

    /// <summary>Writes the report of <paramref name="atlas"/> to <paramref name="folder"/> (staged beside it, then moved into place).</summary>
    /// <param name="folder">The report folder.</param>
    /// <param name="atlas">The feature atlas.</param>
    /// <param name="ids">The corpus's document ids by store row.</param>
    /// <param name="texts">The corpus's texts by store row.</param>
    /// <param name="preview">A steering preview, or null.</param>
    /// <param name="resultsFolder">A folder holding <c>table.md</c> (retrieval results, as saeml evaluate and demo write them) and/or <c>figure4.png</c>, or null.</param>
    /// <param name="progress">Pages written so far and in all.</param>
    public static void Write(string folder, FeatureAtlas atlas, IReadOnlyList<string> ids, IReadOnlyList<string> texts, SteeringPreview? preview,
        string? resultsFolder, Action<double, double>? progress = null)
    {
        var staging = AtomicFile.TemporaryPathOf(folder);
        try
        {
            Directory.CreateDirectory(Path.Combine(staging, LatentFolder));
            var latents = atlas.InterpretedLatents();
            var labels = atlas.Labels();
            var pages = latents.ToHashSet();
            var rows = new List<IndexRow>(latents.Count);
            for (var i = 0; i < latents.Count; i++)
            {
                var card = atlas.Card(latents[i]);
                var label = card.Label?.Text ?? "";
                rows.Add(new IndexRow(card.Latent, label, card.Labels.FirstOrDefault()?.Error, card.Frequency, card.Group,
                    card.Scores.FirstOrDefault(s => s.Label == label)?.EmbeddingScore ?? double.NaN, card.FamilyRoot));
                File.WriteAllText(Path.Combine(staging, LatentFolder, $"{card.Latent}.html"), LatentPage(atlas, card, labels, ids, texts, preview, pages));
                progress?.Invoke(i + 1, latents.Count + 1);
            }

            var results = resultsFolder is not null && File.Exists(Path.Combine(resultsFolder, "table.md")) ? File.ReadAllText(Path.Combine(resultsFolder, "table.md")) : null;
            var figure4 = resultsFolder is not null && File.Exists(Path.Combine(resultsFolder, "figure4.png"));
            if (figure4)
                File.Copy(Path.Combine(resultsFolder!, "figure4.png"), Path.Combine(staging, "figure4.png"));
            File.WriteAllText(Path.Combine(staging, IndexFile), IndexPage(atlas, rows, results, figure4));
            progress?.Invoke(latents.Count + 1, latents.Count + 1);
            StagedFolder.Replace(folder, staging);
        }
        catch
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>What the index shows of one latent.</summary>
    private sealed record IndexRow(int Latent, string Label, string? Error, double Frequency, FrequencyGroup Group, double Score, int FamilyRoot);

    private static string IndexPage(FeatureAtlas atlas, IReadOnlyList<IndexRow> cards, string? results, bool figure4)
    {
        var fireCounts = atlas.FireCounts();
        var alive = fireCounts.Count(c => c > 0);
        var zipf = atlas.Zipf();
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"""
            <h1>Feature report</h1>
            <p class="muted">Autoencoder {H(atlas.ModelIdentity[..12])}… over {H(atlas.CorpusName)}: {atlas.CorpusRows:N0} documents.</p>
            <div class="facts">
            <div>latents<b>{atlas.LatentSize:N0}</b></div><div>active per document<b>{H(ModelText.Sparsity(atlas.ActiveLatents, atlas.ActivationThreshold))}</b></div>
            <div>alive<b>{alive:N0}</b></div><div>dead<b>{atlas.LatentSize - alive:N0}</b></div><div>interpreted<b>{cards.Count:N0}</b></div>
            </div>
            """);

        if (results is not null || figure4)
        {
            body.Append("<h2>Retrieval kept by the autoencoder</h2>");
            if (results is not null)
                body.Append(FromMarkdown(results));
            if (figure4)
                body.Append("""<h2>Steering one latent (Figure 4)</h2><p><img src="figure4.png" alt="MRR@10 against the amount added to one latent, document and query side"></p>""");
        }

        body.Append("<h2>Latents</h2>");
        body.Append("""
            <div class="controls">
            <input id="filter" type="search" placeholder="Filter by label words or latent number" aria-label="filter latents">
            <select id="group" aria-label="frequency group"><option value="">all groups</option><option>Head</option><option>Torso</option><option>Tail</option></select>
            <span class="muted"><span id="shown"></span> shown</span>
            </div>
            <table id="latents"><thead><tr>
            <th data-key="latent" data-type="number" class="num">latent</th><th data-key="label">label</th>
            <th data-key="frequency" data-type="number" class="num">frequency</th><th data-key="group">group</th>
            <th data-key="score" data-type="number" class="num">label score</th><th data-key="family" data-type="number" class="num">family</th>
            </tr></thead><tbody>
            """);
        foreach (var card in cards)
        {
            var (label, score) = (card.Label, card.Score);
            var search = $"{card.Latent} {label} {card.Group} family {card.FamilyRoot}".ToLowerInvariant();
            body.Append(CultureInfo.InvariantCulture, $"""
                <tr class="latent" data-latent="{card.Latent}" data-label="{H(label)}" data-frequency="{N(card.Frequency, "R")}" data-group="{card.Group}"
                 data-score="{(double.IsNaN(score) ? "-1" : N(score, "R"))}" data-family="{card.FamilyRoot}" data-search="{H(search)}">
                <td class="num"><a href="{LatentFolder}/{card.Latent}.html">{card.Latent}</a></td>
                <td class="label">{(label.Length > 0 ? H(label) : $"<span class=\"muted\">{H(card.Error ?? "no label")}</span>")}</td>
                <td class="num">{card.Frequency:P2}</td><td>{card.Group}</td>
                <td class="num">{(double.IsNaN(score) ? "–" : score.ToString("F3", CultureInfo.InvariantCulture))}</td>
                <td class="num">{(card.FamilyRoot == card.Latent ? "root" : card.FamilyRoot.ToString(CultureInfo.InvariantCulture))}</td></tr>
                """);
        }

        body.Append("</tbody></table>");
        body.Append("<h2>Latent frequencies against word frequencies (Figure 3)</h2>");
        var fits = zipf.OrderBy(f => f.Key == "latents" ? 0 : 1)
            .Select((f, i) => (f.Key, f.Value.Exponent, f.Value.Intercept, f.Value.Points, i == 0 ? "#1f6feb" : "#d9644a")).ToList();
        body.Append(RankFrequencyPlot([("latents", ZipfFit.RankFrequency(fireCounts), "#1f6feb")], fits));
        body.Append(CultureInfo.InvariantCulture, $"""<p class="muted">Points: each alive latent's document count by rank. Dashed lines: Zipf fits log f = c − s · log r ({string.Join("; ", zipf.Select(f => $"{H(f.Key)}: s = {f.Value.Exponent:F2}, R² = {f.Value.RSquared:F2} over {f.Value.Points:N0} ranks"))}).</p>""");
        return Page("Feature report", body.ToString(), IndexScript);
    }

    private const string IndexScript = """
        const table = document.getElementById('latents');
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const filter = document.getElementById('filter');
        const group = document.getElementById('group');
        function apply() {
          const words = filter.value.trim().toLowerCase().split(/\s+/).filter(w => w.length > 0);
          let shown = 0;
          for (const row of rows) {
            // A number matches a whole word (latent 12, family 12); other words match anywhere, as a label is typed.
            const tokens = row.dataset.search.split(' ');
            const visible = words.every(w => /^[0-9]+$/.test(w) ? tokens.includes(w) : row.dataset.search.includes(w))
              && (group.value === '' || row.dataset.group === group.value);
            row.hidden = !visible;
            if (visible) shown++;
          }
          document.getElementById('shown').textContent = shown;
        }
        filter.addEventListener('input', apply);
        group.addEventListener('change', apply);
        table.tHead.addEventListener('click', event => {
          const header = event.target.closest('th[data-key]');
          if (!header) return;
          const direction = header.dataset.dir === 'desc' ? 'asc' : 'desc';
          for (const other of table.tHead.querySelectorAll('th')) delete other.dataset.dir;
          header.dataset.dir = direction;
          const key = header.dataset.key, numeric = header.dataset.type === 'number', sign = direction === 'asc' ? 1 : -1;
          rows.sort((a, b) => sign * (numeric ? parseFloat(a.dataset[key]) - parseFloat(b.dataset[key]) : a.dataset[key].localeCompare(b.dataset[key])));
          for (const row of rows) body.appendChild(row);
        });
        apply();
        """;

    private static string LatentPage(FeatureAtlas atlas, FeatureCard card, IReadOnlyDictionary<int, FeatureLabel> labels, IReadOnlyList<string> ids,
        IReadOnlyList<string> texts, SteeringPreview? preview, HashSet<int> pages)
    {
        string Link(int latent) => pages.Contains(latent)
            ? $"<a href=\"{latent}.html\">{latent}</a>{(labels.TryGetValue(latent, out var l) ? $" <span class=\"muted\">{H(l.Text)}</span>" : "")}"
            : latent.ToString(CultureInfo.InvariantCulture);
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"""
            <p><a href="../{IndexFile}">← all latents</a></p>
            <h1>Latent {card.Latent}: <span class="label">{H(card.Label?.Text ?? "no label")}</span></h1>
            <div class="facts">
            <div>documents it fires in<b>{card.FireCount:N0}</b></div><div>frequency<b>{card.Frequency:P2}</b></div><div>group<b>{card.Group}</b></div>
            <div>mean activation where it fires<b>{N(card.MeanActivation, "F4")}</b></div><div>largest activation<b>{N(card.MaxActivation, "F4")}</b></div>
            </div>
            """);

        body.Append("<h2>Labels and how well they predict firing</h2><table><tr><th>labeler</th><th>label</th><th class=\"num\">embedding score (AUROC)</th><th class=\"num\">vs hard negatives</th><th class=\"num\">vs random</th><th class=\"num\">detection</th></tr>");
        foreach (var label in card.Labels)
        {
            var score = card.Scores.FirstOrDefault(s => s.Label == label.Text);
            string F(double? v) => v is { } x && !double.IsNaN(x) ? x.ToString("F3", CultureInfo.InvariantCulture) : "–";
            body.Append(CultureInfo.InvariantCulture, $"<tr><td>{H(label.Labeler)}</td><td>{(label.Succeeded ? H(label.Text) : $"<span class=\"muted\">{H(label.Error)}</span>")}</td>"
                + $"<td class=\"num\">{F(score?.EmbeddingScore)}</td><td class=\"num\">{F(score?.HardNegativeScore)}</td><td class=\"num\">{F(score?.RandomNegativeScore)}</td><td class=\"num\">{F(score?.DetectionScore)}</td></tr>");
        }

        body.Append("</table><p class=\"muted\">0.5 is chance: the score is how often the label's embedding ranks a document the latent fires in above one it does not.</p>");
        body.Append("<h2>Activation histogram</h2>").Append(Histogram(card.Histogram, atlas.BinEdges));

        if (card.Patterns.Count > 0)
        {
            body.Append("<h2>Salient word patterns</h2><p>")
                .AppendJoin(" · ", card.Patterns.Select(p => $"<code>{H(p.Pattern)}</code> <span class=\"muted\">({p.Documents})</span>")).Append("</p>");
            if (card.PatternPrecision is { } precision && card.PatternRecall is { } recall && !double.IsNaN(precision))
                body.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">As a predictor of firing on held-out documents: precision {precision:F2}, recall {recall:F2}.</p>");
        }

        body.Append("<h2>Top documents</h2>");
        foreach (var example in card.TopDocuments.Take(ShownTopDocuments))
            body.Append(Document(example, texts));
        if (card.TopDocuments.Count > ShownTopDocuments)
        {
            body.Append(CultureInfo.InvariantCulture, $"<details><summary>{card.TopDocuments.Count - ShownTopDocuments} more top documents</summary>");
            foreach (var example in card.TopDocuments.Skip(ShownTopDocuments))
                body.Append(Document(example, texts));
            body.Append("</details>");
        }
        if (card.QuantileExamples.Count > 0)
        {
            body.Append("<h2>Across its activation range</h2><p class=\"muted\">Documents sampled from the quantiles of its activations, lowest first.</p>");
            foreach (var example in card.QuantileExamples)
                body.Append(Document(example, texts));
        }

        body.Append("<h2>Related latents</h2><ul>");
        body.Append(card.FamilyRoot == card.Latent ? "<li>Root of its family (latents that fire together).</li>" : $"<li>Family root: {Link(card.FamilyRoot)}</li>");
        if (card.FamilyParent >= 0 && card.FamilyParent != card.FamilyRoot)
            body.Append($"<li>Parent in the family: {Link(card.FamilyParent)}</li>");
        body.Append("</ul>");
        if (card.Neighbors.Count > 0)
        {
            body.Append("<table><tr><th>decoder neighbour</th><th class=\"num\">cosine of the decoder directions</th></tr>");
            foreach (var neighbor in card.Neighbors)
                body.Append(CultureInfo.InvariantCulture, $"<tr><td>{Link(neighbor.Latent)}</td><td class=\"num\">{neighbor.Cosine:F3}</td></tr>");
            body.Append("</table>");
        }

        if (preview is not null && preview.After.TryGetValue(card.Latent, out var steered))
        {
            body.Append(CultureInfo.InvariantCulture, $"<h2>Steering preview</h2><p>The query <q>{H(preview.Query)}</q> with {N(steered.Alpha, "F3")} added to this latent (twice its largest activation), retrieved again:</p>");
            body.Append("<table><tr><th class=\"num\">rank</th><th>before</th><th>after</th></tr>");
            var (before, after) = (preview.Before.ToHashSet(), steered.After.ToHashSet());
            for (var rank = 0; rank < Math.Max(preview.Before.Count, steered.After.Count); rank++)
            {
                string Cell(IReadOnlyList<long> list, HashSet<long> other, string mark, string markClass) => rank < list.Count
                    ? (other.Contains(list[rank]) ? "" : $"<span class=\"{markClass}\">{mark}</span> ") + H(ids[(int)list[rank]]) + $" <span class=\"muted\">{H(Shortened(texts[(int)list[rank]], 90))}</span>"
                    : "";
                body.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"num\">{rank + 1}</td><td>{Cell(preview.Before, after, "− left", "left")}</td><td>{Cell(steered.After, before, "+ entered", "entered")}</td></tr>");
            }

            body.Append("</table>");
        }

        return Page($"Latent {card.Latent}: {card.Label?.Text}", body.ToString());
    }

    /// <summary>One document: its id and the latent's activation, then its text with the salient words marked, darker for stronger.</summary>
    private static string Document(AtlasExample example, IReadOnlyList<string> texts)
    {
        var text = texts[(int)example.Row];
        var strengths = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var word in example.SalientWords)
            strengths.TryAdd(word.Word, word.Strength);
        var shown = Shortened(text, ShownCharacters);
        var marked = new StringBuilder();
        var start = 0;
        for (var i = 0; i <= shown.Length; i++)
        {
            if (i < shown.Length && !char.IsWhiteSpace(shown[i]))
                continue;
            if (i > start)
            {
                var word = shown[start..i];
                marked.Append(strengths.TryGetValue(word, out var strength)
                    ? string.Create(CultureInfo.InvariantCulture, $"<mark style=\"--s:{0.2 + 0.8 * strength:F2}\" title=\"strength {strength:F2}\">{H(word)}</mark>")
                    : H(word));
            }

            if (i < shown.Length)
                marked.Append(shown[i]);
            start = i + 1;
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"<div class=\"document\"><div class=\"muted\">{H(example.DocumentId)} · activation {example.Activation:F4}</div><div class=\"text\">{marked}</div></div>");
    }

    private static string Shortened(string text, int length) => text.Length > length ? text[..length] + "…" : text;
}
