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

        var outside = library.MainModule.Types
            .Where(t => t.Namespace.Length > 0 && t.Namespace != "System.Runtime.CompilerServices")
            .Where(t => Layers.LayerOf(t.Namespace) is null)
            .Select(t => t.FullName);

        outside.Should().BeEmpty("a namespace outside the layers would escape the rule");
    }

    [Fact]
    public void A_reference_up_the_layers_or_between_peers_is_found()
    {
        using var fixture = AssemblyReferences.Read(ArchitectureFixture.AssemblyPath, AppContext.BaseDirectory);

        var violations = Layers.Violations(fixture.MainModule);

        violations.Should().BeEquivalentTo(
            "SaeMl.Search.FixtureIndex (SaeMl.Search) → SaeMl.Evaluation.FixtureReport (SaeMl.Evaluation)",
            "SaeMl.Search.FixtureIndex (SaeMl.Search) → SaeMl.Embedding.FixtureCatalog (SaeMl.Embedding)");
    }
}
