using Spectre.Console;

namespace SaeMl.Tests.Cli;

/// <summary>A plain, wide, non-interactive console writing into a string, for asserting on command output.</summary>
internal static class TestConsole
{
    public static IAnsiConsole Create(StringWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 400;
        return console;
    }
}
