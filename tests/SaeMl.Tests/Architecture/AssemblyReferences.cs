using Mono.Cecil;
using Mono.Cecil.Cil;

namespace SaeMl.Tests.Architecture;

/// <summary>A reference that compiled code makes: from a type of the assembly read, to a type or member of any assembly.</summary>
/// <param name="From">The outermost declaring type the reference is made in (compiler-generated types count as their declaring type); null for an assembly-level attribute.</param>
/// <param name="Site">The type, nested or not, whose code makes the reference; null for an assembly-level attribute.</param>
/// <param name="To">The type, method or field referred to.</param>
public sealed record CodeReference(TypeDefinition? From, TypeDefinition? Site, MemberReference To)
{
    /// <summary>Where the reference is made, for messages.</summary>
    public string Place => From?.FullName ?? "[assembly: …]";
}

/// <summary>
/// Every reference a compiled assembly makes, read with Mono.Cecil: base types and interfaces, fields,
/// properties, events, signatures, generic constraints, custom attributes wherever they sit (assembly,
/// module, types, members, parameters, return values, generic parameters, interface implementations)
/// with their <c>typeof</c> and enum arguments, locals, catch clauses and every operand of every method
/// body (calli sites included), with generic instances, arrays, pointers, function pointers and modifiers
/// taken apart. Reflection by name is beyond it.
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
        foreach (var attribute in module.Assembly.CustomAttributes.Concat(module.CustomAttributes))
            foreach (var reference in OfAttribute(attribute))
                yield return new CodeReference(null, null, reference);

        foreach (var type in module.GetTypes())
        {
            var from = Outermost(type);
            foreach (var reference in OfType(type))
                yield return new CodeReference(from, type, reference);
        }
    }

    /// <summary>The outermost type enclosing <paramref name="type"/> (itself when it is not nested).</summary>
    public static T Outermost<T>(T type) where T : TypeReference
    {
        while (type.DeclaringType is T declaring)
            type = declaring;
        return type;
    }

    private static IEnumerable<MemberReference> OfType(TypeDefinition type)
    {
        var found = new List<MemberReference>();
        if (type.BaseType is { } baseType)
            AddType(found, baseType);
        foreach (var implemented in type.Interfaces)
        {
            AddType(found, implemented.InterfaceType);
            found.AddRange(implemented.CustomAttributes.SelectMany(OfAttribute));
        }

        AddGenericParameters(found, type.GenericParameters);
        found.AddRange(type.CustomAttributes.SelectMany(OfAttribute));
        foreach (var @event in type.Events)
        {
            AddType(found, @event.EventType);
            found.AddRange(@event.CustomAttributes.SelectMany(OfAttribute));
        }

        foreach (var field in type.Fields)
        {
            AddType(found, field.FieldType);
            found.AddRange(field.CustomAttributes.SelectMany(OfAttribute));
        }

        foreach (var property in type.Properties)
        {
            AddType(found, property.PropertyType);
            found.AddRange(property.CustomAttributes.SelectMany(OfAttribute));
        }
        foreach (var method in type.Methods)
        {
            AddSignature(found, method);
            found.AddRange(method.CustomAttributes.SelectMany(OfAttribute));
            found.AddRange(method.MethodReturnType.CustomAttributes.SelectMany(OfAttribute));
            foreach (var parameter in method.Parameters)
                found.AddRange(parameter.CustomAttributes.SelectMany(OfAttribute));
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
            AddArgument(found, argument);
        return found;
    }

    /// <summary>An attribute argument's type and value: <c>typeof</c> values, arrays of them, boxed values, enums.</summary>
    private static void AddArgument(List<MemberReference> found, CustomAttributeArgument argument)
    {
        AddType(found, argument.Type);
        switch (argument.Value)
        {
            case TypeReference type:
                AddType(found, type);
                break;
            case CustomAttributeArgument boxed:
                AddArgument(found, boxed);
                break;
            case CustomAttributeArgument[] array:
                foreach (var element in array)
                    AddArgument(found, element);
                break;
        }
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
            case CallSite site: // calli
                AddType(found, site.ReturnType);
                foreach (var parameter in site.Parameters)
                    AddType(found, parameter.ParameterType);
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
        AddGenericParameters(found, method.GenericParameters);
    }

    private static void AddGenericParameters(List<MemberReference> found, IEnumerable<GenericParameter> parameters)
    {
        foreach (var parameter in parameters)
        {
            found.AddRange(parameter.CustomAttributes.SelectMany(OfAttribute));
            foreach (var constraint in parameter.Constraints)
            {
                AddType(found, constraint.ConstraintType);
                found.AddRange(constraint.CustomAttributes.SelectMany(OfAttribute));
            }
        }
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
            case FunctionPointerType pointer:
                AddType(found, pointer.ReturnType);
                foreach (var parameter in pointer.Parameters)
                    AddType(found, parameter.ParameterType);
                return;
            case IModifierType modified: // modreq, modopt
                AddType(found, modified.ModifierType);
                AddType(found, modified.ElementType);
                return;
            case TypeSpecification specification: // arrays, pointers, by-ref, pinned, sentinels
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
