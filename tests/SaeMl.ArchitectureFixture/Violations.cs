using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace SaeMl.Evaluation
{
    /// <summary>A type of a high layer.</summary>
    public sealed class FixtureReport : Exception;

    /// <summary>An attribute of a high layer.</summary>
    [AttributeUsage(AttributeTargets.All)]
    public class FixtureMarkAttribute : Attribute;

    /// <summary>Allowed: Evaluation may use Search, a lower layer.</summary>
    public sealed class FixtureAllowed
    {
        /// <summary>A lower layer's type.</summary>
        public SaeMl.Search.FixtureByField? Index { get; set; }
    }
}

// Search uses Evaluation (a higher layer) or Embedding (a peer): one type per channel the check reads.
namespace SaeMl.Search
{
    /// <summary>A base type.</summary>
    public class FixtureByBase : SaeMl.Evaluation.FixtureMarkAttribute;

    /// <summary>A field's type.</summary>
    public sealed class FixtureByField
    {
        /// <summary>The field.</summary>
        public SaeMl.Evaluation.FixtureReport? Field;
    }

    /// <summary>A method body.</summary>
    public static class FixtureByBody
    {
        /// <summary>Makes a report.</summary>
        public static string Describe() => new SaeMl.Evaluation.FixtureReport().Message;
    }

    /// <summary>A parameter's type.</summary>
    public static class FixtureBySignature
    {
        /// <summary>Takes a report.</summary>
        public static void Take(SaeMl.Evaluation.FixtureReport? report) => GC.KeepAlive(report);
    }

    /// <summary>A generic argument in a signature.</summary>
    public static class FixtureByGenericArgument
    {
        /// <summary>Takes reports.</summary>
        public static int Count(IReadOnlyList<SaeMl.Evaluation.FixtureReport?> reports) => reports.Count;
    }

    /// <summary>A catch clause.</summary>
    public static class FixtureByCatch
    {
        /// <summary>Runs an action, ignoring reports.</summary>
        public static void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (SaeMl.Evaluation.FixtureReport)
            {
            }
        }
    }

    /// <summary>An attribute on a parameter.</summary>
    public static class FixtureByParameterAttribute
    {
        /// <summary>A marked parameter.</summary>
        public static void Marked([SaeMl.Evaluation.FixtureMark] int value) => GC.KeepAlive(value);
    }

    /// <summary>A <c>typeof</c> argument of an attribute, naming a peer layer's type.</summary>
    [System.ComponentModel.TypeConverter(typeof(SaeMl.Embedding.FixtureCatalog))]
    public sealed class FixtureByAttributeArgument;
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

namespace SaeMl.Elsewhere
{
    /// <summary>A namespace that is no layer.</summary>
    public static class FixtureStray;
}

/// <summary>A type in no namespace at all.</summary>
public static class FixtureGlobalHelper;
