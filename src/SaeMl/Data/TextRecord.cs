namespace SaeMl.Data;

/// <summary>One passage, document or query read from a data set file.</summary>
/// <param name="Id">The id as the data set spells it.</param>
/// <param name="Title">The title (BEIR documents); empty when the format has none.</param>
/// <param name="Text">The text.</param>
/// <param name="LineNumber">The 1-based line of the file it was read from, for messages.</param>
public sealed record TextRecord(string Id, string Title, string Text, long LineNumber)
{
    /// <summary>What an embedding model reads: the title, a space and the text, or the text alone when there is no title (BEIR's convention).</summary>
    public string EmbeddingText => Title.Length == 0 ? Text : Title + " " + Text;
}
