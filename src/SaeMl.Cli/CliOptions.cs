using System.CommandLine;
using SaeMl.Compute;

namespace SaeMl.Cli;

/// <summary>Options that several commands share, spelled and validated the same way everywhere.</summary>
internal static class CliOptions
{
    public static Option<int> PositiveInt(string name, string description, int defaultValue)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
                result.AddError($"{name} must be at least 1.");
        });
        return option;
    }

    public static Option<string> Device() => new("--device")
    {
        Description = "Where tensor work runs: auto (CUDA when available), cpu, cuda or cuda:N",
        DefaultValueFactory = _ => ComputeDevice.Auto.ToString(),
    };
}
