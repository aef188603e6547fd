using System.Globalization;
using System.Net;
using System.Text;

namespace SaeMl.Cli.Reports;

/// <summary>
/// The pieces every report page is made of: one self-contained HTML file (style and script inline, nothing
/// fetched), every text from the data HTML-escaped, and charts drawn as inline SVG.
/// </summary>
internal static class HtmlPage
{
    /// <summary>Text escaped for an element's content or a quoted attribute (&amp;, &lt;, &gt;, " and ').</summary>
    public static string H(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>A number with invariant formatting.</summary>
    public static string N(double value, string format = "G4") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A whole page: <paramref name="body"/> is HTML already escaped where it holds data.</summary>
    public static string Page(string title, string body, string? script = null) => $$"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{H(title)}}</title>
        <style>{{Style}}</style>
        </head>
        <body>
        {{body}}
        {{(script is null ? "" : $"<script>{script}</script>")}}
        </body>
        </html>
        """;

    private const string Style = """
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.2em; color: #1d232a; }
        h1 { font-size: 1.5em; margin: 0.2em 0 0.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #d8dee4; }
        a { color: #0b5cad; text-decoration: none; } a:hover { text-decoration: underline; }
        table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 0.3em 0.5em; border-bottom: 1px solid #eaeef2; vertical-align: top; }
        th { background: #f4f6f8; } th[data-key] { cursor: pointer; user-select: none; } th[data-dir="asc"]::after { content: " ▲"; } th[data-dir="desc"]::after { content: " ▼"; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .muted { color: #5b6670; } .label { font-weight: 600; } .controls { display: flex; gap: 0.8em; align-items: center; margin: 0.6em 0; }
        .controls input { flex: 1; font-size: 1em; padding: 0.35em 0.5em; }
        .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 0.3em 1em; margin: 0.6em 0; }
        .facts div { background: #f4f6f8; padding: 0.35em 0.6em; border-radius: 4px; } .facts b { display: block; font-size: 1.15em; }
        .document { border-left: 3px solid #d8dee4; padding: 0.3em 0.7em; margin: 0.5em 0; }
        .document .text { white-space: pre-wrap; overflow-wrap: anywhere; }
        mark { background: rgba(255, 166, 0, var(--s)); padding: 0 1px; border-radius: 2px; }
        .entered { color: #1a7f37; font-weight: 600; } .left { color: #b42318; font-weight: 600; }
        .bar { display: inline-block; height: 0.8em; background: #4a90d9; vertical-align: middle; }
        .bar.negative { background: #d9644a; }
        svg text { font: 11px system-ui, sans-serif; fill: #5b6670; }
        img { max-width: 100%; }
        """;

    /// <summary>
    /// An activation histogram as an SVG bar chart: one bar per bin between log-spaced <paramref name="edges"/>, from the
    /// first bin that holds a document to the last (bars' heights on a square-root scale so that small bins stay
    /// visible), each with its range and count as a tooltip.
    /// </summary>
    public static string Histogram(IReadOnlyList<long> allCounts, IReadOnlyList<float> allEdges)
    {
        var first = Math.Max(0, allCounts.ToList().FindIndex(c => c > 0));
        var last = Math.Max(first, allCounts.ToList().FindLastIndex(c => c > 0));
        var counts = allCounts.Skip(first).Take(last - first + 1).ToList();
        var edges = allEdges.Skip(first).Take(last - first + 2).ToList();
        const int width = 640, height = 160, left = 40, bottom = 24;
        var largest = Math.Max(1, counts.DefaultIfEmpty(0).Max());
        var barWidth = (width - left) / (double)Math.Max(1, counts.Count);
        var svg = new StringBuilder($"""<svg class="histogram" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="activation histogram">""");
        for (var bin = 0; bin < counts.Count; bin++)
        {
            var barHeight = Math.Sqrt(counts[bin] / (double)largest) * (height - bottom - 8);
            var range = bin + 1 < edges.Count ? $"{N(edges[bin])}–{N(edges[bin + 1])}" : $"≥ {N(edges[^1])}";
            svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{left + bin * barWidth:F1}" y="{height - bottom - barHeight:F1}" width="{Math.Max(1, barWidth - 1):F1}" height="{barHeight:F1}" fill="#4a90d9"><title>{H(range)}: {counts[bin]:N0} documents</title></rect>""");
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#8c959f"/>""");
        if (edges.Count > 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{left}" y="{height - 6}">{H(N(edges[0]))}</text>""");
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{width}" y="{height - 6}" text-anchor="end">{H(N(edges[^1]))} (activation, log-spaced bins)</text>""");
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<text x="0" y="12">{largest:N0}</text></svg>""");
        return svg.ToString();
    }

    /// <summary>
    /// Rank against frequency on log–log axes (the paper's Figure 3): each series' points (ranks thinned to about
    /// 60 per decade) and fitted lines log f = c − s · log r.
    /// </summary>
    public static string RankFrequencyPlot(IReadOnlyList<(string Name, long[] Descending, string Color)> series, IReadOnlyList<(string Name, double Exponent, double Intercept, int Points, string Color)> fits)
    {
        const int width = 640, height = 360, left = 56, bottom = 40, top = 12, right = 12;
        var maxRank = Math.Max(10, Math.Max(series.Select(s => s.Descending.Length).DefaultIfEmpty(1).Max(), fits.Select(f => f.Points).DefaultIfEmpty(1).Max()));
        var frequencies = series.SelectMany(s => s.Descending.Where(c => c > 0)).Concat(fits.Select(f => (long)Math.Round(Math.Pow(10, f.Intercept)))).ToList();
        var (xMax, yMax) = (Math.Ceiling(Math.Log10(maxRank)), Math.Ceiling(Math.Log10(Math.Max(10, frequencies.DefaultIfEmpty(10).Max()))));
        double X(double logRank) => left + logRank / xMax * (width - left - right);
        double Y(double logFrequency) => height - bottom - Math.Clamp(logFrequency, 0, yMax) / yMax * (height - bottom - top);

        var svg = new StringBuilder($"""<svg class="zipf" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="rank against frequency, log-log">""");
        for (var decade = 0; decade <= xMax; decade++)
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{X(decade):F1}" y1="{top}" x2="{X(decade):F1}" y2="{height - bottom}" stroke="#eaeef2"/><text x="{X(decade):F1}" y="{height - bottom + 14}" text-anchor="middle">10^{decade}</text>""");
        for (var decade = 0; decade <= yMax; decade++)
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{left}" y1="{Y(decade):F1}" x2="{width - right}" y2="{Y(decade):F1}" stroke="#eaeef2"/><text x="{left - 6}" y="{Y(decade) + 4:F1}" text-anchor="end">10^{decade}</text>""");
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{(left + width) / 2}" y="{height - 6}" text-anchor="middle">rank</text><text x="12" y="{(top + height - bottom) / 2}" transform="rotate(-90 12 {(top + height - bottom) / 2})" text-anchor="middle">documents</text>""");

        foreach (var (name, descending, color) in series)
        {
            var shown = new HashSet<int>();
            for (var rank = 1; rank <= descending.Length && descending[rank - 1] > 0; rank++)
            {
                var pixel = (int)X(Math.Log10(rank));
                if (!shown.Add(pixel))
                    continue; // one point per pixel column: the tail's thousands of ranks would only overdraw
                svg.Append(CultureInfo.InvariantCulture, $"""<circle cx="{X(Math.Log10(rank)):F1}" cy="{Y(Math.Log10(descending[rank - 1])):F1}" r="1.8" fill="{color}"/>""");
            }
        }

        var legend = 0;
        foreach (var (name, exponent, intercept, points, color) in fits)
        {
            var end = Math.Log10(Math.Max(2, points));
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{X(0):F1}" y1="{Y(intercept):F1}" x2="{X(end):F1}" y2="{Y(intercept - exponent * end):F1}" stroke="{color}" stroke-width="1.5" stroke-dasharray="5 3"/>""");
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{width - right}" y="{top + 14 + 16 * legend++}" text-anchor="end" style="fill:{color}">{H(name)}: s = {exponent:F2}</text>""");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>A Markdown pipe table (as saeml writes results) as an HTML table; other lines become paragraphs.</summary>
    public static string FromMarkdown(string markdown)
    {
        var html = new StringBuilder();
        var inTable = false;
        foreach (var line in markdown.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            var isRow = line.StartsWith('|');
            if (isRow && line.Replace("|", "", StringComparison.Ordinal).Trim().All(c => c is '-' or ':' or ' '))
                continue; // the header separator
            if (isRow != inTable)
            {
                html.Append(isRow ? "<table>" : "</table>");
                inTable = isRow;
            }

            if (isRow)
            {
                var cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim().Replace("**", "", StringComparison.Ordinal));
                html.Append("<tr>").Append(string.Concat(cells.Select(c => $"<td>{H(c)}</td>"))).Append("</tr>");
            }
            else if (line.Trim().Length > 0)
            {
                html.Append("<p>").Append(H(line.Trim())).Append("</p>");
            }
        }

        return (inTable ? html.Append("</table>") : html).ToString();
    }
}
