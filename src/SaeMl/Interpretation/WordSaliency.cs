using SaeMl.Autoencoder;
using SaeMl.Embedding;

namespace SaeMl.Interpretation;

/// <summary>
/// Which words of a document make a latent fire, N2G's idea adapted to an embedding model. Three
/// readings of the latent, all from one batch: its activation on every prefix of the document, the
/// drop when each word is left out, and its activation on each word alone (N2G's context pruned to
/// nothing). Words are the document's whitespace-separated tokens.
/// </summary>
/// <remarks>
/// Salience is read from the words alone: in a document that repeats its topic, leaving one topical
/// word out barely moves a pooled, normalised embedding (the other words still carry the topic), so
/// the drops are small and their signs noisy; a topical word on its own still fires the latent. On
/// the demo world's planted concepts, salient words chosen by the drops were concept words 23 % of
/// the time, by prefix gains 65 %, by the words alone 91 % (docs/interpretation.md).
/// </remarks>
/// <param name="Words">The words analysed (the document's first ones, up to the limit given).</param>
/// <param name="Activation">The latent's activation on those words.</param>
/// <param name="PrefixActivations">Entry i: the activation on words 0..i.</param>
/// <param name="Drops">Entry i: the activation minus the activation without word i.</param>
/// <param name="WordActivations">Entry i: the activation on word i alone.</param>
/// <param name="Baseline">The activation on the empty text, what a word alone is measured against.</param>
public sealed record WordSaliency(IReadOnlyList<string> Words, float Activation, float[] PrefixActivations, float[] Drops, float[] WordActivations, float Baseline)
{
    /// <summary>
    /// The positions of the salient words, strongest first: those whose activation alone exceeds the
    /// baseline by at least <paramref name="share"/> of the document's largest such excess.
    /// </summary>
    public int[] SalientPositions(double share = 0.5)
    {
        var excess = WordActivations.Select(a => a - Baseline).ToArray();
        var largest = excess.DefaultIfEmpty(0).Max();
        return largest <= 0 ? [] : [.. Enumerable.Range(0, excess.Length).Where(i => excess[i] > 0 && excess[i] >= share * largest).OrderByDescending(i => excess[i]).ThenBy(i => i)];
    }

    /// <summary>The salient words (see <see cref="SalientPositions"/>), strongest first, without repeats.</summary>
    public IReadOnlyList<string> SalientWords(double share = 0.5) => [.. Salient(share).Select(w => w.Word)];

    /// <summary>The salient words with their strengths (see <see cref="SalientWord.Strength"/>), strongest first, without repeats.</summary>
    public IReadOnlyList<SalientWord> Salient(double share = 0.5)
    {
        var positions = SalientPositions(share);
        if (positions.Length == 0)
            return [];
        var largest = WordActivations[positions[0]] - Baseline;
        return [.. positions.Select(i => new SalientWord(Words[i], (WordActivations[i] - Baseline) / largest)).DistinctBy(w => w.Word, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The saliency of one latent in each document. Every variant of every document (the whole text,
    /// each prefix, each text with one word left out, each distinct word alone) and the empty text go
    /// to the embedder in one call, which batches them; the latent is read for all variants in one
    /// autoencoder call.
    /// </summary>
    /// <param name="embedder">The model that made the corpus embeddings (the document side: prefix and pooling as the corpus had).</param>
    /// <param name="autoencoder">The SAE.</param>
    /// <param name="latent">The latent to explain.</param>
    /// <param name="documents">The documents' texts.</param>
    /// <param name="maxWords">Only the first this many words of each document are analysed.</param>
    public static IReadOnlyList<WordSaliency> Compute(TextEmbedder embedder, SparseAutoencoder autoencoder, int latent, IReadOnlyList<string> documents, int maxWords = 64)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxWords);
        if (embedder.Dimension != autoencoder.Dimension)
            throw new ArgumentException($"The embedder makes {embedder.Dimension}-dimensional vectors; the autoencoder reads {autoencoder.Dimension}.", nameof(embedder));
        autoencoder.CheckLatent(latent, nameof(latent));

        var words = documents.Select(d => d.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Take(maxWords).ToArray()).ToArray();
        var variants = new List<string> { string.Empty };
        var alone = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var document in words)
        {
            variants.Add(string.Join(' ', document));
            for (var i = 0; i < document.Length; i++)
                variants.Add(string.Join(' ', document.Take(i + 1)));
            for (var i = 0; i < document.Length; i++)
                variants.Add(string.Join(' ', document.Where((_, j) => j != i)));
        }

        foreach (var word in words.SelectMany(w => w))
        {
            if (alone.TryAdd(word, variants.Count))
                variants.Add(word);
        }

        var embeddings = new float[(long)variants.Count * embedder.Dimension];
        embedder.Embed(variants, embeddings);
        var activations = autoencoder.LatentActivations(embeddings, [latent]);
        var result = new WordSaliency[words.Length];
        var baseline = activations[0];
        var at = 1;
        for (var d = 0; d < words.Length; d++)
        {
            var count = words[d].Length;
            var whole = activations[at];
            var prefixes = activations.AsSpan(at + 1, count).ToArray();
            var drops = activations.AsSpan(at + 1 + count, count).ToArray();
            for (var i = 0; i < count; i++)
                drops[i] = whole - drops[i];
            result[d] = new WordSaliency(words[d], whole, prefixes, drops, [.. words[d].Select(w => activations[alone[w]])], baseline);
            at += 1 + 2 * count;
        }

        return result;
    }
}
