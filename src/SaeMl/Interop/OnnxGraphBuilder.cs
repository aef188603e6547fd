using Google.Protobuf;
using Onnx;

namespace SaeMl.Interop;

/// <summary>
/// Writes ONNX models in code: inputs, constant tensors, nodes, outputs, then the model's bytes.
/// <see cref="SparseAutoencoderOnnx"/> exports autoencoders with it, the demo world builds its embedding
/// model, and the tests their BERT-shaped models; dimensions are numbers or symbolic names such as "batch".
/// </summary>
internal sealed class OnnxGraphBuilder(string name)
{
    private const int Opset = 17;
    private readonly GraphProto _graph = new() { Name = name };

    public void AddInput(string inputName, TensorProto.Types.DataType type, params object[] dimensions) =>
        _graph.Input.Add(ValueInfo(inputName, type, dimensions));

    public void AddOutput(string outputName, TensorProto.Types.DataType type, params object[] dimensions) =>
        _graph.Output.Add(ValueInfo(outputName, type, dimensions));

    /// <summary>A float constant of the given shape, row-major.</summary>
    public string AddConstant(string constantName, float[] values, params long[] dimensions)
    {
        var tensor = new TensorProto { Name = constantName, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dimensions);
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(tensor);
        return constantName;
    }

    /// <summary>An int64 constant of the given shape (axes, shapes).</summary>
    public string AddConstant(string constantName, long[] values, params long[] dimensions)
    {
        var tensor = new TensorProto { Name = constantName, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.AddRange(dimensions);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
        return constantName;
    }

    /// <summary>Adds a node; attribute values may be long, float, string or long[].</summary>
    public string AddNode(string opType, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach (var (attributeName, value) in attributes)
            node.Attribute.Add(Attribute(attributeName, value));
        _graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a further output to a node (TopK's indices after its values).</summary>
    public void AddNodeOutput(string nodeOutput, string output) =>
        _graph.Node.Single(n => n.Output.Contains(nodeOutput)).Output.Add(output);

    public byte[] ToBytes()
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "SaeMl", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        return model.ToByteArray();
    }

    private static ValueInfoProto ValueInfo(string valueName, TensorProto.Types.DataType type, object[] dimensions)
    {
        var shape = new TensorShapeProto();
        foreach (var dimension in dimensions)
        {
            shape.Dim.Add(dimension switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension {dimension} is neither a size nor a symbol."),
            });
        }

        return new ValueInfoProto
        {
            Name = valueName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static AttributeProto Attribute(string attributeName, object value)
    {
        var attribute = new AttributeProto { Name = attributeName };
        switch (value)
        {
            case long integer:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = integer;
                break;
            case int integer:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = integer;
                break;
            case float real:
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = real;
                break;
            case long[] integers:
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(integers);
                break;
            default:
                throw new ArgumentException($"Attribute '{attributeName}' has a value of type {value.GetType().Name}, which the builder does not write.");
        }

        return attribute;
    }
}
