using SaeMl.Demo;
using SaeMl.Tests.Cli;

namespace SaeMl.Tests.Packaging;

/// <summary>
/// The packages as an application outside this repository gets them: <c>dotnet pack</c> into a local feed, a
/// fresh console app in a temporary folder that references only SaeMl.Cpu from that feed, and a pipeline
/// trained, saved and loaded there in two processes.
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class PackageTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "saeml-package-" + Guid.NewGuid().ToString("N"));
    private readonly string _version = $"0.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Random.Shared.Next(100_000)}";

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);

        // The packages of this one version leave the NuGet cache with the test.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "saeml", "saeml.cpu" })
        {
            var folder = Path.Combine(cache, id, _version);
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
            if (Directory.Exists(Path.GetDirectoryName(folder)) && !Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(folder)!).Any())
                Directory.Delete(Path.GetDirectoryName(folder)!);
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "SaeMl.sln")))
                return folder.FullName;
        }

        throw new InvalidOperationException($"No SaeMl.sln above {AppContext.BaseDirectory}.");
    }

    private static async Task<CliResult> DotNet(string folder, params string[] args)
    {
        var result = await CliProcess.RunDotNetAsync(folder, TimeSpan.FromMinutes(5), args);
        result.ExitCode.Should().Be(0, $"dotnet {string.Join(' ', args)} failed:\n{result.Output}\n{result.Error}");
        return result;
    }

    [Fact]
    public async Task A_console_app_outside_the_repository_embeds_trains_saves_and_loads_with_one_package_reference()
    {
        var repository = RepositoryRoot();
        var feed = Path.Combine(_root, "feed");
        var app = Path.Combine(_root, "app");
        var data = Path.Combine(_root, "data");
        Path.GetRelativePath(repository, app).Should().StartWith("..", "the app must live outside the repository");

        // Built under the test's own folder, so the repository's bin and obj folders are left as they are.
        var artifacts = Path.Combine(_root, "artifacts");
        await DotNet(repository, "pack", "src/SaeMl", "-c", "Release", "-o", feed, "--artifacts-path", artifacts, $"-p:Version={_version}");
        await DotNet(repository, "pack", "src/SaeMl.Cpu", "-c", "Release", "-o", feed, "--artifacts-path", artifacts, $"-p:Version={_version}");
        Directory.CreateDirectory(app);
        await DotNet(app, "new", "console", "--framework", "net10.0", "--name", "OutsideApp", "--output", app);
        File.WriteAllText(Path.Combine(app, "nuget.config"),
            $"<configuration><packageSources><add key=\"saeml-local\" value=\"{feed}\" /></packageSources></configuration>");
        await DotNet(app, "add", "package", "SaeMl.Cpu", "--version", _version);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Packaging", "OutsideApp", "Program.cs"), Path.Combine(app, "Program.cs"), overwrite: true);
        await DotNet(app, "build", "-c", "Release");

        var project = File.ReadAllText(Path.Combine(app, "OutsideApp.csproj"));
        project.Should().Contain($"<PackageReference Include=\"SaeMl.Cpu\" Version=\"{_version}\" />").And.NotContain("ProjectReference");
        File.ReadAllLines(Path.Combine(app, "Program.cs")).Where(l => l.StartsWith("using ", StringComparison.Ordinal))
            .Should().Equal("using System.Globalization;", "using Microsoft.ML;", "using Microsoft.ML.Data;");

        // The demo world's texts and its embedding model stand in for a user's corpus and model.
        var world = Path.Combine(_root, "world");
        var generated = DemoWorld.Generate(new DemoWorldOptions { Documents = 120, Queries = 4, Dimension = 16, Concepts = 40, MaxRelevantPerQuery = 40 });
        generated.Write(world);
        Directory.CreateDirectory(data);
        File.Copy(Path.Combine(world, DemoWorld.ModelFile), Path.Combine(data, "model.onnx"));
        File.Copy(Path.Combine(world, DemoWorld.VocabularyFile), Path.Combine(data, "vocab.txt"));
        File.WriteAllLines(Path.Combine(data, "texts.txt"), generated.Documents.Select(DemoWorld.EmbeddingText));
        var dll = Path.Combine(app, "bin", "Release", "net10.0", "OutsideApp.dll");

        var trained = await DotNet(app, dll, "train", data);
        File.Delete(Path.Combine(data, "model.onnx")); // the zip must carry the model
        var loaded = await DotNet(app, dll, "load", data);

        trained.Output.Should().Contain("objective: FVU + 1 × (KL (the paper's) + 10 × latent-score KL) over each row's 32 neighbor documents")
            .And.Contain("neighbors by exact search over the 120 training rows", "the paper's method is the default in a text pipeline");
        var fromTraining = File.ReadAllLines(Path.Combine(data, "train.txt"));
        fromTraining.Should().HaveCount(120);
        fromTraining[0].Split(' ').Should().HaveCount(64 + 16);
        fromTraining.Select(l => l.Split(' ').Take(64).Count(v => v != "0")).Should().OnlyContain(nonZero => nonZero <= 4);
        File.ReadAllLines(Path.Combine(data, "load.txt")).Should().Equal(fromTraining, "a second process loading the zip gives the same outputs, bit for bit");
        loaded.Output.Should().NotContain("objective", "loading trains nothing");
    }
}
