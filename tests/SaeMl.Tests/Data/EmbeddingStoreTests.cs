using SaeMl.Data;
using SaeMl.Data.Npy;

namespace SaeMl.Tests.Data;

public sealed class EmbeddingStoreTests : IDisposable
{
    private const int Dimension = 3;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Row r of the test matrix is (r, r + 0.25, -r): easy to recognise wherever it lands.</summary>
    private static float[] Rows(long first, long count) =>
        Enumerable.Range(0, (int)count).SelectMany(i => new[] { (float)(first + i), first + i + 0.25f, -(float)(first + i) }).ToArray();

    private string Shard(string name, float[] values, NpyDataType type = NpyDataType.Float32)
    {
        var path = _folder.File(name);
        NpyWriter.Write(path, values, Dimension, type);
        return path;
    }

    private static float[] ReadAll(EmbeddingStore store)
    {
        var values = new float[store.RowCount * store.Dimension];
        store.ReadRows(0, values);
        return values;
    }

    [Fact]
    public void Contiguous_shards_read_as_one_matrix_across_shard_boundaries()
    {
        string[] shards = [Shard("a.npy", Rows(0, 4)), Shard("b.npy", Rows(4, 1)), Shard("c.npy", Rows(5, 3), NpyDataType.Float16)];
        using var store = EmbeddingStore.Open(shards, ShardLayout.Contiguous);

        store.RowCount.Should().Be(8);
        store.Dimension.Should().Be(Dimension);
        ReadAll(store).Should().Equal(Rows(0, 8));
        var middle = new float[3 * Dimension];
        store.ReadRows(3, middle);
        middle.Should().Equal(Rows(3, 3));
    }

    [Fact]
    public void Round_robin_shards_put_row_i_in_shard_i_mod_s_at_offset_i_div_s()
    {
        // 7 rows over 3 shards: shard 0 = rows 0,3,6; shard 1 = rows 1,4; shard 2 = rows 2,5.
        string[] shards =
        [
            Shard("s0.npy", [.. Rows(0, 1), .. Rows(3, 1), .. Rows(6, 1)]),
            Shard("s1.npy", [.. Rows(1, 1), .. Rows(4, 1)]),
            Shard("s2.npy", [.. Rows(2, 1), .. Rows(5, 1)]),
        ];
        using var store = EmbeddingStore.Open(shards, ShardLayout.RoundRobin);

        store.RowCount.Should().Be(7);
        ReadAll(store).Should().Equal(Rows(0, 7));
        var tail = new float[2 * Dimension];
        store.ReadRows(5, tail);
        tail.Should().Equal(Rows(5, 2));
    }

    [Fact]
    public void Round_robin_shards_with_inconsistent_sizes_are_rejected()
    {
        string[] shards = [Shard("s0.npy", Rows(0, 1)), Shard("s1.npy", Rows(0, 2))];

        var open = () => EmbeddingStore.Open(shards, ShardLayout.RoundRobin);

        open.Should().Throw<FormatException>().WithMessage($"Shard '{shards[0]}' of round-robin embedding store*has 1 rows*must have 2*");
    }

    [Fact]
    public void Shards_of_different_dimensions_are_rejected_naming_both_files()
    {
        var first = Shard("a.npy", Rows(0, 2));
        var second = _folder.File("b.npy");
        NpyWriter.Write(second, new float[8], columns: 4);

        var open = () => EmbeddingStore.Open([first, second], ShardLayout.Contiguous);

        open.Should().Throw<FormatException>().WithMessage($"Shard '{second}'*has dimension 4, but shard '{first}' has dimension 3*");
    }

    [Fact]
    public void Integer_shards_are_not_embeddings()
    {
        var ids = _folder.File("ids.npy");
        NpyWriter.WriteIntegers(ids, [1L, 2L, 3L], columns: 3);

        var open = () => EmbeddingStore.Open(ids);

        open.Should().Throw<FormatException>().WithMessage($"Shard '{ids}'*Int64 values; embeddings must be float32 or float16*");
    }

