using SaeMl.Autoencoder;

namespace SaeMl.Tests.Architecture;

public sealed class LayerTests
{
    [Fact]
    public void Every_reference_inside_the_library_points_down_the_layers()
    {
        using var library = AssemblyReferences.Read(typeof(SparseAutoencoder).Assembly.Location);

        string.Join(Environment.NewLine, Layers.Violations(library.MainModule)).Should().BeEmpty();
    }

    [Fact]
    public void Every_type_of_the_library_lives_in_a_layer()
    {
        using var library = AssemblyReferences.Read(typeof(SparseAutoencoder).Assembly.Location);

        TypesOutsideTheLayers(library.MainModule).Should().BeEmpty("a type outside the layers would escape the rule");
    }

    [Fact]
    public void A_type_outside_every_layer_is_found()
    {
        using var fixture = AssemblyReferences.Read(ArchitectureFixture.AssemblyPath, AppContext.BaseDirectory);

        TypesOutsideTheLayers(fixture.MainModule).Should().Equal("FixtureGlobalHelper", "SaeMl.Elsewhere.FixtureStray");
    }

    private static IEnumerable<string> TypesOutsideTheLayers(Mono.Cecil.ModuleDefinition module) =>
        module.Types.Where(t => !Layers.IsInfrastructure(t) && Layers.LayerOf(t.Namespace) is null).Select(t => t.FullName).Order(StringComparer.Ordinal);

    [Fact]
    public void A_reference_up_the_layers_or_between_peers_is_found()
    {
        using var fixture = AssemblyReferences.Read(ArchitectureFixture.AssemblyPath, AppContext.BaseDirectory);

        var violations = Layers.Violations(fixture.MainModule);

        violations.Should().Equal(
            "SaeMl.Search.FixtureByAttributeArgument (SaeMl.Search) → SaeMl.Embedding.FixtureCatalog (SaeMl.Embedding)",
            "SaeMl.Search.FixtureByBase (SaeMl.Search) → SaeMl.Evaluation.FixtureMarkAttribute (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureByBody (SaeMl.Search) → SaeMl.Evaluation.FixtureReport (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureByCatch (SaeMl.Search) → SaeMl.Evaluation.FixtureReport (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureByField (SaeMl.Search) → SaeMl.Evaluation.FixtureReport (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureByGenericArgument (SaeMl.Search) → SaeMl.Evaluation.FixtureReport (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureByParameterAttribute (SaeMl.Search) → SaeMl.Evaluation.FixtureMarkAttribute (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureBySignature (SaeMl.Search) → SaeMl.Evaluation.FixtureReport (SaeMl.Evaluation)");
    }
}
