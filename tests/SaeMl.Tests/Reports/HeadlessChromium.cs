using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SaeMl.Tests.Reports;

/// <summary>
/// A real browser for tests: Debian's headless Chromium driven over the Chrome DevTools Protocol, so a test checks
/// the page as rendered (after its scripts ran, with real typing and clicks), and sees every console error,
/// uncaught exception and JavaScript dialog.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sending = new(1, 1); // a WebSocket takes one send at a time
    private int _nextId;
    private Task _receiving = Task.CompletedTask;
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Console errors, uncaught exceptions and error log entries, in the order they came.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>The messages of JavaScript dialogs (alert, confirm, prompt) the pages opened; each was dismissed.</summary>
    public ConcurrentQueue<string> Dialogs { get; } = new();

    /// <summary>The Chromium on the PATH (Debian's package installs <c>chromium</c>), or null.</summary>
    public static string? Executable => new[] { "chromium", "chromium-browser", "google-chrome" }
        .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(folder => Path.Combine(folder, name)))
        .FirstOrDefault(File.Exists);

    /// <summary>Starts a headless Chromium with a fresh profile and attaches to its first page.</summary>
    public static async Task<HeadlessChromium> StartAsync()
    {
        var executable = Executable ?? throw new InvalidOperationException(
            "The browser tests need Chromium: install Debian's package (apt-get install chromium), as .ci/run does.");
        var profile = Path.Combine(Path.GetTempPath(), "saeml-chromium-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo(executable,
        [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--remote-debugging-port=0", "--remote-allow-origins=*", $"--user-data-dir={profile}", "--window-size=1200,900", "about:blank",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var browser = new HeadlessChromium(Process.Start(start)!, profile);
        try
        {
            await browser.ConnectAsync();
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task ConnectAsync()
    {
        // Chromium announces its DevTools endpoint on standard error: "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…".
        string? line;
        using var timeout = new CancellationTokenSource(Timeout);
        while ((line = await _process.StandardError.ReadLineAsync(timeout.Token)) is not null && !line.Contains("DevTools listening on ", StringComparison.Ordinal))
        {
        }

        if (line is null)
            throw new InvalidOperationException($"Chromium exited (code {(_process.HasExited ? _process.ExitCode : -1)}) before it opened its DevTools endpoint.");
        _ = _process.StandardError.ReadToEndAsync(_stop.Token); // keep draining so the browser never blocks on a full pipe
        _ = _process.StandardOutput.ReadToEndAsync(_stop.Token);
        var browserEndpoint = new Uri(line[(line.IndexOf("ws://", StringComparison.Ordinal))..].Trim());

        using var http = new HttpClient { Timeout = Timeout };
        var targets = await http.GetFromJsonAsync<JsonArray>($"http://{browserEndpoint.Authority}/json/list");
        var page = targets!.First(t => (string?)t!["type"] == "page")!;
        await _socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), timeout.Token);
        _receiving = Task.Run(ReceiveAsync);
        await SendAsync("Page.enable");
        await SendAsync("Runtime.enable");
        await SendAsync("Log.enable");
    }

    /// <summary>Opens <paramref name="path"/> (a local file) and waits for its load event.</summary>
    public async Task OpenAsync(string path)
    {
        _loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(path)).AbsoluteUri });
        if (result["errorText"] is { } error)
            throw new InvalidOperationException($"Chromium could not open '{path}': {error}");
        await _loaded.Task.WaitAsync(Timeout);
    }

    /// <summary>The value of a JavaScript expression evaluated in the page (promises awaited).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } exception)
            throw new InvalidOperationException($"'{expression}' threw in the page: {exception.ToJsonString()}");
        return result["result"]!["value"];
    }

    /// <summary>Focuses the element <paramref name="selector"/> finds, selects what it holds and types <paramref name="text"/> over it, as a user would.</summary>
    public async Task TypeAsync(string selector, string text)
    {
        await EvaluateAsync($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); e.focus(); e.select(); }})()");
        if (text.Length == 0)
        {
            await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyDown", ["key"] = "Backspace", ["code"] = "Backspace", ["windowsVirtualKeyCode"] = 8 });
            await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyUp", ["key"] = "Backspace", ["code"] = "Backspace", ["windowsVirtualKeyCode"] = 8 });
        }
        else
        {
            await SendAsync("Input.insertText", new JsonObject { ["text"] = text });
        }
    }

    /// <summary>Clicks the centre of the element <paramref name="selector"/> finds with the mouse.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($"(() => {{ const r = document.querySelector({JsonSerializer.Serialize(selector)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()");
        foreach (var type in new[] { "mousePressed", "mouseReleased" })
        {
            await SendAsync("Input.dispatchMouseEvent", new JsonObject
            {
                ["type"] = type, ["x"] = (double)box![0]!, ["y"] = (double)box[1]!, ["button"] = "left", ["clickCount"] = 1,
            });
        }
    }

    /// <summary>A PNG screenshot of the whole page, <paramref name="width"/> CSS pixels wide.</summary>
    public async Task<byte[]> ScreenshotAsync(int width)
    {
        var height = (int)(double)(await EvaluateAsync("document.documentElement.scrollHeight"))!;
        await SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String((string)result["data"]!);
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _sending.WaitAsync(_stop.Token);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
        }
        finally
        {
            _sending.Release();
        }

        return await answer.Task.WaitAsync(Timeout);
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                    break;
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                    continue;
                var node = JsonNode.Parse(message.ToArray())!;
                message.SetLength(0);
                Handle(node);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        foreach (var pending in _pending.Values)
            pending.TrySetException(new InvalidOperationException("Chromium closed its DevTools connection."));
    }

    private void Handle(JsonNode node)
    {
        if (node["id"] is { } id && _pending.TryRemove((int)id, out var answer))
        {
            if (node["error"] is { } error)
                answer.SetException(new InvalidOperationException($"DevTools error: {error.ToJsonString()}"));
            else
                answer.SetResult(node["result"] ?? new JsonObject());
            return;
        }

        var parameters = node["params"];
        switch ((string?)node["method"])
        {
            case "Page.loadEventFired":
                _loaded.TrySetResult();
                break;
            case "Runtime.exceptionThrown":
                Errors.Enqueue("exception: " + parameters!["exceptionDetails"]!.ToJsonString());
                break;
            case "Runtime.consoleAPICalled" when (string?)parameters!["type"] is "error" or "assert":
                Errors.Enqueue("console: " + parameters["args"]!.ToJsonString());
                break;
            case "Log.entryAdded" when (string?)parameters!["entry"]!["level"] == "error":
                Errors.Enqueue("log: " + parameters["entry"]!["text"]);
                break;
            case "Page.javascriptDialogOpening":
                Dialogs.Enqueue((string?)parameters!["message"] ?? "");
                _ = SendAsync("Page.handleJavaScriptDialog", new JsonObject { ["accept"] = false });
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        try
        {
            await _receiving;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        _sending.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // a browser helper may still be closing a file in its profile; the folder is under the temp path
        }
    }
}
