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

    private WordPieceVocabulary(IReadOnlyList<string> tokens, bool lowerCase, string source)
    {
        Tokens = tokens;
        LowerCase = lowerCase;
        Source = source;
        var known = tokens.ToHashSet(StringComparer.Ordinal);
        foreach (var token in RequiredTokens)
        {
            if (!known.Contains(token))
                throw new FormatException($"Vocabulary '{source}' has no {token} token; BERT-style tokenization needs {string.Join(", ", RequiredTokens)}.");
        }
    }

    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Whether text is lower-cased (and accents stripped) before tokenization, as uncased BERT models expect.</summary>
    public bool LowerCase { get; }

    public string Source { get; }

    /// <summary>Reads <c>vocab.txt</c> or <c>tokenizer.json</c> (chosen by the <c>.json</c> extension).</summary>
    /// <param name="path">The vocabulary file.</param>
    /// <param name="lowerCase">Lower-case text first; null takes tokenizer.json's normalizer setting, or true for vocab.txt.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The file is not a WordPiece vocabulary.</exception>
    public static WordPieceVocabulary Load(string path, bool? lowerCase)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Could not find the vocabulary file '{path}'.", path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? FromTokenizerJson(File.ReadAllBytes(path), lowerCase, path)
            : FromVocabText(File.ReadAllBytes(path), lowerCase ?? true, path);
    }

    /// <summary>Reads the one-token-per-line form (what <see cref="ToVocabText"/> writes).</summary>
    public static WordPieceVocabulary FromVocabText(byte[] utf8, bool lowerCase, string source)
    {
        var text = Encoding.UTF8.GetString(utf8);
        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length; // a final newline ends the last line
        var tokens = lines.Take(count).Select(line => line.TrimEnd('\r')).ToArray();
        if (tokens.Length == 0)
            throw new FormatException($"Vocabulary '{source}' is empty.");
        return new WordPieceVocabulary(tokens, lowerCase, source);
    }

    /// <summary>One token per line, in id order, UTF-8.</summary>
    public byte[] ToVocabText() => Encoding.UTF8.GetBytes(string.Concat(Tokens.Select(t => t + "\n")));

    public BertTokenizer CreateTokenizer()
    {
        using var stream = new MemoryStream(ToVocabText());
        return BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = LowerCase });
    }

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

            var normalizerLowerCase = document.RootElement.TryGetProperty("normalizer", out var normalizer)
                && normalizer.ValueKind == JsonValueKind.Object
                && normalizer.TryGetProperty("lowercase", out var lower)
                && lower.ValueKind == JsonValueKind.True;
            return new WordPieceVocabulary(tokens!, lowerCase ?? normalizerLowerCase, source);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"'{source}' is not a tokenizer.json SaeMl can read: {ex.Message}", ex);
        }
    }
}
