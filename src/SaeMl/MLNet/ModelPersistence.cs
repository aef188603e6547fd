using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace SaeMl.MLNet;

/// <summary>The saved format of one kind of transformer: what its entry's version header says.</summary>
/// <param name="ModelSignature">Exactly 8 ASCII characters naming the format.</param>
/// <param name="Version">The format version written now.</param>
/// <param name="LoaderSignature">The name the loader is registered under with <c>LoadableClass</c> (at most 24 characters).</param>
/// <param name="LoaderType">A type of the loading assembly; its SHORT name is stored, so newer builds still load.</param>
/// <param name="Component">What the entry holds, as messages name it ("SparseAutoencode transformer").</param>
/// <param name="OldestReadable">The oldest version this code reads (its loader asks <see cref="SavedEntryReader.WrittenVersion"/>); 0 means <paramref name="Version"/>.</param>
internal sealed record SavedFormat(string ModelSignature, uint Version, string LoaderSignature, Type LoaderType, string Component, uint OldestReadable = 0);

/// <summary>A transformer that saves itself into ML.NET model zips and loads back through <see cref="ModelPersistence.Loader{T}"/>.</summary>
/// <typeparam name="TSelf">The transformer.</typeparam>
internal interface IPersistedTransformer<TSelf> where TSelf : IPersistedTransformer<TSelf>
{
    /// <summary>The format the transformer's entry is written in.</summary>
    static abstract SavedFormat Format { get; }

    /// <summary>Reads the transformer's fields and streams, after the header was checked.</summary>
    static abstract TSelf Load(IHostEnvironment env, SavedEntryReader entry);
}

/// <summary>The fields (<see cref="Writer"/>) and side streams of one transformer's entry being saved.</summary>
internal sealed class SavedEntryWriter(ModelSaveContext context, BinaryWriter writer)
{
    /// <summary>The entry's field writer.</summary>
    public BinaryWriter Writer { get; } = writer;

    /// <summary>Writes a named side stream: length, SHA-256, bytes.</summary>
    public void WriteBlob(string name, byte[] bytes) => ModelPersistence.SaveBlob(context, name, bytes);
}

/// <summary>The fields (<see cref="Reader"/>) and side streams of one transformer's entry being loaded, with range-checked reads.</summary>
internal sealed class SavedEntryReader(ModelLoadContext context, BinaryReader reader, string component)
{
    /// <summary>The entry's field reader.</summary>
    public BinaryReader Reader { get; } = reader;

    /// <summary>The format version the entry was written in (between the format's oldest readable version and its current one).</summary>
    public uint WrittenVersion { get; } = context.Header.ModelVerWritten;

    /// <summary>What the entry holds, for messages ("SparseAutoencode transformer").</summary>
    public string Component { get; } = component;

    /// <summary>Reads a side stream written by <see cref="SavedEntryWriter.WriteBlob"/>, checking its length and hash.</summary>
    /// <exception cref="FormatException">The stream is missing, cut short or altered.</exception>
    public byte[] ReadBlob(string name) => ModelPersistence.LoadBlob(context, name, Component);

    /// <summary>Reads an int and checks it lies in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public int ReadInt(string field, int minimum, int maximum = int.MaxValue)
    {
        var value = Reader.ReadInt32();
        return value >= minimum && value <= maximum
            ? value
            : throw new FormatException($"The saved {Component} has {field} = {value}, outside [{minimum}, {maximum}].");
    }

    /// <summary>Reads an enum stored as its integer value and checks it is defined.</summary>
    public TEnum ReadEnum<TEnum>() where TEnum : struct, Enum
    {
        var value = Reader.ReadInt32();
        var result = (TEnum)(object)value;
        return Enum.IsDefined(result)
            ? result
            : throw new FormatException($"The saved {Component} holds {value}, which is not a {typeof(TEnum).Name}.");
    }
}

