using System.Text.Json;
using SaeMl.Data;
using SaeMl.Data.Npy;

namespace SaeMl.Demo;

/// <summary>A planted concept: a name and the words that express it.</summary>
/// <param name="Id">The concept's number.</param>
/// <param name="Name">A readable name (the hand-picked concepts) or the concept's first word.</param>
/// <param name="Words">The words that express the concept.</param>
/// <param name="HandPicked">Whether it is one of the readable real-word concepts.</param>
public sealed record DemoConcept(int Id, string Name, IReadOnlyList<string> Words, bool HandPicked);

/// <summary>A generated document and the concepts planted in it, the main one first.</summary>
public sealed record DemoDocument(string Id, string Title, string Text, IReadOnlyList<int> Concepts);

/// <summary>A generated query and the concepts it asks about.</summary>
public sealed record DemoQuery(string Id, string Text, IReadOnlyList<int> Concepts);

/// <summary>
/// SaeMl's built-in retrieval world: a seeded, deterministic data set with planted concepts, in the
/// BEIR layout, with its own ONNX embedding model and <c>vocab.txt</c>. It is what <c>saeml demo</c>
/// runs on, and its ground truth (each document's and query's concepts) stays available for checking
/// what sparse features recover.
/// </summary>
/// <remarks>
/// <para>Concepts are groups of eight words: thirty hand-picked real-word ones ("weather: rain,
/// humidity, forecast, …") and pronounceable generated ones. Concept popularity follows a Zipf law.
/// A document mixes one to three concepts (its main one first) with filler words; a query takes one
/// to three concepts of a random document and mentions two or three words of each. A document is
/// relevant to a query when it holds all the query's concepts: grade 2 when its main concept is one
/// of them, else grade 1. Queries with more than <see cref="DemoWorldOptions.MaxRelevantPerQuery"/>
/// relevant documents get another concept of their document or are drawn again.</para>
/// <para>Only <see cref="Random"/> and arithmetic are used, so the same options give the same files,
/// byte for byte.</para>
/// </remarks>
public sealed class DemoWorld
{
    /// <summary>The BEIR corpus file.</summary>
    public const string CorpusFile = "corpus.jsonl";

    /// <summary>The BEIR queries file.</summary>
    public const string QueriesFile = "queries.jsonl";

    /// <summary>The qrels file, BEIR layout (split "test").</summary>
    public const string QrelsFile = "qrels/test.tsv";

    /// <summary>The embedding model.</summary>
    public const string ModelFile = "model.onnx";

    /// <summary>The model's WordPiece vocabulary.</summary>
    public const string VocabularyFile = "vocab.txt";

    /// <summary>The concepts with their words.</summary>
    public const string ConceptsFile = "concepts.json";

    /// <summary>Reference embeddings of the first documents, computed without ONNX Runtime.</summary>
    public const string ReferenceCorpusFile = "reference-corpus.npy";

    /// <summary>Reference embeddings of the first queries, computed without ONNX Runtime.</summary>
    public const string ReferenceQueriesFile = "reference-queries.npy";

    /// <summary>How many documents and queries get reference embeddings.</summary>
    public const int ReferenceRows = 200;

    private const int WordsPerConcept = 8;
    private const int GeneratedFillers = 320;
    private const double ConceptWordShare = 0.45;
    private static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    private static readonly System.Text.Encoding ModelFileEncoding = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    private readonly Dictionary<string, int> _tokenIds;
    private readonly List<string> _fillers;

    private DemoWorld(
        DemoWorldOptions options,
        List<string> fillers,
        IReadOnlyList<DemoConcept> concepts,
        IReadOnlyList<string> vocabulary,
        DemoEmbeddingModel model,
        IReadOnlyList<DemoDocument> documents,
        IReadOnlyList<DemoQuery> queries,
        IReadOnlyList<Judgement> judgements)
    {
        Options = options;
        _fillers = fillers;
        Concepts = concepts;
        Vocabulary = vocabulary;
        Model = model;
        Documents = documents;
        Queries = queries;
        Judgements = judgements;
        _tokenIds = vocabulary.Select((token, id) => (token, id)).ToDictionary(p => p.token, p => p.id);
    }

    /// <summary>The options the world was generated from.</summary>
    public DemoWorldOptions Options { get; }

    /// <summary>The planted concepts.</summary>
    public IReadOnlyList<DemoConcept> Concepts { get; }

    /// <summary>The model's vocabulary in id order (special tokens first).</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>The documents.</summary>
    public IReadOnlyList<DemoDocument> Documents { get; }

