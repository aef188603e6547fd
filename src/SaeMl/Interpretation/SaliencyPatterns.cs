namespace SaeMl.Interpretation;

/// <summary>
/// A trie of the salient word patterns of a latent's top documents, after N2G: each salient word
/// with the run of salient words just before it (up to a length), stored last word first so that a
/// text is matched by walking back from each of its words. A pattern must occur in at least two
/// documents. Predicts that the latent fires on a text when any pattern occurs in it.
/// </summary>
public sealed class SaliencyPatterns
{
    private readonly Node _root = new();

    private SaliencyPatterns(int maxLength) => MaxLength = maxLength;

    /// <summary>The longest pattern, in words.</summary>
    public int MaxLength { get; }

    /// <summary>The patterns kept, in reading order, most documents first.</summary>
    public IReadOnlyList<(string Pattern, int Documents)> Patterns
    {
        get
        {
            var found = new List<(string, int)>();
            Collect(_root, []);
            return [.. found.OrderByDescending(p => p.Item2).ThenBy(p => p.Item1, StringComparer.Ordinal)];

            void Collect(Node node, List<string> reversed)
            {
                if (node.Kept)
                    found.Add((string.Join(' ', Enumerable.Reverse(reversed)), node.Documents.Count));
                foreach (var (word, child) in node.Children)
                {
                    reversed.Add(word);
                    Collect(child, reversed);
                    reversed.RemoveAt(reversed.Count - 1);
                }
            }
        }
    }

    /// <summary>Builds the trie from the saliency of a latent's documents.</summary>
    /// <param name="documents">The saliency of each document.</param>
    /// <param name="share">A word is salient when it clears this share of its document's strongest word (<see cref="WordSaliency.SalientPositions"/>).</param>
    /// <param name="maxLength">The longest pattern.</param>
    /// <param name="minimumDocuments">A pattern is kept when it occurs in at least this many documents.</param>
    public static SaliencyPatterns Build(IEnumerable<WordSaliency> documents, double share = 0.5, int maxLength = 3, int minimumDocuments = 2)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        var patterns = new SaliencyPatterns(maxLength);
        var document = 0;
        foreach (var saliency in documents)
        {
            var salient = new HashSet<int>(saliency.SalientPositions(share));
            foreach (var end in salient)
            {
                var node = patterns._root;
                for (var at = end; at >= 0 && end - at < maxLength && (at == end || salient.Contains(at)); at--)
                {
                    var word = Normalize(saliency.Words[at]);
                    if (word.Length == 0)
                        break;
                    node = node.Child(word);
                    node.Documents.Add(document);
                }
            }

            document++;
        }

        patterns._root.Keep(minimumDocuments);
        return patterns;
    }

    /// <summary>Whether any kept pattern occurs in <paramref name="text"/>.</summary>
    public bool Matches(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(Normalize).ToArray();
        for (var end = 0; end < words.Length; end++)
        {
            var node = _root;
            for (var at = end; at >= 0 && node.Children.TryGetValue(words[at], out var child); at--)
            {
                if (child.Kept)
                    return true;
                node = child;
            }
        }

        return false;
    }

    /// <summary>N2G's evaluation at the document level: precision and recall of <see cref="Matches"/> as a predictor of the latent firing, on held-out texts.</summary>
    public (double Precision, double Recall) Evaluate(IEnumerable<(string Text, bool Fires)> heldOut)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        int truePositives = 0, falsePositives = 0, falseNegatives = 0;
        foreach (var (text, fires) in heldOut)
        {
            var predicted = Matches(text);
            truePositives += predicted && fires ? 1 : 0;
            falsePositives += predicted && !fires ? 1 : 0;
            falseNegatives += !predicted && fires ? 1 : 0;
        }

        return (truePositives + falsePositives == 0 ? 0 : (double)truePositives / (truePositives + falsePositives),
                truePositives + falseNegatives == 0 ? 0 : (double)truePositives / (truePositives + falseNegatives));
    }

    /// <summary>Lower case without leading or trailing punctuation.</summary>
    private static string Normalize(string word) => word.Trim().Trim(PunctuationAround).ToLowerInvariant();

    private static readonly char[] PunctuationAround = ".,;:!?\"'()[]{}«»“”‘’".ToCharArray();

    private sealed class Node
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public HashSet<int> Documents { get; } = [];

        public bool Kept { get; private set; }

        public Node Child(string word)
        {
            if (!Children.TryGetValue(word, out var child))
                Children[word] = child = new Node();
            return child;
        }

        /// <summary>Marks the nodes seen in enough documents and prunes the rest.</summary>
        public void Keep(int minimumDocuments)
        {
            foreach (var (word, child) in Children.ToList())
            {
                child.Kept = child.Documents.Count >= minimumDocuments;
                if (!child.Kept)
                    Children.Remove(word);
                else
                    child.Keep(minimumDocuments);
            }
        }
    }
}
