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
    /// <param name="module">The compiled code to check.</param>
    /// <param name="seam">The types allowed to use internals; <see cref="Types"/> when null.</param>
    public static List<string> Violations(ModuleDefinition module, IReadOnlyCollection<string>? seam = null)
    {
        seam ??= Types;
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var reference in AssemblyReferences.Of(module))
        {
            if (!IsMLNet(reference.To) || reference.From is { } from && seam.Contains(from.FullName))
                continue;
            if (reference.From is null && LoaderRegistration.Contains((reference.To as TypeReference ?? reference.To.DeclaringType).FullName))
                continue;
            if (Hidden(reference.To, reference.Site) is { } why)
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

    /// <summary>
    /// Why the real ML.NET assembly does not let <paramref name="from"/> use <paramref name="member"/>; null when it
    /// does. A protected member counts as visible only from a type that derives from its declaring type.
    /// </summary>
    private static string? Hidden(MemberReference member, TypeDefinition? from)
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
            TypeDefinition type => Visible(type, from) ? null : "type not public",
            MethodDefinition method => !Visible(method.DeclaringType, from) ? "declaring type not public"
                : method.IsPublic || (method.IsFamily || method.IsFamilyOrAssembly) && Derives(from, method.DeclaringType) ? null
                : method.IsFamily || method.IsFamilyOrAssembly ? "protected method used outside a derived type" : "method not public",
            FieldDefinition field => !Visible(field.DeclaringType, from) ? "declaring type not public"
                : field.IsPublic || (field.IsFamily || field.IsFamilyOrAssembly) && Derives(from, field.DeclaringType) ? null
                : field.IsFamily || field.IsFamilyOrAssembly ? "protected field used outside a derived type" : "field not public",
            _ => null,
        };
    }

    private static bool Visible(TypeDefinition type, TypeDefinition? from) =>
        !type.IsNested ? type.IsPublic
        : (type.IsNestedPublic || (type.IsNestedFamily || type.IsNestedFamilyOrAssembly) && Derives(from, type.DeclaringType)) && Visible(type.DeclaringType, from);

    /// <summary>Whether <paramref name="from"/> (or a type it is nested in) derives from <paramref name="baseType"/>.</summary>
    private static bool Derives(TypeDefinition? from, TypeDefinition baseType)
    {
        for (var outer = from; outer is not null; outer = outer.DeclaringType)
        {
            for (var type = outer.BaseType?.Resolve(); type is not null; type = type.BaseType?.Resolve())
            {
                if (type.FullName == baseType.FullName && type.Module.Assembly.Name.Name == baseType.Module.Assembly.Name.Name)
                    return true;
            }
        }

        return false;
    }
}
