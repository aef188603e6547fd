using System.Globalization;
using Microsoft.ML;
using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Interpretation;
using SaeMl.Data.Npy;
using SaeMl.Embedding;
using SaeMl.Evaluation;
using SaeMl.Search;
using SaeMl.Steering;

namespace SaeMl.Demo;

/// <summary>
/// The paper's Table 1 on the demo world, step by step: write the world, embed its corpus, queries and
/// training queries, find each training query's nearest documents, train autoencoders at K = 32, 64 and
/// 128 and the MSE-only ablation, and evaluate the original embeddings, each model's latents and its
/// reconstructions against the qrels. Every step keeps its result in the world's folder and reuses it
/// on a later run; each returns whether it did the work. <c>saeml demo</c> runs these steps with
/// progress bars; the benchmarks run them bare.
/// </summary>
public sealed class DemoExperiment : IDisposable
{
    /// <summary>The largest K of Table 1's autoencoders; <see cref="DemoExperimentOptions.LatentSize"/> must be at least this.</summary>
    public const int LargestActiveLatents = 128;
    private static readonly int[] TableActiveLatents = [32, 64, LargestActiveLatents];
    private const int AblationActiveLatents = LargestActiveLatents;
    private EvaluationInputs? _evaluation;

    /// <summary>Generates the world (in memory; <see cref="WriteWorld"/> writes it).</summary>
    public DemoExperiment(DemoExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.LatentSize < LargestActiveLatents)
            throw new ArgumentException($"LatentSize is {options.LatentSize}; Table 1's autoencoders need at least {LargestActiveLatents} latents.", nameof(options));
        Options = options;
        World = DemoWorld.Generate(options.World);
        var world = options.World;
        WorldFolder = System.IO.Path.Combine(options.Folder,
            $"world-s{world.Seed}-{world.Documents}x{world.Dimension}-q{world.Queries}-c{world.Concepts}-r{world.MaxRelevantPerQuery}"
            + (world.IsHard ? string.Create(CultureInfo.InvariantCulture, $"-hard{world.CommonDirection}-{world.ConceptCorrelation}{(world.NoisyQueries ? "-noisy" : "")}{(world.SparseJudgements ? "-sparse" : "")}") : ""));
    }

    /// <summary>The settings.</summary>
    public DemoExperimentOptions Options { get; }

    /// <summary>The generated world.</summary>
    public DemoWorld World { get; }

    /// <summary>The world's folder: its BEIR files, model, embeddings, neighbors, models and Table 1.</summary>
    public string WorldFolder { get; }

    /// <summary>The store folder of one kind of texts.</summary>
    public string StorePath(DemoTexts texts) => System.IO.Path.Combine(WorldFolder, texts switch
    {
        DemoTexts.Corpus => "corpus-embeddings",
        DemoTexts.Queries => "query-embeddings",
        _ => $"training-query-embeddings-{Options.TrainingQueries}",
    });

    /// <summary>The training queries' neighbor rows (<c>.ids.npy</c>) and scores (<c>.scores.npy</c>), as <c>saeml neighbors</c> writes them.</summary>
    public (string Rows, string Scores) TrainingNeighborsPaths => (
        System.IO.Path.Combine(WorldFolder, $"training-neighbors-{Options.TrainingQueries}x{Options.TrainingNeighbors}.ids.npy"),
        System.IO.Path.Combine(WorldFolder, $"training-neighbors-{Options.TrainingQueries}x{Options.TrainingNeighbors}.scores.npy"));

    /// <summary>Writes the world's files unless its folder exists; false when it was reused.</summary>
    public bool WriteWorld()
    {
        if (Directory.Exists(WorldFolder))
            return false;
        World.Write(WorldFolder);
        return true;
    }

    /// <summary>The world's own embedding model, on <see cref="DemoExperimentOptions.Device"/> (<c>auto</c> falls back to the CPU).</summary>
    /// <param name="log">Receives ONNX Runtime's fallback message, if any.</param>
    public TextEmbedder CreateEmbedder(Action<string>? log = null) => TextEmbedder.Create(new TextEmbedderOptions
    {
        ModelPath = System.IO.Path.Combine(WorldFolder, DemoWorld.ModelFile),
        VocabularyPath = System.IO.Path.Combine(WorldFolder, DemoWorld.VocabularyFile),
        Device = Options.Device,
        AllowCpuFallback = Options.Device.Kind == DeviceKind.Auto,
    }, log);

    /// <summary>The texts of one kind, with their ids, in row order.</summary>
    public IReadOnlyList<TextRecord> Records(DemoTexts texts) => texts switch
    {
        DemoTexts.Corpus => [.. BeirReader.ReadCorpus(WorldFolder)],
        DemoTexts.Queries => [.. BeirReader.ReadQueries(WorldFolder)],
        _ => World.TrainingQueries(Options.TrainingQueries).Select((q, i) => new TextRecord(q.Id, "", q.Text, i + 1)).ToList(),
    };

    /// <summary>What the store of <paramref name="texts"/> is written from, as its unfinished marker records it (a resumed write must match).</summary>
    public string Job(DemoTexts texts) => texts switch
    {
        DemoTexts.Corpus => "demo corpus",
        DemoTexts.Queries => "demo queries",
        _ => $"demo training queries ({Options.TrainingQueries})",
    };

    /// <summary>Whether the store of <paramref name="texts"/> is complete (its manifest written).</summary>
    public bool IsEmbedded(DemoTexts texts) => File.Exists(System.IO.Path.Combine(StorePath(texts), EmbeddingStore.ManifestFileName));

    /// <summary>Embeds one kind of texts into its store unless it is complete; false when it was reused.</summary>
    /// <param name="texts">Which texts.</param>
    /// <param name="embedder">The world's model (<see cref="CreateEmbedder"/>).</param>
    /// <param name="progress">Receives the number of texts embedded so far.</param>
    /// <param name="cancellationToken">Stops between chunks.</param>
    public bool Embed(DemoTexts texts, TextEmbedder embedder, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        if (IsEmbedded(texts))
            return false;
        var folder = StorePath(texts);
        var records = Records(texts);
        embedder.EmbedToStoreFolder(records, IdIndex.Build(records, WorldFolder), folder, Job(texts), NpyDataType.Float32, rowsPerShard: null, progress, cancellationToken);
        return true;
    }

    /// <summary>Finds each training query's <see cref="DemoExperimentOptions.TrainingNeighbors"/> nearest documents unless done; false when reused.</summary>
    public bool FindTrainingNeighbors(IProgress<SearchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var (rows, scores) = TrainingNeighborsPaths;
        if (File.Exists(rows) && File.Exists(scores))
            return false;
        using var training = EmbeddingStore.Open(StorePath(DemoTexts.TrainingQueries));
        using var corpus = EmbeddingStore.Open(StorePath(DemoTexts.Corpus));
        var results = ExactSearch.Search(training, corpus, new ExactSearchOptions { K = Options.TrainingNeighbors, Device = Options.Device }, progress, cancellationToken);
        results.SaveNpy(rows, scores);
        return true;
    }

    /// <summary>The training queries with their neighbors' embeddings, read from the stores.</summary>
    public SaeTrainingData OpenTrainingData() =>
        SaeTrainingData.OpenStores(StorePath(DemoTexts.TrainingQueries), StorePath(DemoTexts.Corpus), TrainingNeighborsPaths.Rows);

    /// <summary>Table 1's autoencoders: K = 32, 64 and 128 with the default objective, and K = 128 trained on MSE alone.</summary>
    public IReadOnlyList<DemoModel> Table1Models() =>
        TableActiveLatents.Select(active => DefaultObjectiveModel(active))
            .Append(Model($"K = {AblationActiveLatents}, MSE only", AblationActiveLatents, klWeight: 0, latentKLRatio: 0))
            .ToList();

    /// <summary>An autoencoder with the default objective at K = <paramref name="activeLatents"/> (per vector on average with BatchTopK), with the experiment's n and epochs.</summary>
    public DemoModel DefaultObjectiveModel(int activeLatents, SparseActivation activation = SparseActivation.TopK)
    {
        var defaults = new SparseAutoencoderOptions();
        return Model(activation == SparseActivation.TopK ? $"K = {activeLatents}" : $"K = {activeLatents}, {activation}", activeLatents, defaults.KLWeight, defaults.LatentKLRatio, activation);
    }

    /// <summary>An autoencoder of the experiment; its zip's name carries its K and KL weights, so a zip an earlier default objective wrote (named without them) is not reused.</summary>
    private DemoModel Model(string label, int activeLatents, float klWeight, float latentKLRatio, SparseActivation activation = SparseActivation.TopK) => new(
        label,
        new SparseAutoencoderOptions
        {
            ReconstructionColumnName = SaeColumnNames.Reconstruction,
            LatentSize = Options.LatentSize, ActiveLatents = activeLatents, Activation = activation, KLWeight = klWeight, LatentKLRatio = latentKLRatio, Epochs = Options.Epochs,
            NeighborsPerQuery = Options.TrainingNeighbors, Device = Options.Device,
            BatchSize = SparseAutoencoderOptions.Defaults.BatchSize,   // the paper's 512 queries a step at every K, as Table 1 is recorded
        },
        System.IO.Path.Combine(WorldFolder, string.Create(CultureInfo.InvariantCulture,
            $"sae-n{Options.LatentSize}-k{activeLatents}{(activation == SparseActivation.TopK ? "" : "-" + activation.ToString().ToLowerInvariant())}-kl{klWeight}r{(klWeight == 0 ? 0 : latentKLRatio)}-e{Options.Epochs}-q{Options.TrainingQueries}x{Options.TrainingNeighbors}.zip")));

    /// <summary>Trains <paramref name="model"/> and saves its zip unless the zip exists; false when reused.</summary>
    public bool Train(DemoModel model, IProgress<SaeTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (File.Exists(model.Path))
            return false;
        using var data = OpenTrainingData();
        using var transformer = new Microsoft.ML.MLContext().Transforms
            .SparseAutoencode(model.Options, progress)
            .Fit(data, cancellationToken);
        transformer.Save(model.Path);
        return true;
    }

    /// <summary>
    /// Evaluates the evaluation queries against the corpus, with the original embeddings (<paramref name="autoencoder"/> null)
    /// or with an autoencoder's latents and reconstructions.
    /// </summary>
    /// <param name="autoencoder">The autoencoder, or null for the original embeddings alone.</param>
    /// <param name="options">Depth, metrics and working folder; null for Table 1's (the defaults, on <see cref="DemoExperimentOptions.Device"/>, working in <see cref="WorldFolder"/>).</param>
    /// <param name="progress">Receives each stage's progress.</param>
    /// <param name="cancellationToken">Stops between blocks.</param>
    public RetrievalEvaluation Evaluate(
        SparseAutoencoder? autoencoder,
        RetrievalEvaluationOptions? options = null,
        IProgress<RetrievalEvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var inputs = _evaluation ??= EvaluationInputs.Open(this);
        options ??= new RetrievalEvaluationOptions { Device = Options.Device, WorkingFolder = WorldFolder };
        return autoencoder is null
            ? DenseRetrievalEvaluator.Evaluate(inputs.Queries, inputs.QueryIds, inputs.Corpus, inputs.CorpusIds, inputs.Qrels, options, progress, cancellationToken)
            : DenseRetrievalEvaluator.EvaluateAutoencoder(autoencoder, inputs.Queries, inputs.QueryIds, inputs.Corpus, inputs.CorpusIds, inputs.Qrels, options, progress, cancellationToken);
    }

    /// <summary>Every step up to <paramref name="model"/> (world, embeddings, training neighbors, training), each reused when done; returns the model loaded on <see cref="DemoExperimentOptions.Device"/>.</summary>
    public SparseAutoencoderTransformer Prepare(DemoModel model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        WriteWorld();
        using (var embedder = CreateEmbedder())
        {
            foreach (var texts in Enum.GetValues<DemoTexts>())
                Embed(texts, embedder, cancellationToken: cancellationToken);
        }

        FindTrainingNeighbors(cancellationToken: cancellationToken);
        Train(model, cancellationToken: cancellationToken);
        return SparseAutoencoderTransformer.Load(model.Path, Options.Device);
    }

    /// <summary>The controllability study (<see cref="ControlExperiment"/>) of one autoencoder on the evaluation queries, over the paper's grid.</summary>
    public IReadOnlyList<ControlPoint> Control(SparseAutoencoder autoencoder, int depth = 1000, CancellationToken cancellationToken = default)
    {
        var inputs = _evaluation ??= EvaluationInputs.Open(this);
        return ControlExperiment.Run(autoencoder, inputs.Queries, inputs.QueryIds, inputs.Corpus, inputs.CorpusIds, inputs.Qrels, ControlExperiment.DoublingGrid(),
            depth, Options.Device, WorldFolder, cancellationToken);
    }

    /// <summary>
    /// One two-concept query ("weather" and "finance", two words of each) steered toward each concept
    /// (<see cref="PerspectiveExperiment"/>), each concept's latent picked from the corpus by <see cref="ConceptLatents.MostSeparating"/>.
    /// No case comes back when a world is too small to hold documents of both concepts.
    /// </summary>
    public (string Query, IReadOnlyList<PerspectiveCase> Cases) SteerTwoConcepts(SparseAutoencoder autoencoder, TextEmbedder embedder, CancellationToken cancellationToken = default)
    {
        var inputs = _evaluation ??= EvaluationInputs.Open(this);
        var (a, b) = (World.Concepts.First(c => c.Name == "weather"), World.Concepts.First(c => c.Name == "finance"));
        var (documentsA, documentsB) = (DocumentsOf(a), DocumentsOf(b));
        var text = string.Join(' ', a.Words.Take(2).Concat(b.Words.Take(2)));
        if (documentsA.Count == 0 || documentsB.Count == 0)
            return (text, []);
        var codes = CorpusCodes(autoencoder, cancellationToken);
        var embedded = embedder.Embed([text]);
        var query = new PerspectiveQuery($"{a.Name} + {b.Name}", Enumerable.Range(0, embedder.Dimension).Select(j => embedded[0, j]).ToArray(),
            new Perspective(ConceptLatents.MostSeparating(codes, documentsA, autoencoder.LatentSize), documentsA),
            new Perspective(ConceptLatents.MostSeparating(codes, documentsB, autoencoder.LatentSize), documentsB));
        return (text, PerspectiveExperiment.Run(autoencoder, inputs.Corpus, [query], 0.5f, k: 5, device: Options.Device, workingFolder: WorldFolder, cancellationToken: cancellationToken));
    }

    /// <summary>The corpus rows of the documents that carry <paramref name="concept"/>.</summary>
    public IReadOnlySet<long> DocumentsOf(DemoConcept concept) =>
        Enumerable.Range(0, World.Documents.Count).Where(r => World.Documents[r].Concepts.Contains(concept.Id)).Select(r => (long)r).ToHashSet();

    /// <summary>Every corpus document's latents under <paramref name="autoencoder"/>, row for row.</summary>
    public SparseCodes CorpusCodes(SparseAutoencoder autoencoder, CancellationToken cancellationToken = default)
    {
        var inputs = _evaluation ??= EvaluationInputs.Open(this);
        return SparseCodes.Concatenate(autoencoder.EncodeStore(inputs.Corpus, cancellationToken: cancellationToken).Select(batch => batch.Codes).ToList());
    }

    /// <summary>
    /// Interprets <paramref name="latentCount"/> alive latents of <paramref name="autoencoder"/> (drawn with seed 1),
    /// and those of <paramref name="include"/>, over the corpus with the local labeler, word saliency and label
    /// scores from the world's own model.
    /// </summary>
    public FeatureInterpretation Interpret(SparseAutoencoder autoencoder, TextEmbedder embedder, int latentCount, IEnumerable<int>? include = null,
        IProgress<InterpretationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        var inputs = _evaluation ??= EvaluationInputs.Open(this);
        var records = Records(DemoTexts.Corpus);
        var interpreter = new FeatureInterpreter(autoencoder, inputs.Corpus, [.. records.Select(r => r.EmbeddingText)], [.. records.Select(r => r.Id)])
        {
            DocumentEmbedder = embedder,
            QueryEmbedder = embedder,
        };
        var scan = interpreter.Scan(progress, cancellationToken);
        var random = new Random(1);
        var chosen = Enumerable.Range(0, autoencoder.LatentSize).Where(j => scan.Statistics.FireCounts[j] > 0)
            .OrderBy(_ => random.Next()).Take(latentCount).Concat(include ?? []).Distinct().Order().ToArray();
        return interpreter.InterpretAsync(scan, chosen, new LocalLabeler(interpreter.Words), progress: progress, cancellationToken: cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>The planted concept that at least <paramref name="share"/> of a latent's top 50 documents carry (the latent is then "pure"), or null.</summary>
    public DemoConcept? PlantedConcept(FeatureScan scan, int latent, double share = 0.8)
    {
        ArgumentNullException.ThrowIfNull(scan);
        var top = scan.Top.Of(latent).Take(50).Select(a => World.Documents[(int)a.Row]).ToList();
        var best = top.SelectMany(d => d.Concepts).GroupBy(c => c).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).FirstOrDefault();
        return top.Count >= 10 && best is not null && best.Count() >= share * top.Count ? World.Concepts[best.Key] : null;
    }

    /// <summary>Table 1's title: the world, the corpus and the training budget.</summary>
    public string Table1Title()
    {
        var inputs = _evaluation ??= EvaluationInputs.Open(this);
        return $"Table 1 on the demo world (seed {Options.World.Seed}): {inputs.Qrels.QueryCount:N0} queries, {inputs.Corpus.RowCount:N0} documents, d = {inputs.Corpus.Dimension}, "
            + $"n = {Options.LatentSize:N0}, {Options.Epochs} epochs on {Options.TrainingQueries:N0} training queries";
    }

    /// <summary>The folder Table 1 is written to.</summary>
    public string Table1Folder => System.IO.Path.Combine(WorldFolder, "table1");

    /// <summary>Closes the stores the evaluation opened.</summary>
    public void Dispose() => _evaluation?.Dispose();

    private sealed record EvaluationInputs(EmbeddingStore Queries, IdIndex QueryIds, EmbeddingStore Corpus, IdIndex CorpusIds, Qrels Qrels) : IDisposable
    {
        public static EvaluationInputs Open(DemoExperiment experiment)
        {
            var queries = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Queries));
            var corpus = EmbeddingStore.Open(experiment.StorePath(DemoTexts.Corpus));
            return new EvaluationInputs(queries, queries.LoadIds(), corpus, corpus.LoadIds(), Qrels.ReadTsv(System.IO.Path.Combine(experiment.WorldFolder, DemoWorld.QrelsFile)));
        }

        public void Dispose()
        {
            Queries.Dispose();
            Corpus.Dispose();
        }
    }
}
