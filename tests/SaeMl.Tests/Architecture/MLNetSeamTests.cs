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
    public void Without_the_seam_exemption_the_seam_itself_is_reported_so_the_check_reads_real_assemblies()
    {
        // Were the check resolving against the publicized copies, nothing would ever look internal.
        using var library = AssemblyReferences.Read(typeof(SparseAutoencoder).Assembly.Location, AppContext.BaseDirectory);

        var violations = MLNetSeam.Violations(library.MainModule, seam: []);

        violations.Should().Contain(v => v.StartsWith("SaeMl.MLNet.ModelPersistence → ", StringComparison.Ordinal) && v.Contains("ModelSaveContext::SetVersionInfo"));
        violations.Should().Contain(v => v.StartsWith("SaeMl.MLNet.MLNetInternals → ", StringComparison.Ordinal) && v.Contains("CatalogUtils::GetEnvironment"));
    }

    [Fact]
    public void An_MLNet_internal_used_outside_the_seam_is_found()
    {
        using var fixture = AssemblyReferences.Read(ArchitectureFixture.AssemblyPath, AppContext.BaseDirectory);

        var violations = MLNetSeam.Violations(fixture.MainModule);

        violations.Should().NotContain(v => v.StartsWith("SaeMl.MLNet.", StringComparison.Ordinal), "the same calls in the fixture's seam type are allowed");
        violations.Should().Contain(v => v.StartsWith("SaeMl.Embedding.FixtureCatalog → ", StringComparison.Ordinal)
            && v.Contains("CatalogUtils::GetEnvironment") && v.EndsWith("(declaring type not public)", StringComparison.Ordinal));
    }
}
