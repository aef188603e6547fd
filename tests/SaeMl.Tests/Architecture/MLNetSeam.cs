using Mono.Cecil;

namespace SaeMl.Tests.Architecture;

/// <summary>
/// The library compiles against copies of ML.NET whose internals are public (build/MLNetInternals.targets),
/// so the compiler cannot tell when code uses an ML.NET internal. This check can: it resolves every
/// reference into an ML.NET assembly against the real assemblies the tests run with, and reports the
/// ones that are not public there unless they are made from the seam's types.
/// </summary>
public static class MLNetSeam
{
    /// <summary>The seam: the only types that may use ML.NET members that are not public.</summary>
    public static readonly string[] Types =
    [
        "SaeMl.MLNet.ModelPersistence", "SaeMl.MLNet.SavedEntryWriter", "SaeMl.MLNet.SavedEntryReader", // MLNet/ModelPersistence.cs
        "SaeMl.MLNet.MLNetInternals", // MLNet/MLNetInternals.cs
    ];

    /// <summary>
    /// The non-public types allowed outside the seam, in assembly-level attributes only: ML.NET finds a saved
    /// transformer's loader only through <c>[assembly: LoadableClass(…, typeof(SignatureLoadModel), …)]</c>,
    /// written beside each transformer.
    /// </summary>
    public static readonly string[] LoaderRegistration = ["Microsoft.ML.LoadableClassAttribute", "Microsoft.ML.SignatureLoadModel"];

    /// <summary>Every use of a non-public ML.NET member outside the seam, as "place → member (why)" lines.</summary>
    public static List<string> Violations(ModuleDefinition module)
    {
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var reference in AssemblyReferences.Of(module))
        {
            if (!IsMLNet(reference.To) || reference.From is { } from && Types.Contains(from.FullName))
                continue;
            if (reference.From is null && LoaderRegistration.Contains((reference.To as TypeReference ?? reference.To.DeclaringType).FullName))
                continue;
            if (Hidden(reference.To) is { } why)
                violations.Add($"{reference.Place} → {reference.To.FullName} ({why})");
        }

        return [.. violations];
    }

    private static bool IsMLNet(MemberReference member)
    {
        var scope = member switch
        {
            TypeReference type => type.Scope,
            _ => member.DeclaringType?.Scope,
        };
        return scope is AssemblyNameReference assembly && assembly.Name.StartsWith("Microsoft.ML", StringComparison.Ordinal)
            && !assembly.Name.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal)
            && !assembly.Name.StartsWith("Microsoft.ML.Tokenizers", StringComparison.Ordinal);
    }

    /// <summary>Why the real ML.NET assembly does not let other assemblies use <paramref name="member"/>; null when it does.</summary>
    private static string? Hidden(MemberReference member)
    {
        IMemberDefinition? definition;
        try
        {
            definition = member switch
            {
                TypeReference type => type.Resolve(),
                MethodReference method => method.Resolve(),
                FieldReference field => field.Resolve(),
                _ => null,
            };
        }
        catch (AssemblyResolutionException e)
        {
            return $"its assembly {e.AssemblyReference.Name} was not found";
        }

        return definition switch
        {
            null => "not found in the real assembly",
            TypeDefinition type => Visible(type) ? null : "type not public",
            MethodDefinition method => !Visible(method.DeclaringType) ? "declaring type not public"
                : method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly ? null : "method not public",
            FieldDefinition field => !Visible(field.DeclaringType) ? "declaring type not public"
                : field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly ? null : "field not public",
            _ => null,
        };
    }

    private static bool Visible(TypeDefinition type) =>
        type.IsNested ? (type.IsNestedPublic || type.IsNestedFamily || type.IsNestedFamilyOrAssembly) && Visible(type.DeclaringType) : type.IsPublic;
}
