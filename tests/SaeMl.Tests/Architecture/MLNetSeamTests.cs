using SaeMl.Autoencoder;

namespace SaeMl.Tests.Architecture;

public sealed class MLNetSeamTests
{
    [Fact]
    public void Only_the_seam_uses_what_the_real_MLNet_assemblies_keep_internal()
    {
        using var library = AssemblyReferences.Read(typeof(SparseAutoencoder).Assembly.Location, AppContext.BaseDirectory);

        string.Join(Environment.NewLine, MLNetSeam.Violations(library.MainModule)).Should().BeEmpty();
    }

    [Fact]
    public void The_seam_does_use_MLNet_internals_so_the_check_reads_real_assemblies()
    {
        // Were the check resolving against the publicized copies, nothing would ever look internal.
        using var library = AssemblyReferences.Read(typeof(SparseAutoencoder).Assembly.Location, AppContext.BaseDirectory);
        var seamOnly = AssemblyReferences.Of(library.MainModule)
            .Where(r => r.From is { } from && MLNetSeam.Types.Contains(from.FullName))
            .Select(r => r.To.FullName);

        seamOnly.Should().Contain(name => name.Contains("ModelSaveContext::SetVersionInfo"));
    }

    [Fact]
    public void An_MLNet_internal_used_outside_the_seam_is_found()
    {
        using var fixture = AssemblyReferences.Read(ArchitectureFixture.AssemblyPath, AppContext.BaseDirectory);

        var violations = MLNetSeam.Violations(fixture.MainModule);

        violations.Should().NotBeEmpty().And.OnlyContain(v => v.StartsWith("SaeMl.Embedding.FixtureCatalog → ", StringComparison.Ordinal),
            "the same call in the fixture's seam type is allowed");
        violations.Should().Contain(v => v.Contains("CatalogUtils::GetEnvironment") && v.EndsWith("(declaring type not public)", StringComparison.Ordinal));
    }
}
