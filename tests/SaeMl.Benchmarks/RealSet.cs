using System.CommandLine;
using SaeMl.Demo;

namespace SaeMl.Benchmarks;

/// <summary>
/// Builds the real-text retrieval set (Debian package descriptions in the BEIR layout) and extracts a real
/// embedding model's files, ready for <c>saeml embed</c>, <c>neighbors</c>, <c>train</c> and <c>evaluate</c>
/// (tests/SaeMl.Benchmarks/real-data/run.sh runs them all).
/// </summary>
internal static class RealSet
{
    public static Command Create()
    {
        var translations = new Option<string>("--translations") { Description = "Debian's Translation-en index as plain text (see docs/results.md for the two commands that fetch it)", Required = true };
        var output = new Option<string>("--output") { Description = "The BEIR folder to write", Required = true };
        var tests = new Option<int>("--test-queries") { Description = "Synopses kept apart as evaluation queries", DefaultValueFactory = _ => 2_000 };
        var model = new Option<string>("--model") { Description = "The real model whose files are extracted into <output>/model", DefaultValueFactory = _ => RealModel.ArcticXs.Name };
        var command = new Command("real-set", "Builds the Debian package-description retrieval set and extracts a real model") { translations, output, tests, model };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(output)!;
            var (documents, testQueries, trainingQueries) = DebianDescriptions.WriteRetrievalSet(DebianDescriptions.Read(parse.GetValue(translations)!), folder, parse.GetValue(tests));
            var (modelPath, vocabularyPath) = RealModel.Named(parse.GetValue(model)!).Extract(Path.Combine(folder, "model"));
            Console.WriteLine($"{documents:N0} documents, {testQueries:N0} test queries, {trainingQueries:N0} training queries in {folder}; model {modelPath}, vocabulary {vocabularyPath}");
            return 0;
        });
        return command;
    }
}
