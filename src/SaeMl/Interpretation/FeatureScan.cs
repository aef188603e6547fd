using SaeMl.Autoencoder;
using SaeMl.Data;

namespace SaeMl.Interpretation;

/// <summary>
/// One streaming pass of a corpus store through an autoencoder that gathers what interpretation reads:
/// per-latent <see cref="FeatureStatistics"/>, the exact <see cref="TopActivations"/>, an
/// <see cref="ActivationReservoir"/> for examples across quantiles and the <see cref="LatentCooccurrence"/>
/// that feature families come from. Memory depends on n and the options, not on the corpus size.
/// </summary>
public sealed class FeatureScan
{
    private FeatureScan(FeatureStatistics statistics, TopActivations top, ActivationReservoir samples, LatentCooccurrence cooccurrence)
    {
        Statistics = statistics;
        Top = top;
        Samples = samples;
        Cooccurrence = cooccurrence;
    }

    /// <summary>Per-latent counts, activations and histograms.</summary>
    public FeatureStatistics Statistics { get; }

    /// <summary>Each latent's exact top-activating documents.</summary>
    public TopActivations Top { get; }

    /// <summary>A uniform sample of each latent's activating documents.</summary>
    public ActivationReservoir Samples { get; }

    /// <summary>Latent pairs that fire together, over an even sample of the documents.</summary>
    public LatentCooccurrence Cooccurrence { get; }

    private const string FileMagic = "SAEMLSCAN";
    internal const int FileVersion = 1;

    /// <summary>
    /// Writes the finished scan to <paramref name="stream"/>, so that a later run (an interrupted interpretation
    /// resumed) reads it back instead of scanning the corpus again.
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(FileMagic);
        writer.Write(FileVersion);
        Statistics.Write(writer);
        Top.Write(writer);
        Samples.Write(writer);
        Cooccurrence.Write(writer);
    }

    /// <summary>Reads a scan that <see cref="Save"/> wrote.</summary>
    /// <exception cref="FormatException">The stream does not hold a saved scan of this version, or ends early.</exception>
    public static FeatureScan Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadString() != FileMagic || reader.ReadInt32() is var version && version != FileVersion)
                throw new FormatException($"The stream does not hold a saved feature scan of version {FileVersion}.");
            return new FeatureScan(FeatureStatistics.Read(reader), TopActivations.Read(reader), ActivationReservoir.Read(reader), LatentCooccurrence.Read(reader));
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentOutOfRangeException or IOException)
        {
            throw new FormatException("The saved feature scan is truncated or damaged.", e);
        }
    }

    /// <summary>Encodes every row of <paramref name="corpus"/> once, batch by batch, and gathers everything.</summary>
    /// <param name="autoencoder">The SAE whose latents are read.</param>
    /// <param name="corpus">The documents' embeddings, in corpus order.</param>
    /// <param name="options">What to keep; defaults when null.</param>
    /// <param name="progress">Receives the number of rows done after each batch.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">The store's dimension is not the autoencoder's, or the store is empty.</exception>
    public static FeatureScan Run(SparseAutoencoder autoencoder, EmbeddingStore corpus, FeatureScanOptions? options = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(corpus);
        options ??= new FeatureScanOptions();
        options.Validate();
        if (corpus.RowCount == 0)
            throw new ArgumentException($"Embedding store '{corpus.Name}' holds no documents to interpret.", nameof(corpus));
        var n = autoencoder.LatentSize;
        var scan = new FeatureScan(
            new FeatureStatistics(n, options.HistogramBins, options.HistogramMinimum, options.HistogramMaximum),
            new TopActivations(n, options.TopDocuments),
            new ActivationReservoir(n, options.SampledDocuments, options.Seed),
            new LatentCooccurrence(n, options.CooccurrencePairs));
        var stride = options.CooccurrenceDocuments == 0 ? 0 : (corpus.RowCount + options.CooccurrenceDocuments - 1) / options.CooccurrenceDocuments;
        foreach (var batch in autoencoder.EncodeStore(corpus, options.BatchRows, cancellationToken: cancellationToken))
        {
            var codes = batch.Codes;
            for (var i = 0; i < codes.Rows; i++)
            {
                var row = batch.Input.FirstRow + i;
                var latents = codes.IndicesOf(i);
                var values = codes.ValuesOf(i);
                scan.Statistics.AddDocument(latents, values);
                if (stride > 0 && row % stride == 0)
                    scan.Cooccurrence.AddDocument(latents, values);
                for (var k = 0; k < latents.Length; k++)
                {
                    if (values[k] > 0)
                    {
                        scan.Top.Add(latents[k], row, values[k]);
                        scan.Samples.Add(latents[k], row, values[k]);
                    }
                }
            }

            progress?.Report(batch.Input.FirstRow + codes.Rows);
        }

        return scan;
    }
}