    /// <summary>The queries.</summary>
    public IReadOnlyList<DemoQuery> Queries { get; }

    /// <summary>The graded relevance judgements.</summary>
    public IReadOnlyList<Judgement> Judgements { get; }

    internal DemoEmbeddingModel Model { get; }

    /// <summary>Generates a world; deterministic for the options.</summary>
    public static DemoWorld Generate(DemoWorldOptions? options = null)
    {
        options ??= new DemoWorldOptions();
        options.Validate();
        var (concepts, fillers) = GenerateWords(new Random(Stream(options.Seed, 1)), options.Concepts);

        var vocabulary = SpecialTokens.Concat(fillers).Concat(concepts.SelectMany(c => c.Words)).ToList();
        var conceptOfToken = SpecialTokens.Select(_ => -1).Concat(fillers.Select(_ => -1)).Concat(concepts.SelectMany(c => c.Words.Select(_ => c.Id))).ToList();
        var hardness = options.CommonDirection != 0 || options.ConceptCorrelation != 0
            ? (new Random(Stream(options.Seed, 7)), options.CommonDirection, options.ConceptCorrelation)
            : ((Random, double, double)?)null;
        var model = DemoEmbeddingModel.Create(new Random(Stream(options.Seed, 2)), options.Dimension, vocabulary, conceptOfToken, concepts.Count, hardness);

        var popularity = new WeightedChoice(ZipfWeights(new Random(Stream(options.Seed, 3)), concepts.Count));
        var documents = GenerateDocuments(new Random(Stream(options.Seed, 4)), options.Documents, concepts, fillers, popularity);
        var (queries, judgements) = GenerateQueries(new Random(Stream(options.Seed, 5)), options.Queries, "Q", options, concepts, fillers, documents);
        return new DemoWorld(options, fillers, concepts, vocabulary, model, documents, queries, judgements);
    }

    /// <summary>
    /// Further queries drawn like <see cref="Queries"/> but from their own seeded stream, with ids
    /// <c>T00000</c>, <c>T00001</c>, …: training queries for a sparse autoencoder, disjoint in draw from the
    /// evaluation queries and not written with the world. Deterministic for the world's seed and the count.
    /// </summary>
    /// <param name="count">How many to draw.</param>
    public IReadOnlyList<DemoQuery> TrainingQueries(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return GenerateQueries(new Random(Stream(Options.Seed, 6)), count, "T", Options, Concepts, _fillers, Documents).Queries;
    }

    /// <summary>The text a document is embedded from: its title, a space and its text (BEIR's convention).</summary>
    public static string EmbeddingText(DemoDocument document) => document.Title + " " + document.Text;

    /// <summary>The world's model applied in C#, without ONNX Runtime: the reference for <c>EmbedText</c>.</summary>
    /// <exception cref="ArgumentException">A word is not in the world's vocabulary.</exception>
    public float[] ReferenceEmbedding(string text)
    {
        var tokens = new List<int> { _tokenIds["[CLS]"] };
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            tokens.Add(_tokenIds.TryGetValue(word, out var id) ? id : throw new ArgumentException($"'{word}' is not a word of the demo world.", nameof(text)));
        tokens.Add(_tokenIds["[SEP]"]);
        return Model.Embed(tokens);
    }

