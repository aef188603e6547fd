using Mono.Cecil;
using Mono.Cecil.Cil;

namespace SaeMl.Tests.Architecture;

/// <summary>A reference that compiled code makes: from a type of the assembly read, to a type or member of any assembly.</summary>
/// <param name="From">The outermost declaring type the reference is made in (compiler-generated types count as their declaring type); null for an assembly-level attribute.</param>
/// <param name="To">The type, method or field referred to.</param>
public sealed record CodeReference(TypeDefinition? From, MemberReference To)
{
    /// <summary>Where the reference is made, for messages.</summary>
    public string Place => From?.FullName ?? "[assembly: …]";
}

/// <summary>
/// Every reference a compiled assembly makes, read with Mono.Cecil: base types and interfaces,
/// fields, signatures, custom attributes, locals and every operand of every method body, with the
/// parts of generic instances, arrays and by-ref types taken apart.
/// </summary>
public static class AssemblyReferences
{
    /// <summary>Reads <paramref name="assemblyPath"/>, resolving other assemblies in <paramref name="searchDirectories"/>.</summary>
    public static AssemblyDefinition Read(string assemblyPath, params string[] searchDirectories)
    {
        var resolver = new DefaultAssemblyResolver();
        foreach (var directory in searchDirectories.Append(Path.GetDirectoryName(assemblyPath)!).Distinct())
            resolver.AddSearchDirectory(directory);
        return AssemblyDefinition.ReadAssembly(assemblyPath, new ReaderParameters { AssemblyResolver = resolver });
    }

    /// <summary>All references of the module, each once per place it is made from.</summary>
    public static IEnumerable<CodeReference> Of(ModuleDefinition module)
    {
        foreach (var attribute in module.Assembly.CustomAttributes)
            foreach (var reference in OfAttribute(attribute))
                yield return new CodeReference(null, reference);

        foreach (var type in module.GetTypes())
        {
            var from = Outermost(type);
            foreach (var reference in OfType(type))
                yield return new CodeReference(from, reference);
        }
    }

    /// <summary>The outermost type enclosing <paramref name="type"/> (itself when it is not nested).</summary>
    public static TypeDefinition Outermost(TypeDefinition type)
    {
        while (type.DeclaringType is { } declaring)
            type = declaring;
        return type;
    }

    private static IEnumerable<MemberReference> OfType(TypeDefinition type)
    {
        var found = new List<MemberReference>();
        if (type.BaseType is { } baseType)
            AddType(found, baseType);
        foreach (var implemented in type.Interfaces)
            AddType(found, implemented.InterfaceType);
        foreach (var parameter in type.GenericParameters)
            foreach (var constraint in parameter.Constraints)
                AddType(found, constraint.ConstraintType);
        found.AddRange(type.CustomAttributes.SelectMany(OfAttribute));
        foreach (var field in type.Fields)
        {
            AddType(found, field.FieldType);
            found.AddRange(field.CustomAttributes.SelectMany(OfAttribute));
        }

        foreach (var property in type.Properties)
            found.AddRange(property.CustomAttributes.SelectMany(OfAttribute));
        foreach (var method in type.Methods)
        {
            AddSignature(found, method);
            found.AddRange(method.CustomAttributes.SelectMany(OfAttribute));
            foreach (var overridden in method.Overrides)
                AddMember(found, overridden);
            if (!method.HasBody)
                continue;
            foreach (var local in method.Body.Variables)
                AddType(found, local.VariableType);
            foreach (var handler in method.Body.ExceptionHandlers.Where(h => h.CatchType is not null))
                AddType(found, handler.CatchType);
            foreach (var instruction in method.Body.Instructions)
                AddOperand(found, instruction);
        }

        return found;
    }

    private static IEnumerable<MemberReference> OfAttribute(CustomAttribute attribute)
    {
        var found = new List<MemberReference>();
        AddMember(found, attribute.Constructor);
        foreach (var argument in attribute.ConstructorArguments.Concat(attribute.Properties.Select(p => p.Argument)).Concat(attribute.Fields.Select(f => f.Argument)))
            if (argument.Value is TypeReference typeArgument)
                AddType(found, typeArgument);
        return found;
    }

    private static void AddOperand(List<MemberReference> found, Instruction instruction)
    {
        switch (instruction.Operand)
        {
            case TypeReference type:
                AddType(found, type);
                break;
            case MemberReference member:
                AddMember(found, member);
                break;
        }
    }

    private static void AddMember(List<MemberReference> found, MemberReference member)
    {
        switch (member)
        {
            case GenericInstanceMethod generic:
                foreach (var argument in generic.GenericArguments)
                    AddType(found, argument);
                AddMember(found, generic.ElementMethod);
                return;
            case MethodReference method:
                found.Add(method);
                AddType(found, method.DeclaringType);
                AddType(found, method.ReturnType);
                foreach (var parameter in method.Parameters)
                    AddType(found, parameter.ParameterType);
                return;
            case FieldReference field:
                found.Add(field);
                AddType(found, field.DeclaringType);
                AddType(found, field.FieldType);
                return;
            case TypeReference type:
                AddType(found, type);
                return;
        }
    }

    private static void AddSignature(List<MemberReference> found, MethodDefinition method)
    {
        AddType(found, method.ReturnType);
        foreach (var parameter in method.Parameters)
            AddType(found, parameter.ParameterType);
        foreach (var parameter in method.GenericParameters)
            foreach (var constraint in parameter.Constraints)
                AddType(found, constraint.ConstraintType);
    }

    private static void AddType(List<MemberReference> found, TypeReference type)
    {
        switch (type)
        {
            case GenericInstanceType generic:
                AddType(found, generic.ElementType);
                foreach (var argument in generic.GenericArguments)
                    AddType(found, argument);
                return;
            case TypeSpecification specification: // arrays, pointers, by-ref, modifiers
                AddType(found, specification.ElementType);
                return;
            case GenericParameter:
                return;
            default:
                found.Add(type);
                if (type.DeclaringType is { } declaring)
                    AddType(found, declaring);
                return;
        }
    }
}
