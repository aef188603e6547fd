using System.Globalization;
using System.Text;
using SaeMl.Data;
using SaeMl.Interpretation;
using static SaeMl.Cli.Reports.HtmlPage;

namespace SaeMl.Cli.Reports;

/// <summary>One document's score for a query, taken apart.</summary>
/// <param name="Rank">Its rank by the dense score (as text: "1", or "12,345" for a document explained with --doc).</param>
/// <param name="Id">Its corpus id.</param>
/// <param name="Snippet">Its title or first words, when the texts were given.</param>
/// <param name="Dense">The original embeddings' score.</param>
/// <param name="Reconstructed">The reconstructions' score, by latent pair and bias term.</param>
/// <param name="Terms">The latent score's terms (latents both fire), largest first.</param>
/// <param name="MissingLatents">For a document explained on its own: the query's strongest latents it lacks; otherwise null.</param>
internal sealed record ExplainedDocument(string Rank, string Id, string? Snippet, float Dense, ReconstructedScore Reconstructed, IReadOnlyList<LatentScoreTerm> Terms,
    IReadOnlyList<int>? MissingLatents)
{
    /// <summary>The latent score: the sum of the terms.</summary>
    public double LatentScore => Terms.Sum(t => t.Contribution);
}

/// <summary><c>saeml explain --html</c>: the explanation as one self-contained page, each latent's share drawn as a bar.</summary>
internal static class ExplainPage
{
    /// <summary>Writes the page to <paramref name="path"/> (under a temporary name, then renamed).</summary>
    public static void Write(string path, string query, IReadOnlyList<int> queryLatents, IReadOnlyList<ExplainedDocument> documents, IReadOnlyDictionary<int, string> labels, int shown)
    {
        string Named(int latent) => labels.TryGetValue(latent, out var label) ? $"{latent} <span class=\"muted\">{H(label)}</span>" : latent.ToString(CultureInfo.InvariantCulture);
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"<h1>Why these documents: <q>{H(query)}</q></h1>");
        body.Append("<p>The query's strongest latents: ").AppendJoin(", ", queryLatents.Select(Named)).Append("</p>");
        body.Append("<p class=\"muted\">In latent space a score is a sum over the latents both texts fire, one term per latent (query value × document value); "
            + "each term's share of that sum is shown, and the shares of all shared latents add up to 100 %.</p>");
        foreach (var document in documents)
        {
            var score = document.LatentScore;
            var largest = document.Terms.Select(t => Math.Abs(t.Contribution)).DefaultIfEmpty(1).Max();
            body.Append(CultureInfo.InvariantCulture, $"<section class=\"explained\"><h2>#{H(document.Rank)} {H(document.Id)} <span class=\"muted\">{H(document.Snippet)}</span></h2>");
            body.Append(CultureInfo.InvariantCulture,
                $"<div class=\"facts\"><div>dense score<b>{document.Dense:F4}</b></div><div>reconstructed score<b>{document.Reconstructed.Total:F4}</b></div>"
                + $"<div>latent score<b>{score:F4}</b></div><div>shared latents<b>{document.Terms.Count}</b></div></div>");
            body.Append("<table><tr><th>latent</th><th class=\"num\">query</th><th class=\"num\">document</th><th class=\"num\">term</th><th class=\"num\">share</th><th></th></tr>");
            foreach (var term in document.Terms.Take(shown))
            {
                var share = score == 0 ? 0 : term.Contribution / score;
                body.Append(CultureInfo.InvariantCulture,
                    $"<tr class=\"term\"><td>{Named(term.Latent)}</td><td class=\"num\">{term.QueryValue:F4}</td><td class=\"num\">{term.DocumentValue:F4}</td>"
                    + $"<td class=\"num\">{term.Contribution:F4}</td><td class=\"num\">{share:P1}</td>"
                    + $"<td><span class=\"bar{(term.Contribution < 0 ? " negative" : "")}\" style=\"width:{160 * Math.Abs(term.Contribution) / largest:F0}px\"></span></td></tr>");
            }

            var rest = document.Terms.Skip(shown).ToList();
            if (rest.Count > 0)
            {
                var restSum = rest.Sum(t => t.Contribution);
                body.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"muted\">{rest.Count} more shared latents</td><td></td><td></td><td class=\"num\">{restSum:F4}</td><td class=\"num\">{(score == 0 ? 0 : restSum / score):P1}</td><td></td></tr>");
            }

            body.Append(CultureInfo.InvariantCulture, $"<tr class=\"total\"><th>all {document.Terms.Count} shared latents</th><th></th><th></th><th class=\"num\">{score:F4}</th><th class=\"num\">{(score == 0 ? 0 : 1):P1}</th><th></th></tr></table>");
            var reconstructed = document.Reconstructed;
            body.Append(CultureInfo.InvariantCulture,
                $"<p class=\"muted\">The reconstructed score {reconstructed.Total:F4} ({reconstructed.ShareOf(document.Dense):P1} of the dense score) is latent pairs {reconstructed.Pairs.Sum(p => p.Contribution):F4} "
                + $"plus decoder-bias terms {reconstructed.QueryBias + reconstructed.DocumentBias + reconstructed.BiasBias:F4}.</p>");
            if (document.MissingLatents is { } missing)
                body.Append("<p>The query's strongest latents that the document lacks: ").Append(missing.Count == 0 ? "none" : string.Join(", ", missing.Select(Named))).Append(".</p>");
            body.Append("</section>");
        }

        AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(Page($"Explained: {query}", body.ToString()))));
    }
}