    /// <summary>
    /// Writes the world into <paramref name="folder"/>: corpus, queries and qrels in the BEIR layout,
    /// <c>model.onnx</c>, <c>vocab.txt</c>, <c>concepts.json</c> and reference embeddings. Everything is
    /// written into a staging folder renamed into place, so an existing world folder is complete.
    /// </summary>
    /// <exception cref="IOException"><paramref name="folder"/> already exists.</exception>
    public void Write(string folder)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (Directory.Exists(target))
            throw new IOException($"'{target}' already exists; the demo world is written into a new folder.");
        var staging = AtomicFile.TemporaryPathOf(target); // swept by the next writer of the folder if this one is killed
        try
        {
            WriteFiles(staging);
            Directory.Move(staging, target);
        }
        catch
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    private void WriteFiles(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "qrels"));
        JsonLines.Write(Path.Combine(folder, CorpusFile), Documents, (json, d) =>
        {
            json.WriteString("_id", d.Id);
            json.WriteString("title", d.Title);
            json.WriteString("text", d.Text);
            WriteConcepts(json, d.Concepts);
        });
        JsonLines.Write(Path.Combine(folder, QueriesFile), Queries, (json, q) =>
        {
            json.WriteString("_id", q.Id);
            json.WriteString("text", q.Text);
            WriteConcepts(json, q.Concepts);
        });
        AtomicFile.Write(Path.Combine(folder, QrelsFile), stream =>
        {
            using var writer = new StreamWriter(stream, ModelFileEncoding, leaveOpen: true);
            writer.Write("query-id\tcorpus-id\tscore\n");
            foreach (var judgement in Judgements)
                writer.Write($"{judgement.QueryId}\t{judgement.DocumentId}\t{judgement.Grade}\n");
        });
        AtomicFile.Write(Path.Combine(folder, ModelFile), stream => stream.Write(Model.ToOnnx()));
        AtomicFile.Write(Path.Combine(folder, VocabularyFile), stream => stream.Write(ModelFileEncoding.GetBytes(string.Concat(Vocabulary.Select(t => t + "\n")))));
        AtomicFile.Write(Path.Combine(folder, ConceptsFile), stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteNumber("seed", Options.Seed);
            json.WriteStartArray("concepts");
            foreach (var concept in Concepts)
            {
                json.WriteStartObject();
                json.WriteNumber("id", concept.Id);
                json.WriteString("name", concept.Name);
                json.WriteBoolean("handPicked", concept.HandPicked);
                json.WriteStartArray("words");
                foreach (var word in concept.Words)
                    json.WriteStringValue(word);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
        WriteReferences(Path.Combine(folder, ReferenceCorpusFile), Documents.Take(ReferenceRows).Select(EmbeddingText));
        WriteReferences(Path.Combine(folder, ReferenceQueriesFile), Queries.Take(ReferenceRows).Select(q => q.Text));
    }

    private void WriteReferences(string path, IEnumerable<string> texts)
    {
        using var writer = new NpyWriter(path, NpyDataType.Float32, Options.Dimension);
        foreach (var text in texts)
            writer.WriteRows(ReferenceEmbedding(text));
        writer.Commit();
    }

    private static void WriteConcepts(Utf8JsonWriter json, IReadOnlyList<int> concepts)
    {
        json.WriteStartObject("metadata");
        json.WriteStartArray("concepts");
        foreach (var concept in concepts)
            json.WriteNumberValue(concept);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Seeds of independent random streams, so that e.g. more documents leave the model unchanged.</summary>
    private static int Stream(int seed, int stream) => unchecked(seed * 7919 + stream * 104729);

    private static (List<DemoConcept> Concepts, List<string> Fillers) GenerateWords(Random random, int conceptCount)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var word in DemoVocabulary.HandPickedConcepts.SelectMany(c => c.Words).Concat(DemoVocabulary.CommonFillers))
        {
            if (!taken.Add(word))
                throw new InvalidOperationException($"The demo vocabulary lists '{word}' twice.");
        }

        var handPicked = DemoVocabulary.HandPickedConcepts.Length;
        var concepts = DemoVocabulary.HandPickedConcepts.Select((c, i) => new DemoConcept(i, c.Name, c.Words, HandPicked: true)).ToList();
        var conceptWords = (conceptCount - handPicked) * WordsPerConcept;
        var generated = DemoVocabulary.PronounceableWords(random, conceptWords + GeneratedFillers, taken);
        for (var i = handPicked; i < conceptCount; i++)
        {
            var words = generated.GetRange((i - handPicked) * WordsPerConcept, WordsPerConcept);
            concepts.Add(new DemoConcept(i, words[0], words, HandPicked: false));
        }

        var fillers = DemoVocabulary.CommonFillers.Concat(generated.Skip(conceptWords)).ToList();
        return (concepts, fillers);
    }

    /// <summary>Zipf weights 1/(rank+1) over a random order of the concepts.</summary>
    private static double[] ZipfWeights(Random random, int count)
    {
        var ranks = Enumerable.Range(0, count).OrderBy(_ => random.Next()).ToArray();
        var weights = new double[count];
        for (var rank = 0; rank < count; rank++)
            weights[ranks[rank]] = 1.0 / (rank + 1);
        return weights;
    }

    private static List<DemoDocument> GenerateDocuments(Random random, int count, List<DemoConcept> concepts, List<string> fillers, WeightedChoice popularity)
    {
        var fillerChoice = new WeightedChoice(Enumerable.Range(0, fillers.Count).Select(r => 1.0 / (r + 1)).ToArray());
        var conceptCounts = new WeightedChoice([0.4, 0.4, 0.2]);
        var shares = new[] { new WeightedChoice([1.0]), new WeightedChoice([0.6, 0.3]), new WeightedChoice([0.6, 0.3, 0.1]) };
        var documents = new List<DemoDocument>(count);
        for (var d = 0; d < count; d++)
        {
            var conceptCount = conceptCounts.Next(random) + 1;
            var chosen = new List<int>();
            while (chosen.Count < conceptCount)
            {
                var concept = popularity.Next(random);
                if (!chosen.Contains(concept))
                    chosen.Add(concept);
            }

            var share = shares[conceptCount - 1];
            var words = new List<string>();
            var length = random.Next(30, 81);
            for (var t = 0; t < length; t++)
            {
                if (random.NextDouble() < ConceptWordShare)
                {
                    var concept = concepts[chosen[share.Next(random)]];
                    words.Add(concept.Words[random.Next(concept.Words.Count)]);
                }
                else
                {
                    words.Add(fillers[fillerChoice.Next(random)]);
                }
            }

            var main = concepts[chosen[0]];
            var title = string.Join(' ', main.Words.OrderBy(_ => random.Next()).Take(random.Next(2, 5)));
            documents.Add(new DemoDocument($"D{d:D6}", title, string.Join(' ', words), chosen));
        }

        return documents;
    }

    private static (List<DemoQuery> Queries, List<Judgement> Judgements) GenerateQueries(
        Random random, int count, string idPrefix, DemoWorldOptions options, IReadOnlyList<DemoConcept> concepts, List<string> fillers, IReadOnlyList<DemoDocument> documents)
    {
        var maxRelevant = options.MaxRelevantPerQuery;
        var postings = concepts.Select(_ => new List<int>()).ToArray();
        for (var d = 0; d < documents.Count; d++)
        {
            foreach (var concept in documents[d].Concepts)
                postings[concept].Add(d);
        }

        var conceptCounts = new WeightedChoice([0.3, 0.5, 0.2]);
        var queries = new List<DemoQuery>(count);
        var judgements = new List<Judgement>();
        while (queries.Count < count)
        {
            var seed = documents[random.Next(documents.Count)];
            var order = seed.Concepts.OrderBy(_ => random.Next()).ToList();
            var wanted = Math.Min(conceptCounts.Next(random) + 1, order.Count);
            var asked = order.Take(wanted).ToList();
            var relevant = Intersect(postings, asked);
            while (relevant.Count > maxRelevant && asked.Count < order.Count)
            {
                asked.Add(order[asked.Count]);
                relevant = Intersect(postings, asked);
            }

            if (relevant.Count > maxRelevant)
                continue;

            var words = new List<string>();
            foreach (var concept in asked)
                words.AddRange(concepts[concept].Words.OrderBy(_ => random.Next()).Take(options.NoisyQueries ? random.Next(1, 3) : random.Next(2, 4)));
            if (options.NoisyQueries)
            {
                for (var f = random.Next(1, 4); f > 0; f--)
                    words.Add(fillers[random.Next(fillers.Count)]);
            }
            else if (random.NextDouble() < 0.5)
            {
                words.Add(fillers[random.Next(DemoVocabulary.CommonFillers.Length)]);
            }

            var id = $"{idPrefix}{queries.Count:D5}";
            queries.Add(new DemoQuery(id, string.Join(' ', words.OrderBy(_ => random.Next())), asked));
            if (options.SparseJudgements)
            {
                judgements.Add(new Judgement(id, seed.Id, 1));
                continue;
            }

            foreach (var d in relevant)
                judgements.Add(new Judgement(id, documents[d].Id, asked.Contains(documents[d].Concepts[0]) ? 2 : 1));
        }

        return (queries, judgements);
    }

    private static List<int> Intersect(List<int>[] postings, List<int> concepts)
    {
        IEnumerable<int> result = postings[concepts[0]];
        foreach (var concept in concepts.Skip(1))
            result = result.Intersect(postings[concept]);
        return result.Order().ToList();
    }

    /// <summary>Draws an index with probability proportional to its weight, by binary search over cumulative sums.</summary>
    private sealed class WeightedChoice
    {
        private readonly double[] _cumulative;

        public WeightedChoice(double[] weights)
        {
            _cumulative = new double[weights.Length];
            var total = 0.0;
            for (var i = 0; i < weights.Length; i++)
                _cumulative[i] = total += weights[i];
        }

        public int Next(Random random)
        {
            var index = Array.BinarySearch(_cumulative, random.NextDouble() * _cumulative[^1]);
            return Math.Min(index >= 0 ? index + 1 : ~index, _cumulative.Length - 1);
        }
    }
}
