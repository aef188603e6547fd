namespace SaeMl.Tests.Architecture;

/// <summary>The fixture assembly that breaks the rules on purpose (tests/SaeMl.ArchitectureFixture), read but never run.</summary>
public static class ArchitectureFixture
{
    /// <summary>Its path beside the tests.</summary>
    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "SaeMl.ArchitectureFixture.dll");
}