/// <summary>
/// Every use of ML.NET's internal persistence API in one place (see docs/mlnet-persistence.md): how
/// SaeMl's transformers write themselves into an ML.NET model zip and read themselves back. The
/// transformers see only <see cref="SavedEntryWriter"/> and <see cref="SavedEntryReader"/>.
/// </summary>
/// <remarks>
/// A transformer's entry holds a versioned header and its fields; large parts (an ONNX model, weights)
/// go into side streams of the entry, each written as its length, its SHA-256 and its bytes, so that a
/// truncated or altered zip is reported by name before the bytes reach native code.
/// </remarks>
internal static class ModelPersistence
{
    /// <summary>
    /// The loader ML.NET calls for a saved <typeparamref name="T"/>; registered beside each transformer with
    /// <c>[assembly: LoadableClass(typeof(T), typeof(ModelPersistence.Loader&lt;T&gt;), null, typeof(SignatureLoadModel), …)]</c>.
    /// </summary>
    internal static class Loader<T> where T : class, IPersistedTransformer<T>
    {
        /// <summary>Checks the entry's header and loads the transformer; ML.NET finds this method by name.</summary>
        internal static T Create(IHostEnvironment env, ModelLoadContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            var format = T.Format;
            context.CheckAtModel(Version(format));
            return T.Load(env, new SavedEntryReader(context, context.Reader, format.Component));
        }
    }

    /// <summary>Writes a transformer's entry: the header of <paramref name="format"/>, then what <paramref name="write"/> writes.</summary>
    public static void Save(ModelSaveContext context, SavedFormat format, Action<SavedEntryWriter> write)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.CheckAtModel();
        context.SetVersionInfo(Version(format));
        write(new SavedEntryWriter(context, context.Writer));
    }

    private static VersionInfo Version(SavedFormat format)
    {
        if (format.ModelSignature.Length != 8)
            throw new ArgumentException("A model signature has exactly 8 characters.", nameof(format));
        if (format.LoaderSignature.Length > 24)
            throw new ArgumentException("A loader signature has at most 24 characters.", nameof(format));
        return new VersionInfo(
            modelSignature: format.ModelSignature,
            verWrittenCur: format.Version,
            verReadableCur: format.Version,
            verWeCanReadBack: format.OldestReadable == 0 ? format.Version : format.OldestReadable,
            loaderAssemblyName: format.LoaderType.Assembly.GetName().Name,
            loaderSignature: format.LoaderSignature);
    }

    /// <summary>Writes a named side stream: length, SHA-256, bytes.</summary>
    internal static void SaveBlob(ModelSaveContext context, string name, byte[] bytes) =>
        context.SaveBinaryStream(name, writer =>
        {
            writer.Write((long)bytes.Length);
            writer.Write(SHA256.HashData(bytes));
            writer.Write(bytes);
        });

    /// <summary>Reads a side stream written by <see cref="SaveBlob"/>, checking its length and hash.</summary>
    /// <exception cref="FormatException">The stream is missing, cut short or altered.</exception>
    internal static byte[] LoadBlob(ModelLoadContext context, string name, string component)
    {
        byte[]? bytes = null;
        string? problem = null;
        var found = context.TryLoadBinaryStream(name, reader =>
        {
            var length = reader.ReadInt64();
            var expectedHash = reader.ReadBytes(32);
            if (length < 0 || length > int.MaxValue)
            {
                problem = $"it declares an impossible length of {length} bytes";
                return;
            }

            var read = reader.ReadBytes((int)length);
            if (read.Length != length || expectedHash.Length != 32)
                problem = $"it holds {read.Length} of its {length} bytes";
            else if (!SHA256.HashData(read).AsSpan().SequenceEqual(expectedHash))
                problem = "its bytes do not match their SHA-256 hash";
            else
                bytes = read;
        });
        if (!found)
            throw new FormatException($"The saved {component} has no '{name}' stream: the model file is incomplete.");
        if (bytes is null)
            throw new FormatException($"The saved {component}'s '{name}' stream is corrupt: {problem}.");
        return bytes;
    }
}