    [Fact]
    public void LoadIds_reads_the_ids_beside_a_store_folder_and_checks_they_number_its_rows()
    {
        var folder = _folder.File("store");
        Directory.CreateDirectory(folder);
        NpyWriter.Write(Path.Combine(folder, "part-0.npy"), Rows(0, 3), Dimension);
        using var store = EmbeddingStore.Open(folder);
        store.IdsPath.Should().BeNull();
        var none = () => store.LoadIds();
        none.Should().Throw<FileNotFoundException>().WithMessage($"*'{folder}' has no ids.txt*");

        File.WriteAllLines(Path.Combine(folder, EmbeddingStore.IdsFileName), ["a", "b", "c"]);
        store.IdsPath.Should().Be(Path.Combine(folder, EmbeddingStore.IdsFileName));
        store.LoadIds().Ids.Should().Equal("a", "b", "c");

        var short_ = _folder.File("two.txt");
        File.WriteAllLines(short_, ["a", "b"]);
        var mismatch = () => store.LoadIds(short_);
        mismatch.Should().Throw<FormatException>().WithMessage($"'{short_}' holds 2 ids, but embedding store '{folder}' has 3 rows.");
    }

    [Fact]
    public void A_folder_without_manifest_is_read_in_natural_name_order()
    {
        Directory.CreateDirectory(_folder.File("store"));
        NpyWriter.Write(_folder.File("store/part-10.npy"), Rows(3, 1), Dimension);
        NpyWriter.Write(_folder.File("store/part-2.npy"), Rows(1, 2), Dimension);
        NpyWriter.Write(_folder.File("store/part-1.npy"), Rows(0, 1), Dimension);

        using var store = EmbeddingStore.Open(_folder.File("store"));

        store.ShardPaths.Select(Path.GetFileName).Should().Equal("part-1.npy", "part-2.npy", "part-10.npy");
        ReadAll(store).Should().Equal(Rows(0, 4));
    }

