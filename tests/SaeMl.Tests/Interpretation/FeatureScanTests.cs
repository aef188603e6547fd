using SaeMl.Autoencoder;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Interpretation;

namespace SaeMl.Tests.Interpretation;

/// <summary>The streaming scan against a brute-force read of every document's latents.</summary>
public sealed class FeatureScanTests : IDisposable
{
    private const int Dimension = 24, LatentSize = 40, ActiveLatents = 6, Documents = 2_000;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Top_documents_statistics_samples_and_cooccurrence_equal_a_brute_force_count()
    {
        var (store, autoencoder, vectors) = RandomCorpus();
        using var _ = store;
        using var __ = autoencoder;
        var options = new FeatureScanOptions { TopDocuments = 7, SampledDocuments = 5, BatchRows = 300, HistogramBins = 8, HistogramMinimum = 0.01f, HistogramMaximum = 2f };
        var scan = FeatureScan.Run(autoencoder, store, options);

        var codes = autoencoder.Encode(vectors);                                   // the whole corpus at once
        var fires = Enumerable.Range(0, LatentSize).Select(_ => new List<LatentActivation>()).ToArray();
        for (var row = 0; row < Documents; row++)
        {
            for (var k = 0; k < ActiveLatents; k++)
            {
                if (codes.ValuesOf(row)[k] > 0)
                    fires[codes.IndicesOf(row)[k]].Add(new LatentActivation(row, codes.ValuesOf(row)[k]));
            }
        }

        fires.Count(f => f.Count > options.TopDocuments).Should().BeGreaterThan(LatentSize / 2, "the check needs latents with more firing documents than are kept");
        scan.Statistics.Documents.Should().Be(Documents);
        for (var latent = 0; latent < LatentSize; latent++)
        {
            var expectedTop = fires[latent].OrderByDescending(a => a.Value).ThenBy(a => a.Row).Take(options.TopDocuments).ToArray();
            scan.Top.Of(latent).Should().Equal(expectedTop, $"latent {latent}'s top documents are the brute-force top, in order");
            scan.Statistics.FireCounts[latent].Should().Be(fires[latent].Count);
            scan.Statistics.MaxActivation(latent).Should().Be(fires[latent].Select(a => a.Value).DefaultIfEmpty(0).Max());
            scan.Statistics.MeanActivation(latent).Should().BeApproximately(fires[latent].Select(a => (double)a.Value).DefaultIfEmpty(0).Average(), 1e-9);
            var histogram = new long[options.HistogramBins];
            foreach (var a in fires[latent])
            {
                var bin = Enumerable.Range(0, options.HistogramBins).Last(b => b == 0 || a.Value >= scan.Statistics.BinEdges[b]);
                histogram[bin]++;
            }

            scan.Statistics.Histogram(latent).ToArray().Should().Equal(histogram, $"latent {latent}'s histogram counts each activation in its bin");
            var sample = scan.Samples.Of(latent);
            sample.Should().HaveCount(Math.Min(fires[latent].Count, options.SampledDocuments));
            sample.Should().OnlyContain(a => fires[latent].Contains(a), "the sample holds activating documents with their values");
        }

        for (var (first, second) = (0, 1); second < LatentSize; (first, second) = (first + 3, second + 5))
        {
            var together = Enumerable.Range(0, Documents).Count(row => Fires(codes, row, first) && Fires(codes, row, second));
            scan.Cooccurrence.Together(first, second).Should().Be(together, $"latents {first} and {second} fire together in {together} documents");
        }
    }

    [Fact]
    public void Ties_keep_the_earlier_document_and_a_heap_never_holds_more_than_its_capacity()
    {
        var top = new TopActivations(latentSize: 1, capacity: 3);
        foreach (var (row, value) in new[] { (0L, 1f), (1L, 2f), (2L, 2f), (3L, 0.5f), (4L, 2f), (5L, 3f) })
            top.Add(0, row, value);
        top.Of(0).Should().Equal(new LatentActivation(5, 3f), new LatentActivation(1, 2f), new LatentActivation(2, 2f));
    }

