using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace SaeMl.Evaluation
{
    /// <summary>A type of a high layer.</summary>
    public sealed class FixtureReport
    {
        /// <summary>Allowed: Evaluation may use Search, a lower layer.</summary>
        public SaeMl.Search.FixtureIndex? Index { get; set; }
    }
}

namespace SaeMl.Search
{
    /// <summary>A type of a lower layer that uses a higher one and a peer.</summary>
    public sealed class FixtureIndex
    {
        /// <summary>Against the layers: Search uses Evaluation, inside a method body.</summary>
        public string Describe() => new SaeMl.Evaluation.FixtureReport().ToString()!;

        /// <summary>Against the layers: Search and Embedding are peers.</summary>
        public System.Type Peer => typeof(SaeMl.Embedding.FixtureCatalog);
    }
}

namespace SaeMl.Embedding
{
    /// <summary>Uses an ML.NET internal outside the seam.</summary>
    public static class FixtureCatalog
    {
        /// <summary><c>CatalogUtils.GetEnvironment</c> is internal in the real Microsoft.ML.Data.</summary>
        public static IHostEnvironment Environment(TransformsCatalog catalog) => catalog.GetEnvironment();
    }
}

namespace SaeMl.MLNet
{
    /// <summary>The seam: the same internal use is allowed here.</summary>
    internal static class MLNetInternals
    {
        public static IHostEnvironment Environment(TransformsCatalog catalog) => catalog.GetEnvironment();
    }
}
