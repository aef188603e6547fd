namespace SaeMl.Interpretation;

/// <summary>A word that makes a latent fire in a document, and how strongly.</summary>
/// <param name="Word">The word as the document writes it.</param>
/// <param name="Strength">
/// The latent's activation on the word alone above the empty text's, as a share of the document's strongest
/// word's (1 for the strongest; at least the salience threshold, 0.5 by default).
/// </param>
public readonly record struct SalientWord(string Word, float Strength);
