using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace SaeMl.Embedding;

/// <summary>
/// The WordPiece vocabulary of a BERT-family model, read from a <c>vocab.txt</c> (one token per line,
/// the line number is the id) or from a Hugging Face <c>tokenizer.json</c> whose model is WordPiece.
/// It creates the <see cref="BertTokenizer"/> SaeMl tokenizes with, and is what a saved model keeps.
/// </summary>
internal sealed class WordPieceVocabulary
{
    private static readonly string[] RequiredTokens = ["[CLS]", "[SEP]", "[PAD]", "[UNK]"];

    private WordPieceVocabulary(IReadOnlyList<string> tokens, bool lowerCase, bool stripAccents, string source)
    {
        Tokens = tokens;
        LowerCase = lowerCase;
        StripAccents = stripAccents;
        Source = source;
        var known = tokens.ToHashSet(StringComparer.Ordinal);
        foreach (var token in RequiredTokens)
        {
            if (!known.Contains(token))
                throw new FormatException($"Vocabulary '{source}' has no {token} token; BERT-style tokenization needs {string.Join(", ", RequiredTokens)}.");
        }
    }

    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Whether text is lower-cased before tokenization, as uncased BERT models expect.</summary>
    public bool LowerCase { get; }

    /// <summary>Whether accents are stripped ("café" → "cafe") before tokenization; uncased BERT models do, cased ones do not.</summary>
    public bool StripAccents { get; }

    public string Source { get; }

    /// <summary>Reads <c>vocab.txt</c> or <c>tokenizer.json</c> (chosen by the <c>.json</c> extension).</summary>
    /// <param name="path">The vocabulary file.</param>
    /// <param name="lowerCase">
    /// Lower-case text first; null takes tokenizer.json's normalizer setting, or true for vocab.txt.
    /// Accents are stripped as tokenizer.json's <c>strip_accents</c> says, and otherwise exactly when
    /// lower-casing (Hugging Face's BertNormalizer rule).
    /// </param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not a WordPiece vocabulary.</exception>
    public static WordPieceVocabulary Load(string path, bool? lowerCase)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Could not find the vocabulary file '{path}'.", path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? FromTokenizerJson(File.ReadAllBytes(path), lowerCase, path)
            : FromVocabText(File.ReadAllBytes(path), lowerCase ?? true, stripAccents: lowerCase ?? true, path);
    }

    /// <summary>Reads the one-token-per-line form (what <see cref="ToVocabText"/> writes).</summary>
    public static WordPieceVocabulary FromVocabText(byte[] utf8, bool lowerCase, bool stripAccents, string source)
    {
        var text = Encoding.UTF8.GetString(utf8);
        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length; // a final newline ends the last line
        var tokens = lines.Take(count).Select(line => line.TrimEnd('\r')).ToArray();
        if (tokens.Length == 0)
            throw new FormatException($"Vocabulary '{source}' is empty.");
        return new WordPieceVocabulary(tokens, lowerCase, stripAccents, source);
    }

    /// <summary>One token per line, in id order, UTF-8.</summary>
    public byte[] ToVocabText() => Encoding.UTF8.GetBytes(string.Concat(Tokens.Select(t => t + "\n")));

    public BertTokenizer CreateTokenizer()
    {
        using var stream = new MemoryStream(ToVocabText());
        return BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = LowerCase, RemoveNonSpacingMarks = StripAccents });
    }

    /// <summary>A true/false property of the normalizer; null when absent or null.</summary>
    private static bool? Flag(JsonElement normalizer, string name) =>
        normalizer.ValueKind == JsonValueKind.Object && normalizer.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;

    private static WordPieceVocabulary FromTokenizerJson(byte[] json, bool? lowerCase, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var model = document.RootElement.GetProperty("model");
            var type = model.TryGetProperty("type", out var typeElement) ? typeElement.GetString() : null;
            if (type != "WordPiece")
                throw new FormatException($"'{source}' describes a {type ?? "untyped"} tokenizer; SaeMl reads WordPiece (BERT-family) tokenizers, from tokenizer.json or vocab.txt.");

            var entries = model.GetProperty("vocab").EnumerateObject().Select(p => (Token: p.Name, Id: p.Value.GetInt32())).ToList();
            var tokens = new string?[entries.Count];
            foreach (var (token, id) in entries)
            {
                if (id < 0 || id >= tokens.Length || tokens[id] is not null)
                    throw new FormatException($"'{source}' gives token '{token}' the id {id}; ids must run from 0 to {tokens.Length - 1} without repeats.");
                tokens[id] = token;
            }

            var normalizer = document.RootElement.TryGetProperty("normalizer", out var element) && element.ValueKind == JsonValueKind.Object ? element : default;
            var lower = lowerCase ?? Flag(normalizer, "lowercase") ?? false;
            return new WordPieceVocabulary(tokens!, lower, Flag(normalizer, "strip_accents") ?? lower, source);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"'{source}' is not a tokenizer.json SaeMl can read: {ex.Message}", ex);
        }
    }
}
