namespace SaeMl.Search;

/// <summary>
/// The best k (score, document) pairs offered so far: a binary heap with the worst kept pair at its
/// root, so a pair that does not beat the root costs one comparison. Pairs are ordered by descending
/// score, equal scores by ascending document, NaN after every number.
/// </summary>
internal sealed class TopDocuments
{
    private readonly float[] _scores;
    private readonly int[] _documents;
    private int _count;

    public TopDocuments(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _scores = new float[capacity];
        _documents = new int[capacity];
    }

    public int Count => _count;

    /// <summary>Scores below this cannot enter: the worst kept score once k pairs are kept, −∞ before.</summary>
    public float Threshold => _count < _scores.Length ? float.NegativeInfinity : _scores[0];

    /// <summary>Whether (scoreA, documentA) ranks before (scoreB, documentB).</summary>
    public static bool RanksBefore(float scoreA, int documentA, float scoreB, int documentB)
    {
        if (scoreA > scoreB)
            return true;
        if (scoreA < scoreB)
            return false;
        if (scoreA == scoreB)
            return documentA < documentB;
        var (aIsNaN, bIsNaN) = (float.IsNaN(scoreA), float.IsNaN(scoreB));
        return aIsNaN == bIsNaN ? documentA < documentB : bIsNaN;
    }

    public void Clear() => _count = 0;

    /// <summary>Keeps the pair if it is among the best k so far; false when it is not kept.</summary>
    public bool Offer(float score, int document)
    {
        if (_count < _scores.Length)
        {
            SiftUp(_count++, score, document);
            return true;
        }

        if (score < _scores[0] || !RanksBefore(score, document, _scores[0], _documents[0]))
            return false;
        SiftDown(0, score, document, _count);
        return true;
    }

    /// <summary>Writes the kept pairs best first into the first <see cref="Count"/> slots and empties the heap.</summary>
    public void DrainBestFirst(Span<long> documents, Span<float> scores)
    {
        while (_count > 0)
        {
            var last = --_count;
            documents[last] = _documents[0];
            scores[last] = _scores[0];
            if (last > 0)
                SiftDown(0, _scores[last], _documents[last], last);
        }
    }

    /// <summary>Moves a pair from a new leaf up past every parent that ranks before it.</summary>
    private void SiftUp(int slot, float score, int document)
    {
        while (slot > 0)
        {
            var parent = (slot - 1) / 2;
            if (!RanksBefore(_scores[parent], _documents[parent], score, document))
                break;
            Place(slot, _scores[parent], _documents[parent]);
            slot = parent;
        }

        Place(slot, score, document);
    }

    /// <summary>Places a pair at <paramref name="slot"/> of a heap of <paramref name="count"/>, moving it below every child that ranks after it.</summary>
    private void SiftDown(int slot, float score, int document, int count)
    {
        while (true)
        {
            var child = 2 * slot + 1;
            if (child >= count)
                break;
            if (child + 1 < count && RanksBefore(_scores[child], _documents[child], _scores[child + 1], _documents[child + 1]))
                child++;
            if (!RanksBefore(score, document, _scores[child], _documents[child]))
                break;
            Place(slot, _scores[child], _documents[child]);
            slot = child;
        }

        Place(slot, score, document);
    }

    private void Place(int slot, float score, int document)
    {
        _scores[slot] = score;
        _documents[slot] = document;
    }
}
