using System.CommandLine;
using SaeMl.Benchmarks;

var root = new RootCommand("SaeMl benchmarks: each prints a Markdown section for docs/benchmarks.md")
{
    ExactSearchBenchmark.Create(),
    EmbedTextBenchmark.Create(),
    SaeRetrievalExperiment.Create(),
    RetentionStudy.Create(),
    SaeTrainingBenchmark.Create(),
    SaeStepProfile.Create(),
    SparseIndexBenchmark.Create(),
    SparseIndexBenchmark.CreateTrained(),
    DeviceAgreement.Create(),
    SteeringBenchmark.Create(),
    ControlStudy.Create(),
    PerspectiveStudy.Create(),
    FeedbackStudy.Create(),
    InterpretationStudy.Create(),
    RealSet.Create(),
    PseudoQuerySet.Create(),
    RealInterpretationStudy.Create(),
    RealPerspectiveStudy.Create(),
};
foreach (var command in FeatureScanBenchmark.Create().Concat(SearchEngineExportBenchmark.Create()))
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
