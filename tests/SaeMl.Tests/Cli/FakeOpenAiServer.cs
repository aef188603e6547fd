using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace SaeMl.Tests.Cli;

/// <summary>Answers POST …/chat/completions on 127.0.0.1 like an OpenAI-compatible server: the content the answer function gives for the request's number (from 0), or HTTP 400 where it gives null.</summary>
internal sealed class FakeOpenAiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<int, string?> _answer;
    private readonly Task _serving;

    public FakeOpenAiServer(Func<int, string?> answer)
    {
        _answer = answer;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Endpoint = $"http://127.0.0.1:{port}/v1";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _serving = Task.Run(Serve);
    }

    public string Endpoint { get; }

    public List<(string Authorization, string Body)> Requests { get; } = [];

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            try
            {
                await Answer(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // The client is gone (a test killed it while it sent or waited): serve the next one.
            }
        }
    }

    private async Task Answer(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream);
        var body = await reader.ReadToEndAsync();
        int number;
        lock (Requests)
        {
            Requests.Add((context.Request.Headers["Authorization"] ?? "", body));
            number = Requests.Count - 1;
        }

        var content = _answer(number);
        var json = content is null
            ? """{"error":{"message":"bad request","type":"invalid_request_error"}}"""
            : $$$"""{"id":"chatcmpl-{{{number}}}","object":"chat.completion","created":1700000000,"model":"fake-model","choices":[{"index":0,"message":{"role":"assistant","content":{{{JsonSerializer.Serialize(content)}}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""";
        context.Response.StatusCode = content is null ? 400 : 200;
        context.Response.ContentType = "application/json";
        await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(json));
        context.Response.Close();
    }
}
