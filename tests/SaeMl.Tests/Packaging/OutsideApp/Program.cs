// An application outside the SaeMl repository, as a user writes one after `dotnet new console` and
// `dotnet add package SaeMl.Cpu`: its only SaeMl-related using is ML.NET's own namespace.
// `train FOLDER`: text → EmbedText → SparseAutoencode, fitted on FOLDER/texts.txt with FOLDER/model.onnx
// and FOLDER/vocab.txt, saved as FOLDER/pipeline.zip; `load FOLDER`: the zip loaded alone. Both write each
// text's latents and reconstruction, in round-trip form, to FOLDER/<mode>.txt.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

var (mode, folder) = (args[0], args[1]);
var ml = new MLContext(seed: 1);
ml.Log += (_, e) =>
{
    if (e.Message.Contains("SparseAutoencode", StringComparison.Ordinal))
        Console.WriteLine(e.Message);
};

var texts = ml.Data.LoadFromEnumerable(File.ReadAllLines(Path.Combine(folder, "texts.txt")).Select(t => new TextRow { Text = t }));
ITransformer model;
if (mode == "train")
{
    var pipeline = ml.Transforms.EmbedText("Embedding", "Text", Path.Combine(folder, "model.onnx"), Path.Combine(folder, "vocab.txt"))
        .Append(ml.Transforms.SparseAutoencode("Latent", "Embedding", latentSize: 64, activeLatents: 4, reconstructionColumnName: "Reconstruction"));
    model = pipeline.Fit(texts);
    ml.Model.Save(model, texts.Schema, Path.Combine(folder, "pipeline.zip"));
}
else
{
    model = ml.Model.Load(Path.Combine(folder, "pipeline.zip"), out _);
}

var lines = ml.Data.CreateEnumerable<Encoded>(model.Transform(texts), reuseRowObject: false).Select(row =>
    string.Join(' ', row.Latent.DenseValues().Concat(row.Reconstruction).Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
File.WriteAllLines(Path.Combine(folder, mode + ".txt"), lines);
Console.WriteLine($"{mode}: wrote {Path.Combine(folder, mode + ".txt")}");

public sealed class TextRow
{
    public string Text { get; set; } = "";
}

public sealed class Encoded
{
    public VBuffer<float> Latent { get; set; }

    public float[] Reconstruction { get; set; } = [];
}
