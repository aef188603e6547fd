using SaeMl.Autoencoder;
using SaeMl.Data;
using SaeMl.Embedding;

namespace SaeMl.Interpretation;

/// <summary>
/// Interprets an autoencoder's latents over a corpus: one streaming scan for statistics, top documents,
/// samples and co-occurrence; then, for the latents asked for, word saliency and its patterns (with a
/// document embedder), labels, label scores (the embedding score with a query embedder) and decoder
/// neighbours. The result saves as a <see cref="FeatureAtlas"/>.
/// </summary>
public sealed partial class FeatureInterpreter
{
    private readonly SparseAutoencoder _autoencoder;
    private readonly EmbeddingStore _corpus;
    private readonly IReadOnlyList<string> _texts;
    private readonly IReadOnlyList<string> _ids;
    private WordCounts? _words;
    private (string Unit, long[] Counts)? _bagOfWords;

    /// <summary>An interpreter of <paramref name="autoencoder"/> over <paramref name="corpus"/>, whose row i is the document with id <paramref name="documentIds"/>[i] and text <paramref name="documentTexts"/>[i].</summary>
    /// <exception cref="ArgumentException">The dimensions differ, or the texts or ids do not match the store's rows.</exception>
    public FeatureInterpreter(SparseAutoencoder autoencoder, EmbeddingStore corpus, IReadOnlyList<string> documentTexts, IReadOnlyList<string> documentIds, InterpretationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(documentTexts);
        ArgumentNullException.ThrowIfNull(documentIds);
        if (corpus.Dimension != autoencoder.Dimension)
            throw new ArgumentException($"Embedding store '{corpus.Name}' has dimension {corpus.Dimension}, but the autoencoder reads {autoencoder.Dimension}.", nameof(corpus));
        if (documentTexts.Count != corpus.RowCount || documentIds.Count != corpus.RowCount)
            throw new ArgumentException($"Embedding store '{corpus.Name}' holds {corpus.RowCount} documents, but {documentTexts.Count} texts and {documentIds.Count} ids were given; each row needs its text and id.", nameof(documentTexts));
        Options = options ?? new InterpretationOptions();
        Options.Validate();
        _autoencoder = autoencoder;
        _corpus = corpus;
        _texts = documentTexts;
        _ids = documentIds;
    }

    /// <summary>The settings.</summary>
    public InterpretationOptions Options { get; }

    /// <summary>The model that embedded the corpus, for word saliency and the bag-of-words distribution over its vocabulary; null skips saliency.</summary>
    public TextEmbedder? DocumentEmbedder { get; init; }

    /// <summary>The model's query side (its query prefix), for embedding labels when scoring them; null skips the embedding score.</summary>
    public TextEmbedder? QueryEmbedder { get; init; }

    /// <summary>
    /// Where finished work is kept while the run goes on (the scan, then each latent's saliency, label and score),
    /// so that a run interrupted and started again with the same checkpoint does not redo it; null keeps nothing.
    /// </summary>
    public InterpretationCheckpoint? Checkpoint { get; init; }

    /// <summary>The corpus's word document frequencies, the local labeler's background (counted on first use).</summary>
    public WordCounts Words => _words ??= WordCounts.Of(_texts);

    /// <summary>Runs the streaming scan over the whole corpus, or reads the one <see cref="Checkpoint"/> kept.</summary>
    public FeatureScan Scan(IProgress<InterpretationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (ResumesCheckpoint() && Checkpoint!.LoadScan() is { } kept)
        {
            progress?.Report(new InterpretationProgress("scan", _corpus.RowCount, _corpus.RowCount));
            return kept;
        }

        var scan = FeatureScan.Run(_autoencoder, _corpus, Options.Scan, progress is null ? null : new CallbackProgress<long>(rows => progress.Report(new InterpretationProgress("scan", rows, _corpus.RowCount))), cancellationToken);
        Checkpoint?.SaveScan(scan); // a scan too large for the checkpoint is not kept; the rest of the run still is
        return scan;
    }

