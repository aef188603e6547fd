using SaeMl.Examples;

var examples = new Dictionary<string, Action>
{
    ["exact-search"] = ExactSearchExample.Run,
    ["embed-text"] = EmbedTextExample.Run,
};

if (args.Length != 1 || !examples.TryGetValue(args[0], out var example))
{
    Console.Error.WriteLine($"Usage: dotnet run --project examples/SaeMl.Examples -- <{string.Join("|", examples.Keys)}>");
    return 2;
}

example();
return 0;