    [Fact]
    public void Writer_splits_rows_into_shards_and_the_manifest_reopens_them()
    {
        var folder = _folder.File("written");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension, rowsPerShard: 4))
        {
            writer.WriteRows(Rows(0, 3));
            writer.WriteRows(Rows(3, 7));
            writer.Commit();
        }

        using var store = EmbeddingStore.Open(folder);

        store.ShardPaths.Select(Path.GetFileName).Should().Equal("part-00000.npy", "part-00001.npy", "part-00002.npy");
        store.Layout.Should().Be(ShardLayout.Contiguous);
        ReadAll(store).Should().Equal(Rows(0, 10));
        Directory.GetFiles(folder).Select(Path.GetFileName).Order()
            .Should().Equal("part-00000.npy", "part-00001.npy", "part-00002.npy", "store.json");
    }

    [Fact]
    public void A_manifest_that_disagrees_with_its_shards_is_rejected()
    {
        var folder = _folder.File("written");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension, rowsPerShard: 2))
        {
            writer.WriteRows(Rows(0, 4));
            writer.Commit();
        }

        NpyWriter.Write(Path.Combine(folder, "part-00001.npy"), Rows(0, 3), Dimension);
        var open = () => EmbeddingStore.Open(folder);

        open.Should().Throw<FormatException>().WithMessage("*store.json' declares 4 rows*shards hold 5 rows*");
    }

    [Fact]
    public void Writer_refuses_a_folder_that_already_holds_a_store()
    {
        var folder = _folder.File("written");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension))
        {
            writer.WriteRows(Rows(0, 1));
            writer.Commit();
        }

        var again = () => new EmbeddingStoreWriter(folder, Dimension);

        again.Should().Throw<IOException>().WithMessage("*already holds an embedding store*");
    }

    [Fact]
    public void An_abandoned_write_is_refused_until_a_write_finishes()
    {
        var folder = _folder.File("abandoned");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension, rowsPerShard: 2))
            writer.WriteRows(Rows(0, 5)); // two complete shards on disk, no manifest

        var open = () => EmbeddingStore.Open(folder);
        open.Should().Throw<FormatException>().WithMessage($"Embedding store folder '{folder}' holds store.unfinished: its writer did not finish*");

        using (var writer = new EmbeddingStoreWriter(folder, Dimension, rowsPerShard: 2))
        {
            writer.WriteRows(Rows(0, 3));
            writer.Commit();
        }

        using var store = EmbeddingStore.Open(folder);
        ReadAll(store).Should().Equal(Rows(0, 3));
        File.Exists(Path.Combine(folder, EmbeddingStore.UnfinishedMarkerFileName)).Should().BeFalse();
    }

    [Fact]
    public void A_resumed_write_keeps_the_complete_shards_and_continues_after_them()
    {
        var folder = _folder.File("resumed");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension, rowsPerShard: 2, job: "embed corpus.tsv"))
            writer.WriteRows(Rows(0, 5)); // stops with shards of rows 0-1 and 2-3 complete, row 4 lost

        EmbeddingStoreWriter.CanResume(folder).Should().BeTrue();
        var otherJob = () => EmbeddingStoreWriter.Resume(folder, "embed queries.tsv");
        otherJob.Should().Throw<IOException>().WithMessage("*unfinished store of another job (embed corpus.tsv)*");

        using (var resumed = EmbeddingStoreWriter.Resume(folder, "embed corpus.tsv"))
        {
            resumed.RowsWritten.Should().Be(4);
            resumed.RowsPerShard.Should().Be(2);
            resumed.WriteRows(Rows(4, 3));
            resumed.Commit();
        }

        using var store = EmbeddingStore.Open(folder);
        ReadAll(store).Should().Equal(Rows(0, 7));
        EmbeddingStoreWriter.CanResume(folder).Should().BeFalse();
    }

    [Fact]
    public void A_write_stopped_inside_commit_resumes_to_just_the_manifest()
    {
        var folder = _folder.File("stopped-in-commit");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension, rowsPerShard: 2, job: "job"))
        {
            writer.WriteRows(Rows(0, 5));
            writer.Commit();
        }

        // What a crash after the short last shard's rename and before the manifest leaves behind.
        File.Delete(Path.Combine(folder, EmbeddingStore.ManifestFileName));
        new UnfinishedMarker(Dimension, NpyDataType.Float32, 2, "job").Write(Path.Combine(folder, EmbeddingStore.UnfinishedMarkerFileName));

        using (var resumed = EmbeddingStoreWriter.Resume(folder, "job"))
        {
            resumed.RowsWritten.Should().Be(5);
            resumed.AllRowsWritten.Should().BeTrue();
            resumed.Invoking(w => w.WriteRows(Rows(5, 1))).Should().Throw<InvalidOperationException>().WithMessage("*only Commit remains*");
            resumed.Commit();
        }

        using var store = EmbeddingStore.Open(folder);
        ReadAll(store).Should().Equal(Rows(0, 5));
    }

    [Fact]
    public void A_marker_left_beside_a_manifest_is_stale_and_ignored()
    {
        var folder = _folder.File("stale-marker");
        using (var writer = new EmbeddingStoreWriter(folder, Dimension, job: "job"))
        {
            writer.WriteRows(Rows(0, 3));
            writer.Commit();
        }

        // What a crash after the manifest and before the marker's deletion leaves behind.
        new UnfinishedMarker(Dimension, NpyDataType.Float32, 2, "job").Write(Path.Combine(folder, EmbeddingStore.UnfinishedMarkerFileName));

        using var store = EmbeddingStore.Open(folder);
        ReadAll(store).Should().Equal(Rows(0, 3));
        EmbeddingStoreWriter.CanResume(folder).Should().BeFalse();
    }

    [Fact]
    public void Batches_stream_consecutive_rows_with_a_short_last_batch()
    {
        using var store = EmbeddingStore.Open([Shard("a.npy", Rows(0, 5)), Shard("b.npy", Rows(5, 2))], ShardLayout.Contiguous);

        var batches = store.ReadBatches(batchRows: 3, firstRow: 1)
            .Select(b => (b.FirstRow, b.RowCount, Values: b.Values.ToArray()))
            .ToList();

        batches.Select(b => (b.FirstRow, b.RowCount)).Should().Equal((1L, 3), (4L, 3));
        batches[0].Values.Should().Equal(Rows(1, 3));
        batches[1].Values.Should().Equal(Rows(4, 3));
    }

    [Fact]
    public void Reading_outside_the_store_names_the_store_and_its_size()
    {
        var path = Shard("a.npy", Rows(0, 2));
        using var store = EmbeddingStore.Open(path);

        store.Invoking(s => s.ReadRows(1, new float[2 * Dimension])).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"Rows 1..2 are outside embedding store '{path}', which has 2 rows*");
    }

    [Fact]
    public void A_missing_path_is_reported_as_such()
    {
        var missing = _folder.File("nothing-here");

        var open = () => EmbeddingStore.Open(missing);

        open.Should().Throw<FileNotFoundException>().WithMessage($"No embedding store at '{missing}'*");
    }
}
