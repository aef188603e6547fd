using System.Security.Cryptography;
using System.Text;
using Microsoft.ML;

namespace SaeMl.MLNet;

/// <summary>
/// Every use of ML.NET's internal persistence API in one place (see docs/mlnet-persistence.md): how
/// SaeMl's transformers write themselves into an ML.NET model zip and read themselves back.
/// </summary>
/// <remarks>
/// A transformer's entry holds a versioned header (<see cref="VersionInfo"/>) and its fields; large
/// parts (an ONNX model, weights) go into side streams of the entry, each written as its length, its
/// SHA-256 and its bytes, so that a truncated or altered zip is reported by name before the bytes
/// reach native code.
/// </remarks>
internal static class ModelPersistence
{
    /// <summary>The version header of one kind of saved transformer.</summary>
    /// <param name="modelSignature">Exactly 8 ASCII characters naming the format.</param>
    /// <param name="version">The format version written now; also the oldest version this code reads.</param>
    /// <param name="loaderSignature">The name the loader is registered under with <c>LoadableClass</c> (at most 24 characters).</param>
    /// <param name="loaderType">A type of the loading assembly; its SHORT name is stored, so newer builds still load.</param>
    public static VersionInfo Version(string modelSignature, uint version, string loaderSignature, Type loaderType)
    {
        if (modelSignature.Length != 8)
            throw new ArgumentException("A model signature has exactly 8 characters.", nameof(modelSignature));
        if (loaderSignature.Length > 24)
            throw new ArgumentException("A loader signature has at most 24 characters.", nameof(loaderSignature));
        return new VersionInfo(
            modelSignature: modelSignature,
            verWrittenCur: version,
            verReadableCur: version,
            verWeCanReadBack: version,
            loaderAssemblyName: loaderType.Assembly.GetName().Name,
            loaderSignature: loaderSignature);
    }

    /// <summary>Starts a transformer's entry and returns the writer for its fields.</summary>
    public static BinaryWriter BeginSave(ModelSaveContext context, VersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.CheckAtModel();
        context.SetVersionInfo(version);
        return context.Writer;
    }

    /// <summary>Checks a transformer's entry header and returns the reader for its fields.</summary>
    public static BinaryReader BeginLoad(ModelLoadContext context, VersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.CheckAtModel(version);
        return context.Reader;
    }

    /// <summary>Writes a named side stream: length, SHA-256, bytes.</summary>
    public static void SaveBlob(ModelSaveContext context, string name, byte[] bytes) =>
        context.SaveBinaryStream(name, writer =>
        {
            writer.Write((long)bytes.Length);
            writer.Write(SHA256.HashData(bytes));
            writer.Write(bytes);
        });

    /// <summary>Reads a side stream written by <see cref="SaveBlob"/>, checking its length and hash.</summary>
    /// <exception cref="FormatException">The stream is missing, cut short or altered.</exception>
    public static byte[] LoadBlob(ModelLoadContext context, string name, string component)
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

    /// <summary>Writes a string as UTF-8 with a length prefix.</summary>
    public static void WriteString(BinaryWriter writer, string value) => writer.Write(value);

    /// <summary>Reads a string written by <see cref="WriteString"/>.</summary>
    public static string ReadString(BinaryReader reader) => reader.ReadString();

    /// <summary>Reads an enum stored as its integer value and checks it is defined.</summary>
    public static TEnum ReadEnum<TEnum>(BinaryReader reader, string component) where TEnum : struct, Enum
    {
        var value = reader.ReadInt32();
        var result = (TEnum)(object)value;
        return Enum.IsDefined(result)
            ? result
            : throw new FormatException($"The saved {component} holds {value}, which is not a {typeof(TEnum).Name}.");
    }

    /// <summary>Reads an int and checks it lies in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static int ReadInt(BinaryReader reader, string field, string component, int minimum, int maximum = int.MaxValue)
    {
        var value = reader.ReadInt32();
        return value >= minimum && value <= maximum
            ? value
            : throw new FormatException($"The saved {component} has {field} = {value}, outside [{minimum}, {maximum}].");
    }

    /// <summary>UTF-8 without a byte-order mark, for text side streams.</summary>
    public static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
