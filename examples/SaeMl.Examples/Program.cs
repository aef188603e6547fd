using SaeMl.Examples;

var examples = new Dictionary<string, Action<string[]>>
{
    ["exact-search"] = _ => ExactSearchExample.Run(),
    ["embed-text"] = _ => EmbedTextExample.Run(),
    ["train-evaluate"] = _ => TrainAndEvaluateExample.Run(),
    ["steer-text"] = rest => SteerTextExample.Run(rest.Length > 0 ? rest[0] : Path.Combine(Path.GetTempPath(), "saeml-example-steer-text")),
};

if (args.Length == 0 || !examples.TryGetValue(args[0], out var example) || (args[0] != "steer-text" && args.Length != 1) || args.Length > 2)
{
    Console.Error.WriteLine($"Usage: dotnet run --project examples/SaeMl.Examples -- <{string.Join("|", examples.Keys)}> (steer-text takes a folder: the first run saves its pipeline there, later runs load it)");
    return 2;
}

example(args[1..]);
return 0;
