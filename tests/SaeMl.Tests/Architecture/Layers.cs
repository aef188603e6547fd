using Mono.Cecil;

namespace SaeMl.Tests.Architecture;

/// <summary>
/// The library's layers, lowest first, as docs/design.md draws them. A type may use types of its own
/// layer's namespace (and its sub-namespaces) and of lower layers; layers on one level are peers that
/// do not use each other. The root namespace <c>SaeMl</c> sits on the lowest level.
/// </summary>
public static class Layers
{
    /// <summary>Each level's namespaces, lowest level first.</summary>
    public static readonly string[][] Levels =
    [
        ["SaeMl", "SaeMl.Data", "SaeMl.Compute"],
        ["SaeMl.MLNet"],
        ["SaeMl.Embedding", "SaeMl.Search"],
        ["SaeMl.Autoencoder"],
        ["SaeMl.Evaluation"],
        ["SaeMl.Interpretation", "SaeMl.Steering", "SaeMl.Interop"],
        ["Microsoft.ML"], // the catalog extensions (mlContext.Transforms.SparseAutoencode, …), in ML.NET's namespace
    ];

    /// <summary>Every reference of <paramref name="module"/> between two of its SaeMl namespaces that goes against the layers, as "from → to" lines.</summary>
    public static List<string> Violations(ModuleDefinition module)
    {
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var reference in AssemblyReferences.Of(module))
        {
            if (reference.From is null || reference.To is not TypeReference to || !IsDefinedIn(to, module))
                continue;
            var fromLayer = LayerOf(reference.From.Namespace);
            var toLayer = LayerOf(AssemblyReferences.Outermost(to).Namespace);
            if (fromLayer is null || toLayer is null || fromLayer == toLayer)
                continue;
            if (toLayer.Value.Level >= fromLayer.Value.Level)
                violations.Add($"{reference.From.FullName} ({fromLayer.Value.Name}) → {to.FullName} ({toLayer.Value.Name})");
        }

        return [.. violations];
    }

    /// <summary>Whether a top-level type is made by the compiler or the runtime's conventions rather than written as part of a layer.</summary>
    public static bool IsInfrastructure(TypeDefinition type) =>
        type.Name.StartsWith('<') || type.FullName == "System.Runtime.CompilerServices.IgnoresAccessChecksToAttribute";

    /// <summary>The layer a namespace belongs to: its level and the layer's namespace; null outside the layers.</summary>
    public static (int Level, string Name)? LayerOf(string @namespace)
    {
        for (var level = 0; level < Levels.Length; level++)
            foreach (var layer in Levels[level])
                if (layer != "SaeMl" && (@namespace == layer || @namespace.StartsWith(layer + ".", StringComparison.Ordinal)))
                    return (level, layer);
        return @namespace == "SaeMl" ? (0, "SaeMl") : null;
    }

    private static bool IsDefinedIn(TypeReference type, ModuleDefinition module) =>
        type is TypeDefinition definition ? definition.Module == module : type.Scope == module;
}
