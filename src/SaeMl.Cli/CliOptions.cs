using System.CommandLine;
using SaeMl.Compute;

namespace SaeMl.Cli;

/// <summary>Options that several commands share, spelled and validated the same way everywhere.</summary>
internal static class CliOptions
{
    /// <summary>An int option of at least 1.</summary>
    public static Option<int> PositiveInt(string name, string description, int defaultValue) => IntAtLeast(name, description, defaultValue, 1);

    /// <summary>An int option that may be 0 but not negative.</summary>
    public static Option<int> NonNegativeInt(string name, string description, int defaultValue) => IntAtLeast(name, description, defaultValue, 0);

    /// <summary>An int option of at least 1 that may be left out (null), for a default the command works out itself.</summary>
    public static Option<int?> OptionalPositiveInt(string name, string description)
    {
        var option = new Option<int?>(name) { Description = description };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
                result.AddError($"{name} must be at least 1.");
        });
        return option;
    }

    /// <summary>A float option whose value must satisfy <paramref name="rule"/>, checked at parse time in the flag's words.</summary>
    public static Option<float> Float(string name, string description, float defaultValue, Func<float, bool> rule, string expected)
    {
        var option = new Option<float>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<float>();
            if (!float.IsFinite(value) || !rule(value))
                result.AddError($"{name} must be {expected}; got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        });
        return option;
    }

    private static Option<int> IntAtLeast(string name, string description, int defaultValue, int minimum)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < minimum)
                result.AddError($"{name} must be at least {minimum}.");
        });
        return option;
    }

    /// <summary>Lets a command replace outputs that exist (never its inputs).</summary>
    public static Option<bool> Overwrite() => new("--overwrite") { Description = "Replace outputs that already exist (inputs are never overwritten)" };

    /// <summary>The device option, its value checked at parse time.</summary>
    public static Option<string> Device()
    {
        var option = new Option<string>("--device")
        {
            Description = "Where tensor work runs: auto (CUDA when available), cpu, cuda or cuda:N",
            DefaultValueFactory = _ => ComputeDevice.Auto.ToString(),
        };
        option.Validators.Add(result =>
        {
            try
            {
                ComputeDevice.Parse(result.GetValueOrDefault<string>() ?? "");
            }
            catch (ArgumentException e)
            {
                result.AddError($"--device: {CommandAction.OneLine(e)}");
            }
        });
        return option;
    }
}
