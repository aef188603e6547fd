using Mono.Cecil;
using Mono.Cecil.Cil;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeMl.Tests.Compute;

/// <summary>
/// TorchSharp frees a <see cref="Scalar"/> (and a <see cref="Generator"/>) only in its finalizer, which a
/// collection on another thread can run while libtorch is still reading it (see <see cref="HeldScalars"/>).
/// These tests hold the library, and this test assembly, to passing only ones that something keeps alive.
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class ScalarLifetimeTests
{
    private static readonly Lazy<HashSet<string>> ScalarMakingMethods = new(FindScalarMakingMethods);

    [Fact]
    public void Sums_and_products_on_held_scalars_survive_collections_running_beside_them()
    {
        // The same loop written `a + b` and `.mul(0.5f)` failed here within a second with
        // "Expected false to be true … toFloat": the implicit scalars were freed mid-call.
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        using var scope = NewDisposeScope();
        var a = ones(4, 4);
        var b = ones(4, 4).Plus(a);
        using var half = 0.5f.ToScalar();
        var total = 0.0;
        try
        {
            for (var i = 0; i < 300_000; i++)
            {
                using var step = NewDisposeScope();
                total += a.Plus(b).mul(half).clamp_min(HeldScalars.DivisorFloor).sum().item<float>();
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }

        total.Should().Be(300_000 * 16 * 1.5);
    }

    [Fact]
    public void The_library_passes_TorchSharp_only_scalars_it_holds() =>
        Violations(typeof(SparseAutoencoder).Assembly.Location).Should().BeEmpty();

    [Fact]
    public void The_tests_pass_TorchSharp_only_scalars_they_hold() =>
        Violations(typeof(ScalarLifetimeTests).Assembly.Location).Should().BeEmpty();

    [Fact]
    public void The_check_finds_the_unheld_scalars_of_ordinary_TorchSharp_code()
    {
        // The compiled form of ordinary TorchSharp arithmetic, as the library must not write it.
        var violations = Violations(typeof(ScalarLifetimeTests).Assembly.Location, examplesOnly: true);

        violations.Should().Contain(v => v.Contains("UnheldScalarExamples::Sum") && v.Contains("op_Addition"));
        violations.Should().Contain(v => v.Contains("UnheldScalarExamples::Halve") && v.Contains("op_Implicit"));
        violations.Should().Contain(v => v.Contains("UnheldScalarExamples::Threshold") && v.Contains("Scalar neither"));
        violations.Should().Contain(v => v.Contains("UnheldScalarExamples::Draw") && v.Contains("Generator neither"));
        violations.Should().NotContain(v => v.Contains("UnheldScalarExamples::Held"));
    }

    /// <summary>
    /// Calls that make a scalar nothing holds, for <see cref="The_check_finds_the_unheld_scalars_of_ordinary_TorchSharp_code"/>;
    /// never run, and left out of <see cref="The_tests_pass_TorchSharp_only_scalars_they_hold"/>.
    /// </summary>
    private static class UnheldScalarExamples
    {
        public static Tensor Sum(Tensor a, Tensor b) => a + b;

        public static Tensor Halve(Tensor a) => a.mul(0.5f);

        public static Tensor Threshold(Tensor a, long threshold) => a.gt(threshold.ToScalar());

        public static Tensor Draw() => randn([2], generator: new Generator(1));

        public static Tensor Held(Tensor a, long threshold)
        {
            using var held = threshold.ToScalar();
            return a.gt(held).Plus(a);
        }
    }

    /// <summary>
    /// Every call in an assembly that lets TorchSharp make a scalar nobody holds: an implicit conversion
    /// of a number, a TorchSharp method that converts one itself, or a <c>ToScalar()</c> (or a new
    /// <see cref="Generator"/>) that goes neither into a static field nor into a <c>using</c> local.
    /// </summary>
    /// <param name="assemblyPath">The assembly to read.</param>
    /// <param name="examplesOnly">Read only <see cref="UnheldScalarExamples"/>; otherwise every type but it.</param>
    private static List<string> Violations(string assemblyPath, bool examplesOnly = false)
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(Scalar).Assembly.Location)!);
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath, new ReaderParameters { AssemblyResolver = resolver });
        var examples = typeof(UnheldScalarExamples).FullName!.Replace('+', '/');
        var violations = new List<string>();
        foreach (var type in assembly.MainModule.GetTypes())
        {
            var inExamples = type.FullName == examples || type.FullName.StartsWith(examples + "/", StringComparison.Ordinal);
            if (inExamples != examplesOnly)
                continue;
            foreach (var method in type.Methods.Where(m => m.HasBody))
            {
                foreach (var instruction in method.Body.Instructions)
                {
                    if (instruction.Operand is not MethodReference called || !IsCall(instruction.OpCode) || !IsTorchSharp(called))
                        continue;
                    var name = $"{method.FullName} → {called.DeclaringType.Name}::{called.Name}";
                    if (IsImplicitScalar(called))
                        violations.Add($"{name}: a number converted to a Scalar implicitly");
                    else if (IsToScalar(called) && !IsHeld(method, instruction.Next))
                        violations.Add($"{name}: a Scalar neither in a static field nor in a using local");
                    else if (IsGeneratorConstruction(instruction, called) && !IsHeld(method, instruction.Next))
                        violations.Add($"{name}: a Generator neither in a static field nor in a using local");
                    else if (ScalarMakingMethods.Value.Contains(Key(called)))
                        violations.Add($"{name}: TorchSharp makes a Scalar inside it that nothing holds");
                }
            }
        }

        return violations;
    }

    /// <summary>TorchSharp's methods that convert a number to a Scalar, and every TorchSharp method that calls one.</summary>
    private static HashSet<string> FindScalarMakingMethods()
    {
        using var torchSharp = AssemblyDefinition.ReadAssembly(typeof(Scalar).Assembly.Location);
        var callers = new Dictionary<string, List<string>>();
        var makers = new HashSet<string>();
        foreach (var method in torchSharp.MainModule.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody))
        {
            foreach (var instruction in method.Body.Instructions)
            {
                if (instruction.Operand is not MethodReference called || !IsCall(instruction.OpCode))
                    continue;
                if (IsImplicitScalar(called) || IsToScalar(called))
                    makers.Add(method.FullName);
                else if (called.DeclaringType.Scope == torchSharp.MainModule)
                {
                    var key = Key(called);
                    if (!callers.TryGetValue(key, out var list))
                        callers[key] = list = [];
                    list.Add(method.FullName);
                }
            }
        }

        var pending = new Queue<string>(makers);
        while (pending.TryDequeue(out var maker))
            foreach (var caller in callers.GetValueOrDefault(maker, []))
                if (makers.Add(caller))
                    pending.Enqueue(caller);
        return makers;
    }

    private static bool IsCall(OpCode code) => code == OpCodes.Call || code == OpCodes.Callvirt || code == OpCodes.Newobj;

    private static bool IsTorchSharp(MethodReference method) => method.DeclaringType.Scope.Name is "TorchSharp" or "TorchSharp.dll";

    private static bool IsImplicitScalar(MethodReference method) =>
        method.Name == "op_Implicit" && method.ReturnType.FullName == "TorchSharp.Scalar";

    private static bool IsToScalar(MethodReference method) =>
        method.DeclaringType.FullName == "TorchSharp.ScalarExtensionMethods" && method.ReturnType.FullName == "TorchSharp.Scalar";

    private static bool IsGeneratorConstruction(Instruction instruction, MethodReference method) =>
        instruction.OpCode == OpCodes.Newobj && method.DeclaringType.FullName == "TorchSharp.torch/Generator";

    /// <summary>
    /// Whether the value just made is stored in a static field, or in a local that the method disposes
    /// (a <c>using</c> local). A mere local is not enough: the compiler spills out-of-order named
    /// arguments into locals, which the optimising JIT treats as dead after their last read.
    /// </summary>
    private static bool IsHeld(MethodDefinition method, Instruction? store)
    {
        if (store?.OpCode.Code == Code.Stsfld)
            return true;
        if (store is null || LocalIndex(store, stores: true) is not { } local)
            return false;
        return method.Body.Instructions.Any(load =>
            LocalIndex(load, stores: false) == local
            && load.Next is { Operand: MethodReference { Name: "Dispose" } } dispose
            && (dispose.OpCode == OpCodes.Callvirt || dispose.OpCode == OpCodes.Call));
    }

    /// <summary>The local an <c>stloc</c> (or <c>ldloc</c>) instruction names, or null for any other instruction.</summary>
    private static int? LocalIndex(Instruction instruction, bool stores) => (instruction.OpCode.Code, stores) switch
    {
        (Code.Stloc_0, true) or (Code.Ldloc_0, false) => 0,
        (Code.Stloc_1, true) or (Code.Ldloc_1, false) => 1,
        (Code.Stloc_2, true) or (Code.Ldloc_2, false) => 2,
        (Code.Stloc_3, true) or (Code.Ldloc_3, false) => 3,
        (Code.Stloc or Code.Stloc_S, true) or (Code.Ldloc or Code.Ldloc_S, false) => ((VariableDefinition)instruction.Operand).Index,
        _ => null,
    };

    private static string Key(MethodReference method) => (method.Resolve() ?? method).FullName;
}
