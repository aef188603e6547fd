using Microsoft.ML;
using System.Security.Cryptography;
using SaeMl.Compute;
using SaeMl.Data;
using SaeMl.Data.Npy;
using SaeMl.Demo;
using SaeMl.Embedding;

namespace SaeMl.Tests.Demo;

public sealed class DemoWorldTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly DemoWorldOptions Small = new() { Documents = 1_500, Queries = 120, Dimension = 32, Concepts = 60, MaxRelevantPerQuery = 60 };
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Dictionary<string, string> Hashes(string folder) => Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void The_same_seed_writes_the_same_files_byte_for_byte()
    {
        DemoWorld.Generate(Small).Write(_folder.File("a"));
        DemoWorld.Generate(Small).Write(_folder.File("b"));
        DemoWorld.Generate(Small with { Seed = 7 }).Write(_folder.File("c"));

        var a = Hashes(_folder.File("a"));
        a.Keys.Should().BeEquivalentTo(
            "corpus.jsonl", "queries.jsonl", Path.Combine("qrels", "test.tsv"), "model.onnx", "vocab.txt", "concepts.json", "reference-corpus.npy", "reference-queries.npy");
        Hashes(_folder.File("b")).Should().Equal(a);
        Hashes(_folder.File("c"))["corpus.jsonl"].Should().NotBe(a["corpus.jsonl"]);
    }

    /// <summary>
    /// Pinned on the machine that generated them. A different hash elsewhere means the generator is not
    /// portable (a platform's arithmetic or Random differs), which the byte-for-byte claim rules out.
    /// </summary>
    [Fact]
    public void The_small_world_matches_its_pinned_hashes()
    {
        DemoWorld.Generate(Small).Write(_folder.File("pinned"));

        Hashes(_folder.File("pinned")).ToDictionary(p => p.Key.Replace('\\', '/'), p => p.Value).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["concepts.json"] = "D17DFEAAC382C7F9A5FE3DC0EB13B6333AE0FFDEB7801E73796B7680A4D94875",
            ["corpus.jsonl"] = "C7C91D271444AEA0FB1F77A837376D660077E52ACFC97F3311C586C1944EAA97",
            ["model.onnx"] = "3B6C053BF41795D5B6C52A32C2FE3E91AF9FEBE17CC793441976EE7ABD260832",
            ["qrels/test.tsv"] = "3F34F6031691BAA99F95667BE3007D58DA84E7658711F7ADD0D2C14A2697AE08",
            ["queries.jsonl"] = "39ECDFABBB4B43F294A6C1D45ADA4485B55B636C9436C1FC0C430B9F9430DB0D",
            ["reference-corpus.npy"] = "20A3208F3B3533119D24F21BF6091A3CA21D3E97E3D61359D3323532F054D07B",
            ["reference-queries.npy"] = "90AE7271D047CCD9CE788827639555EC772B5584E069D771E1A6D4EE7F597B3A",
            ["vocab.txt"] = "E8868B644ED65DD2675595DF9601AE15FD9D0FEFEDD57E8B68D2707FB61824A0",
        });
    }

    [Fact]
    public void Every_query_has_relevant_documents_that_hold_all_its_concepts()
    {
        var world = DemoWorld.Generate(Small);
        var documents = world.Documents.ToDictionary(d => d.Id);
        var byQuery = world.Judgements.GroupBy(j => j.QueryId).ToDictionary(g => g.Key, g => g.ToList());

        world.Queries.Should().HaveCount(120);
        world.Concepts.Where(c => c.HandPicked).Select(c => c.Name).Should().Contain(["weather", "cooking", "astronomy"]);
        world.Documents.Should().OnlyContain(d => d.Concepts.Count >= 1 && d.Concepts.Count <= 3 && d.Concepts.Distinct().Count() == d.Concepts.Count);
        foreach (var query in world.Queries)
        {
            var relevant = byQuery[query.Id];
            relevant.Count.Should().BeInRange(1, Small.MaxRelevantPerQuery);
            var holdingAll = world.Documents.Where(d => query.Concepts.All(d.Concepts.Contains)).Select(d => d.Id);
            relevant.Select(j => j.DocumentId).Should().BeEquivalentTo(holdingAll, $"query {query.Id} judges exactly the documents holding all its concepts");
            relevant.Should().OnlyContain(j => j.Grade == (query.Concepts.Contains(documents[j.DocumentId].Concepts[0]) ? 2 : 1));
        }
    }

    [Fact]
    public void Its_files_read_back_through_the_beir_readers()
    {
        var world = DemoWorld.Generate(Small);
        world.Write(_folder.File("world"));

        var corpus = BeirReader.ReadCorpus(_folder.File("world")).ToList();
        var queries = BeirReader.ReadQueries(_folder.File("world")).ToList();
        var qrels = BeirReader.ReadQrels(_folder.File("world"));

        corpus.Select(r => (r.Id, r.Title, r.Text)).Should().Equal(world.Documents.Select(d => (d.Id, d.Title, d.Text)));
        queries.Select(r => (r.Id, r.Text)).Should().Equal(world.Queries.Select(q => (q.Id, q.Text)));
        qrels.JudgementCount.Should().Be(world.Judgements.Count);
        IdIndex.Build(corpus, "corpus").Count.Should().Be(Small.Documents);
    }

    [Fact]
    public void Embed_text_on_its_model_reproduces_its_reference_embeddings()
    {
        DemoWorld.Generate(Small).Write(_folder.File("world"));
        var folder = _folder.File("world");
        using var embedder = TextEmbedder.Create(new TextEmbedderOptions
        {
            ModelPath = Path.Combine(folder, DemoWorld.ModelFile),
            VocabularyPath = Path.Combine(folder, DemoWorld.VocabularyFile),
            Device = ComputeDevice.Cpu,
        });

        var documents = embedder.Embed(BeirReader.ReadCorpus(folder).Take(DemoWorld.ReferenceRows).Select(r => r.EmbeddingText));
        var queries = embedder.Embed(BeirReader.ReadQueries(folder).Take(DemoWorld.ReferenceRows).Select(r => r.EmbeddingText));

        using var referenceDocuments = NpyFile.Open(Path.Combine(folder, DemoWorld.ReferenceCorpusFile));
        using var referenceQueries = NpyFile.Open(Path.Combine(folder, DemoWorld.ReferenceQueriesFile));
        embedder.Dimension.Should().Be(32);
        documents.Cast<float>().Should().Equal(referenceDocuments.ReadAllSingles(), (a, e) => Math.Abs(a - e) < 1e-5f);
        queries.Cast<float>().Should().Equal(referenceQueries.ReadAllSingles(), (a, e) => Math.Abs(a - e) < 1e-5f);
    }

    public sealed class Passage
    {
        public string Text { get; set; } = "";

        public float[] Embedding { get; set; } = [];
    }

    [Fact]
    public void The_embed_text_transform_reproduces_the_reference_embeddings_too()
    {
        DemoWorld.Generate(Small).Write(_folder.File("world"));
        var folder = _folder.File("world");
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var passages = ml.Data.LoadFromEnumerable(BeirReader.ReadCorpus(folder).Take(DemoWorld.ReferenceRows).Select(r => new Passage { Text = r.EmbeddingText }));

        using var transformer = ml.Transforms.EmbedText("Embedding", "Text", Path.Combine(folder, DemoWorld.ModelFile), Path.Combine(folder, DemoWorld.VocabularyFile), device: ComputeDevice.Cpu).Fit(passages);
        var embedded = ml.Data.CreateEnumerable<Passage>(transformer.Transform(passages), reuseRowObject: false).SelectMany(p => p.Embedding);

        using var reference = NpyFile.Open(Path.Combine(folder, DemoWorld.ReferenceCorpusFile));
        embedded.Should().Equal(reference.ReadAllSingles(), (a, e) => Math.Abs(a - e) < 1e-5f);
    }

    [Fact]
    public void Documents_of_a_query_are_closer_to_it_than_unrelated_ones()
    {
        var world = DemoWorld.Generate(Small);
        var relevant = world.Judgements.GroupBy(j => j.QueryId).ToDictionary(g => g.Key, g => g.Select(j => j.DocumentId).ToHashSet());
        var documents = world.Documents.Take(400).Select(d => (d.Id, Vector: world.ReferenceEmbedding(DemoWorld.EmbeddingText(d)))).ToList();

        var better = 0;
        var compared = 0;
        foreach (var query in world.Queries.Take(40))
        {
            var q = world.ReferenceEmbedding(query.Text);
            var scores = documents.Select(d => (Relevant: relevant[query.Id].Contains(d.Id), Score: d.Vector.Zip(q).Sum(p => p.First * p.Second))).ToList();
            var positives = scores.Where(s => s.Relevant).Select(s => s.Score).ToList();
            if (positives.Count == 0)
                continue;
            compared++;
            if (positives.Average() > scores.Where(s => !s.Relevant).Average(s => s.Score))
                better++;
        }

        better.Should().Be(compared, "planted concepts make relevant documents score higher on average");
    }

    [Fact]
    public void The_hard_world_leans_one_way_judges_one_document_per_query_and_retrieves_worse()
    {
        var options = DemoWorldOptions.ForCorpus(2_000) with { Queries = 200, Dimension = 64, Concepts = 60 };
        var standard = DemoWorld.Generate(options);
        var hard = DemoWorld.Generate(DemoWorldOptions.Hard(2_000) with { Queries = 200, Dimension = 64, Concepts = 60 });

        hard.Documents.Select(d => d.Text).Should().Equal(standard.Documents.Select(d => d.Text), "the corpus is the standard world's; only the model, the queries and the judgements change");
        hard.Judgements.GroupBy(j => j.QueryId).Should().OnlyContain(g => g.Count() == 1, "only the document a query was drawn from is judged");
        var holds = hard.Documents.ToDictionary(d => d.Id, d => d.Concepts);
        hard.Judgements.Should().OnlyContain(j => hard.Queries.Single(q => q.Id == j.QueryId).Concepts.All(c => holds[j.DocumentId].Contains(c)));
        hard.Queries.Average(q => q.Text.Split(' ').Length).Should().BeLessThan(standard.Queries.Average(q => q.Text.Split(' ').Length) + 1,
            "one or two words per concept keep the noisy queries as short as the standard ones, with fillers among them");

        double MeanCosineOfDocumentPairs(DemoWorld world)
        {
            var vectors = world.Documents.Take(200).Select(d => world.ReferenceEmbedding(DemoWorld.EmbeddingText(d))).ToArray();
            return Enumerable.Range(0, 199).Average(i => (double)vectors[i].Zip(vectors[i + 1]).Sum(p => p.First * p.Second));
        }

        var (standardCosine, hardCosine) = (MeanCosineOfDocumentPairs(standard), MeanCosineOfDocumentPairs(hard));
        output.WriteLine($"mean cosine of unrelated documents: standard {standardCosine:F3}, hard {hardCosine:F3}");
        standardCosine.Should().BeLessThan(0.3);
        hardCosine.Should().BeInRange(0.5, 0.9, "a strong common direction, as real embeddings have, but not one that drowns the concepts");

        double MeanReciprocalRank(DemoWorld world)
        {
            var corpus = world.Documents.Select(d => (d.Id, Vector: world.ReferenceEmbedding(DemoWorld.EmbeddingText(d)))).ToArray();
            var judged = world.Judgements.GroupBy(j => j.QueryId).ToDictionary(g => g.Key, g => g.Select(j => j.DocumentId).ToHashSet());
            return world.Queries.Average(query =>
            {
                var q = world.ReferenceEmbedding(query.Text);
                var ranked = corpus.OrderByDescending(d => d.Vector.Zip(q).Sum(p => p.First * p.Second)).Take(10).ToList();
                var first = ranked.FindIndex(d => judged[query.Id].Contains(d.Id));
                return first < 0 ? 0 : 1.0 / (first + 1);
            });
        }

        var (standardMrr, hardMrr) = (MeanReciprocalRank(standard), MeanReciprocalRank(hard));
        output.WriteLine($"MRR@10: standard {standardMrr:F3}, hard {hardMrr:F3}");
        hardMrr.Should().BeLessThan(standardMrr * 0.7).And.BeGreaterThan(0.05, "hard, not hopeless");
    }

    [Fact]
    public void The_default_world_has_the_promised_size()
    {
        var world = DemoWorld.Generate();

        world.Documents.Should().HaveCount(20_000);
        world.Queries.Should().HaveCount(1_000);
        world.Concepts.Should().HaveCount(300);
        world.Options.Dimension.Should().Be(256);
    }

    [Fact]
    public void Writing_into_an_existing_folder_is_refused()
    {
        Directory.CreateDirectory(_folder.File("taken"));

        var write = () => DemoWorld.Generate(Small).Write(_folder.File("taken"));

        write.Should().Throw<IOException>().WithMessage("*already exists*");
    }
}
