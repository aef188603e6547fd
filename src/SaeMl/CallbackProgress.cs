namespace SaeMl;

/// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (unlike <see cref="Progress{T}"/>).</summary>
/// <typeparam name="T">The progress value.</typeparam>
/// <param name="report">Called with every report.</param>
public sealed class CallbackProgress<T>(Action<T> report) : IProgress<T>
{
    /// <summary>Calls the callback with <paramref name="value"/>.</summary>
    public void Report(T value) => report(value);
}
