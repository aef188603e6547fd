using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace SaeMl.MLNet;

/// <summary>
/// The ML.NET internals SaeMl uses outside model persistence (see docs/mlnet-persistence.md): with
/// <see cref="ModelPersistence"/>, the only code allowed to (a test reads the compiled library to keep it so).
/// </summary>
internal static class MLNetInternals
{
    /// <summary>The environment behind an <c>MLContext</c>'s catalog, for hosts and logging.</summary>
    public static IHostEnvironment Environment(TransformsCatalog catalog) => catalog.GetEnvironment();

    /// <summary>The shape of a known-size Single vector column.</summary>
    public static SchemaShape.Column SingleVectorColumn(string name) =>
        new(name, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, isKey: false);

    /// <summary>Writes an informational line to ML.NET's log (<c>mlContext.Log</c>).</summary>
    public static void Info(IHost host, string channelName, string message)
    {
        using var channel = host.Start(channelName);
        channel.Info(message);
    }

    /// <summary>Writes a warning to ML.NET's log (<c>mlContext.Log</c>).</summary>
    public static void Warn(IHost host, string channelName, string message)
    {
        using var channel = host.Start(channelName);
        channel.Warning(message);
    }
}