    [Fact]
    public void The_reservoir_samples_uniformly_and_quantile_examples_span_the_activation_range()
    {
        var hits = new int[100];
        for (var seed = 0; seed < 2_000; seed++)
        {
            var reservoir = new ActivationReservoir(latentSize: 1, capacity: 10, seed);
            for (var row = 0; row < 100; row++)
                reservoir.Add(0, row, row);
            foreach (var a in reservoir.Of(0))
                hits[a.Row]++;
        }

        hits.Should().OnlyContain(h => h > 120 && h < 280, "each of 100 rows is kept in about 10 % of 2,000 draws (200)");
        var full = new ActivationReservoir(latentSize: 1, capacity: 100, seed: 1);
        for (var row = 0; row < 100; row++)
            full.Add(0, row, row / 100f);
        var quantiles = full.AcrossQuantiles(0, quantiles: 4, perQuantile: 2);
        quantiles.Select(q => q.Select(a => a.Row)).Should().BeEquivalentTo(new[] { new[] { 0L, 12 }, [25, 37], [50, 62], [75, 87] }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Cooccurrence_follows_its_stride_and_can_be_turned_off()
    {
        var (store, autoencoder, _) = RandomCorpus();
        using var _s = store;
        using var _a = autoencoder;
        FeatureScan.Run(autoencoder, store, new FeatureScanOptions { CooccurrenceDocuments = 0 }).Cooccurrence.Documents.Should().Be(0);
        FeatureScan.Run(autoencoder, store, new FeatureScanOptions { CooccurrenceDocuments = 300 }).Cooccurrence.Documents.Should().Be(286, "every 7th of 2,000 rows (⌈2000 / 300⌉ = 7)");
    }

    [Fact]
    public void A_saved_scan_loads_with_every_count_sample_and_pair_and_a_damaged_one_is_refused()
    {
        var (store, autoencoder, _) = RandomCorpus();
        using var _s = store;
        using var _a = autoencoder;
        var scan = FeatureScan.Run(autoencoder, store, new FeatureScanOptions { TopDocuments = 7, SampledDocuments = 5, BatchRows = 300, CooccurrencePairs = 50 });
        scan.Cooccurrence.DroppedBelow.Should().BeGreaterThan(1, "the check covers a co-occurrence count that dropped pairs");
        using var saved = new MemoryStream();
        scan.Save(saved);

        saved.Position = 0;
        var loaded = FeatureScan.Load(saved);

        loaded.Statistics.Documents.Should().Be(scan.Statistics.Documents);
        loaded.Statistics.BinEdges.Should().Equal(scan.Statistics.BinEdges);
        loaded.Cooccurrence.DroppedBelow.Should().Be(scan.Cooccurrence.DroppedBelow);
        loaded.Cooccurrence.PairCount.Should().Be(scan.Cooccurrence.PairCount);
        for (var latent = 0; latent < LatentSize; latent++)
        {
            loaded.Statistics.FireCounts[latent].Should().Be(scan.Statistics.FireCounts[latent]);
            loaded.Statistics.MeanActivation(latent).Should().Be(scan.Statistics.MeanActivation(latent));
            loaded.Statistics.MaxActivation(latent).Should().Be(scan.Statistics.MaxActivation(latent));
            loaded.Statistics.Histogram(latent).ToArray().Should().Equal(scan.Statistics.Histogram(latent).ToArray());
            loaded.Top.Of(latent).Should().Equal(scan.Top.Of(latent));
            loaded.Samples.Of(latent).Should().Equal(scan.Samples.Of(latent));
            for (var other = 0; other < LatentSize; other++)
                loaded.Cooccurrence.Together(latent, other).Should().Be(scan.Cooccurrence.Together(latent, other));
        }

        var truncated = new MemoryStream(saved.ToArray()[..(int)(saved.Length / 2)]);
        FluentActions.Invoking(() => FeatureScan.Load(truncated)).Should().Throw<FormatException>().WithMessage("*truncated*");
        FluentActions.Invoking(() => FeatureScan.Load(new MemoryStream("not a scan"u8.ToArray()))).Should().Throw<FormatException>();
    }

    [Fact]
    public void An_empty_store_or_another_dimension_is_refused()
    {
        var (store, autoencoder, _) = RandomCorpus();
        using var _s = store;
        using var _a = autoencoder;
        var path = _folder.File("other.npy");
        NpyWriter.Write(path, new float[10 * (Dimension + 1)], Dimension + 1);
        using var other = EmbeddingStore.Open(path);
        FluentActions.Invoking(() => FeatureScan.Run(autoencoder, other)).Should().Throw<ArgumentException>().WithMessage("*dimension*");
        FluentActions.Invoking(() => FeatureScan.Run(autoencoder, store, new FeatureScanOptions { TopDocuments = 0 })).Should().Throw<ArgumentOutOfRangeException>();
        var empty = _folder.File("empty.npy");
        NpyWriter.Write(empty, [], Dimension);
        using var emptyStore = EmbeddingStore.Open(empty);
        FluentActions.Invoking(() => FeatureScan.Run(autoencoder, emptyStore)).Should().Throw<ArgumentException>().WithMessage("*holds no documents*");
    }

    private static bool Fires(SparseCodes codes, int row, int latent)
    {
        var at = codes.IndicesOf(row).IndexOf(latent);
        return at >= 0 && codes.ValuesOf(row)[at] > 0;
    }

    private (EmbeddingStore Store, SparseAutoencoder Autoencoder, float[] Vectors) RandomCorpus()
    {
        var random = new Random(3);
        var vectors = Enumerable.Range(0, Documents * Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        for (var i = 0; i < 50 * Dimension; i++)
            vectors[(Documents - 50) * Dimension + i] = vectors[i];                  // repeated rows: ties in every latent they fire
        var path = _folder.File($"{Guid.NewGuid():N}.npy");
        NpyWriter.Write(path, vectors, Dimension);
        var autoencoder = SparseAutoencoder.Initialize(Dimension, LatentSize, ActiveLatents, new float[Dimension], seed: 5, ComputeDevice.Cpu);
        return (EmbeddingStore.Open(path), autoencoder, vectors);
    }
}
