using System.Globalization;
using Spectre.Console;

namespace SaeMl.Cli;

/// <summary>
/// The console <c>saeml</c> writes to. On a terminal, the terminal's width. When the output goes to a file or a pipe,
/// where Spectre.Console would wrap every table at 80 columns and split numbers and names across lines, the width
/// <c>COLUMNS</c> gives, or <see cref="RedirectedWidth"/>.
/// </summary>
internal static class ToolConsole
{
    /// <summary>The width of redirected output without <c>COLUMNS</c>: wide enough that no table of the tool wraps.</summary>
    public const int RedirectedWidth = 400;

    /// <summary>The process's console, its width set for redirected output.</summary>
    public static IAnsiConsole Create()
    {
        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
            console.Profile.Width = WidthWhenRedirected(Environment.GetEnvironmentVariable("COLUMNS"));
        return console;
    }

    /// <summary>A positive whole <c>COLUMNS</c>, or <see cref="RedirectedWidth"/>.</summary>
    public static int WidthWhenRedirected(string? columns) =>
        int.TryParse(columns, NumberStyles.None, CultureInfo.InvariantCulture, out var width) && width > 0 ? width : RedirectedWidth;
}
