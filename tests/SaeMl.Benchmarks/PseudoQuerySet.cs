using System.CommandLine;
using SaeMl.Demo;

namespace SaeMl.Benchmarks;

/// <summary>
/// Writes <c>pseudo-queries.jsonl</c> into a BEIR folder: query-like training texts cut from its documents, leaving
/// out the documents its test queries ask for (docs/results.md, "Pseudo-queries cut from the documents", embeds them next to the
/// real training queries and measures what they do).
/// </summary>
internal static class PseudoQuerySet
{
    public static Command Create()
    {
        var set = new Option<string>("--set") { Description = "The BEIR folder (corpus.jsonl, qrels/test.tsv)", Required = true };
        var perDocument = new Option<int>("--per-document") { Description = "The most pseudo-queries cut from one document", DefaultValueFactory = _ => 2 };
        var words = new Option<int>("--words") { Description = "The most words of a pseudo-query", DefaultValueFactory = _ => 12 };
        var exclude = new Option<string>("--exclude-split") { Description = "The qrels split whose relevant documents give none ('none' for no exclusion)", DefaultValueFactory = _ => "test" };
        var command = new Command("pseudo-queries", "Cuts query-like training texts from a BEIR corpus into <set>/pseudo-queries.jsonl") { set, perDocument, words, exclude };
        command.SetAction(parse =>
        {
            var (path, count) = PseudoQueries.Write(parse.GetValue(set)!, parse.GetValue(perDocument), parse.GetValue(words),
                parse.GetValue(exclude) is "none" ? null : parse.GetValue(exclude));
            Console.WriteLine($"{count:N0} pseudo-queries in {path}");
            return 0;
        });
        return command;
    }
}
