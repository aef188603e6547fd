namespace SaeMl.Cli;

/// <summary>A command line whose options break a rule between them (<c>--k</c> above <c>--latents</c>, say): exit code 2, like a parse error.</summary>
internal sealed class UsageException(string message) : ArgumentException(message);
