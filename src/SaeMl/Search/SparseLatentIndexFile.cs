using System.Globalization;
using System.Text;
using SaeMl.Data;

namespace SaeMl.Search;

/// <summary>
/// The file format of a <see cref="SparseLatentIndex"/>, little-endian: a 32-byte header (magic
/// <c>SAEMLSLI</c>, int32 format version, int32 latent size, int64 document count, int64 posting
/// count), then the int64 offsets <c>[latentSize + 1]</c>, the int32 document rows and the float32
/// values <c>[postingCount]</c> each. Reading checks everything the header implies before trusting it.
/// </summary>
internal static class SparseLatentIndexFile
{
    public const int Version = 1;

    public const int HeaderBytes = 32;

    private static readonly byte[] Magic = "SAEMLSLI"u8.ToArray();

    public static void Write(string path, SparseLatentIndex index)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SaeMl writes sparse latent index files on little-endian machines only.");
        AtomicFile.Write(path, stream =>
        {
            using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(Version);
                writer.Write(index.LatentSize);
                writer.Write(index.DocumentCount);
                writer.Write(index.PostingCount);
            }

            BinaryBlocks.Write(stream, index.Offsets);
            BinaryBlocks.Write<int>(stream, index.Documents);
            BinaryBlocks.Write<float>(stream, index.Values);
        });
    }

    public static SparseLatentIndex Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SaeMl reads sparse latent index files on little-endian machines only.");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
        var header = new byte[HeaderBytes];
        var headerRead = stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
        if (headerRead < Magic.Length || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new FormatException($"'{path}' is not a SaeMl sparse latent index (it does not start with '{Encoding.ASCII.GetString(Magic)}').");
        if (headerRead < HeaderBytes)
            throw Invalid(path, $"is cut short: {stream.Length} bytes, less than the {HeaderBytes}-byte header");

        var version = BitConverter.ToInt32(header, 8);
        if (version != Version)
            throw new FormatException($"'{path}' is sparse latent index format version {version}; this SaeMl reads version {Version}.");
        var latentSize = BitConverter.ToInt32(header, 12);
        var documentCount = BitConverter.ToInt64(header, 16);
        var postingCount = BitConverter.ToInt64(header, 24);
        if (latentSize < 1 || latentSize > SparseLatentIndex.MaxLatentSize)
            throw Invalid(path, $"has latent size {latentSize} in its header; it must be 1 … {SparseLatentIndex.MaxLatentSize}");
        if (documentCount < 0 || documentCount > SparseLatentIndex.MaxDocuments)
            throw Invalid(path, $"has document count {documentCount} in its header; it must be 0 … {SparseLatentIndex.MaxDocuments}");
        if (postingCount < 0 || postingCount > SparseLatentIndex.MaxPostings)
            throw Invalid(path, $"has posting count {postingCount} in its header; it must be 0 … {SparseLatentIndex.MaxPostings}");
        var expectedBytes = HeaderBytes + (latentSize + 1L) * sizeof(long) + postingCount * (sizeof(int) + sizeof(float));
        if (stream.Length != expectedBytes)
        {
            throw Invalid(path, stream.Length < expectedBytes
                ? $"is cut short: {stream.Length} bytes, but its header ({latentSize} latents, {postingCount} postings) implies {expectedBytes}"
                : $"is {stream.Length} bytes, longer than the {expectedBytes} its header ({latentSize} latents, {postingCount} postings) implies");
        }

        var offsets = new long[latentSize + 1];
        var documents = new int[postingCount];
        var values = new float[postingCount];
        BinaryBlocks.Read<long>(stream, offsets);
        BinaryBlocks.Read<int>(stream, documents);
        BinaryBlocks.Read<float>(stream, values);
        Check(path, documentCount, offsets, documents, values);
        return new SparseLatentIndex(latentSize, documentCount, offsets, documents, values);
    }

    /// <summary>The invariants <see cref="SparseLatentIndex.Search(SparseCodes, int, CancellationToken)"/> relies on: each latent's list is a range of the arrays, with distinct rows of the index in ascending order and finite values.</summary>
    private static void Check(string path, long documentCount, long[] offsets, int[] documents, float[] values)
    {
        if (offsets[0] != 0)
            throw Invalid(path, $"has first offset {offsets[0]}; it must be 0");
        for (var latent = 0; latent < offsets.Length - 1; latent++)
        {
            var (start, end) = (offsets[latent], offsets[latent + 1]);
            if (end < start || end > documents.LongLength)
                throw Invalid(path, $"has offset {end} for the end of latent {latent}'s postings after {start}; offsets must not decrease nor pass the posting count {documents.LongLength}");
            for (var p = start; p < end; p++)
            {
                if ((ulong)documents[p] >= (ulong)documentCount)
                    throw Invalid(path, $"names document {documents[p]} in posting {p} (latent {latent}), outside its {documentCount} documents");
                if (p > start && documents[p] <= documents[p - 1])
                    throw Invalid(path, $"has document {documents[p]} after document {documents[p - 1]} in latent {latent}'s postings; they must be strictly ascending");
                if (!float.IsFinite(values[p]))
                    throw Invalid(path, $"holds {values[p].ToString(CultureInfo.InvariantCulture)} in posting {p} (latent {latent}); values must be finite");
            }
        }

        if (offsets[^1] != documents.LongLength)
            throw Invalid(path, $"has last offset {offsets[^1]}, but its header's posting count is {documents.LongLength}");
    }

    private static FormatException Invalid(string path, string problem) =>
        new($"'{path}' is not a valid sparse latent index: it {problem}.");
}