    /// <summary>
    /// Ties <see cref="Checkpoint"/> to this autoencoder, corpus and these settings (emptying it of another run's work);
    /// true when it holds work of this run to resume.
    /// </summary>
    public bool ResumesCheckpoint() => Checkpoint is not null && Checkpoint.Claim(_runKey ??= string.Join('|',
        FeatureAtlas.IdentityOf(_autoencoder), _corpus.Name, _corpus.RowCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _corpus.Dimension.ToString(System.Globalization.CultureInfo.InvariantCulture), TextsIdentity(), SettingsKey(Options),
        FeatureScan.FileVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), DocumentEmbedder is null ? "-" : "documents", QueryEmbedder is null ? "-" : "queries"));

    private string? _runKey;

    /// <summary>Every setting of <paramref name="options"/> (their public fields, nested ones included), as the checkpoint key holds them.</summary>
    internal static string SettingsKey(InterpretationOptions options) =>
        System.Text.Json.JsonSerializer.Serialize(options, OptionsJson.Default.InterpretationOptions);

    /// <summary>The options' JSON, fields included, generated at build time so that trimmed applications keep it working.</summary>
    [System.Text.Json.Serialization.JsonSourceGenerationOptions(IncludeFields = true)]
    [System.Text.Json.Serialization.JsonSerializable(typeof(InterpretationOptions))]
    private sealed partial class OptionsJson : System.Text.Json.Serialization.JsonSerializerContext;

    /// <summary>A SHA-256 of every document's id and text, in row order.</summary>
    private string TextsIdentity()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        for (var row = 0; row < _texts.Count; row++)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(_ids[row]));
            hash.AppendData([0]);
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(_texts[row]));
            hash.AppendData([0]);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>
    /// Interprets <paramref name="latents"/> on top of a finished <paramref name="scan"/>. Latents with a
    /// successful label from the same labeler in <paramref name="previous"/> (an earlier atlas of the same
    /// autoencoder) are not sent to the labeler again; the others are labelled
    /// <see cref="InterpretationOptions.LabelingParallelism"/> at a time.
    /// </summary>
    /// <exception cref="ArgumentException">The scan or <paramref name="previous"/> belongs to another autoencoder, or a latent is out of range.</exception>
    public async Task<FeatureInterpretation> InterpretAsync(
        FeatureScan scan,
        IReadOnlyList<int> latents,
        IFeatureLabeler labeler,
        FeatureAtlas? previous = null,
        IProgress<InterpretationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(labeler);
        if (scan.Statistics.LatentSize != _autoencoder.LatentSize)
            throw new ArgumentException($"The scan counts {scan.Statistics.LatentSize} latents; the autoencoder has {_autoencoder.LatentSize}.", nameof(scan));
        _autoencoder.CheckLatents(latents, nameof(latents));

        var identity = FeatureAtlas.IdentityOf(_autoencoder);
        if (previous is not null && previous.ModelIdentity != identity)
            throw new ArgumentException($"Feature atlas '{previous.Path}' was made for another autoencoder (identity {previous.ModelIdentity[..12]}…, this one {identity[..12]}…); its labels do not apply.", nameof(previous));
        var cached = new Dictionary<int, FeatureLabel>(previous?.Labels(labeler.Name) ?? new Dictionary<int, FeatureLabel>());
        if (ResumesCheckpoint())
        {
            foreach (var (latent, label) in Checkpoint!.Labels(labeler.Name))
            {
                if (!cached.TryGetValue(latent, out var earlier) || !earlier.Succeeded)
                    cached[latent] = label;
            }
        }

        var alive = latents.Distinct().Where(j => scan.Statistics.FireCounts[j] > 0).Order().ToArray();
        var saliencyOn = DocumentEmbedder is not null && Options.SaliencyDocuments > 0;
        var scorer = QueryEmbedder is null && !saliencyOn
            ? null
            : LabelScorer.Create(_autoencoder, _corpus, scan, alive, Options.ScoringDocuments, cancellationToken: cancellationToken);

        var saliency = new Dictionary<int, LatentSaliency>();
        if (saliencyOn)
        {
            for (var i = 0; i < alive.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Checkpoint?.Saliency(alive[i]) is not { } kept)
                {
                    kept = Saliency(alive[i], scan, scorer!);
                    Checkpoint?.Save(kept);
                }

                saliency[alive[i]] = kept;
                progress?.Report(new InterpretationProgress("saliency", i + 1, alive.Length));
            }
        }

        var labels = new System.Collections.Concurrent.ConcurrentDictionary<int, FeatureLabel>();
        var labelled = 0;
        await Parallel.ForEachAsync(alive, new ParallelOptions { MaxDegreeOfParallelism = Options.LabelingParallelism, CancellationToken = cancellationToken }, async (latent, token) =>
        {
            if (!cached.TryGetValue(latent, out var label) || !label.Succeeded)
            {
                label = await labeler.LabelAsync(Examples(latent, scan, saliency.GetValueOrDefault(latent)), token).ConfigureAwait(false);
                Checkpoint?.Save(label);
            }

            labels[latent] = label;
            progress?.Report(new InterpretationProgress("labels", Interlocked.Increment(ref labelled), alive.Length));
        }).ConfigureAwait(false);

        var scorable = labels.Values.Where(l => l.Succeeded && scorer is not null && scorer.Examples.ContainsKey(l.Latent)).OrderBy(l => l.Latent).ToList();
        var keptScores = scorable.Select(l => Checkpoint?.Score(l.Latent, l.Text)).OfType<LabelScore>().ToDictionary(k => k.Latent);
        var fresh = QueryEmbedder is null || scorable.Count == keptScores.Count ? [] : scorer!.EmbeddingScores(QueryEmbedder, [.. scorable.Where(l => !keptScores.ContainsKey(l.Latent))]);
        Checkpoint?.Save(fresh);
        var scores = QueryEmbedder is null ? [] : keptScores.Values.Concat(fresh).OrderBy(s => s.Latent).ToList();
        progress?.Report(new InterpretationProgress("scores", scorable.Count, scorable.Count));

        var neighbors = Options.Neighbors == 0 || alive.Length == 0 || _autoencoder.LatentSize < 2
            ? []
            : DecoderNeighbors.Of(_autoencoder, alive, Math.Min(Options.Neighbors, _autoencoder.LatentSize - 1));
        return new FeatureInterpretation(
            identity, _autoencoder.ActiveLatents, _autoencoder.ActivationThreshold, _corpus, _ids, scan,
            scan.Cooccurrence.Families(Options.FamilyStrength),
            BagOfWords,
            new SortedDictionary<int, FeatureLabel>(labels), scores.ToDictionary(s => s.Latent),
            saliency,
            alive.Select((latent, i) => (latent, neighbors.Count == 0 ? [] : neighbors[i])).ToDictionary(p => p.latent, p => (IReadOnlyList<LatentNeighbor>)p.Item2));
    }

    /// <summary>What a labeler sees of one latent.</summary>
    public LabelingExamples Examples(int latent, FeatureScan scan, LatentSaliency? saliency = null)
    {
        ArgumentNullException.ThrowIfNull(scan);
        LabelingExample Example(LatentActivation a) => new(_texts[(int)a.Row], a.Value,
            saliency is not null && saliency.SalientWords.TryGetValue(a.Row, out var words) ? [.. words.Select(w => w.Word)] : []);
        var top = scan.Top.Of(latent).Take(Options.LabelingDocuments).Select(Example).ToList();
        var quantiles = Options.ExamplesPerQuantile == 0 ? [] : scan.Samples.AcrossQuantiles(latent, Options.Quantiles, Options.ExamplesPerQuantile).SelectMany(q => q).Select(Example).ToList();
        return new LabelingExamples(latent, top, quantiles);
    }

    private LatentSaliency Saliency(int latent, FeatureScan scan, LabelScorer scorer)
    {
        var top = scan.Top.Of(latent).Take(Options.SaliencyDocuments).ToArray();
        var words = WordSaliency.Compute(DocumentEmbedder!, _autoencoder, latent, top.Select(a => _texts[(int)a.Row]).ToList(), Options.SaliencyWords);
        var patterns = SaliencyPatterns.Build(words);
        var (precision, recall) = scorer.Examples.TryGetValue(latent, out var heldOut)
            ? patterns.Evaluate(heldOut.Activating.Select(r => (_texts[(int)r], true)).Concat(heldOut.NonActivating.Select(r => (_texts[(int)r], false))))
            : (double.NaN, double.NaN);
        return new LatentSaliency(latent, top.Select((a, i) => (a.Row, words[i].Salient())).ToDictionary(p => p.Row, p => p.Item2), patterns.Patterns, precision, recall);
    }

    /// <summary>Document frequencies of the units the corpus is written in: the embedder's WordPiece tokens when there is one, else words (counted on first use).</summary>
    private (string Unit, long[] Counts) BagOfWords => _bagOfWords ??= CountBagOfWords();

    private (string Unit, long[] Counts) CountBagOfWords()
    {
        if (DocumentEmbedder is null)
            return ("words", [.. Words.Entries.Select(e => e.Value)]);
        var tokenizer = DocumentEmbedder.Vocabulary.CreateTokenizer();
        var counts = new long[DocumentEmbedder.Vocabulary.Tokens.Count];
        foreach (var text in _texts)
        {
            foreach (var id in tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true).Distinct())
                counts[id]++;
        }

        return ("wordpiece tokens", counts);
    }
}
