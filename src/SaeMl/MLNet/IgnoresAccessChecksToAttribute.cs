namespace System.Runtime.CompilerServices;

/// <summary>
/// Tells the runtime to let this assembly use non-public members of the named assembly. The runtime
/// recognises the attribute by name; the framework does not ship it, so each user defines it.
/// SaeMl needs it for ML.NET's model persistence (see docs/mlnet-persistence.md).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    /// <summary>The simple name of the assembly whose access checks are skipped.</summary>
    public string AssemblyName { get; } = assemblyName;
}
