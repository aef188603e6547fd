// MSBuild inline task (RoslynCodeTaskFactory): writes a copy of a .NET assembly whose internal and
// private types, methods and fields are public, for compiling against (never for running). SaeMl
// compiles against such copies of Microsoft.ML.Core and Microsoft.ML.Data to reach the members that
// ML.NET's model persistence needs; at run time the real assemblies are loaded and the library's
// [IgnoresAccessChecksTo] attributes let those calls through. See docs/mlnet-persistence.md.
//
// Only access flags change, in place: the metadata tables keep their layout, so no other byte moves.
// Protected and protected-internal members that are virtual keep their access, because an override
// in another assembly must repeat the access it overrides.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class PublicizeAssembly : Task
{
    [Required]
    public string SourcePath { get; set; } = string.Empty;

    [Required]
    public string DestinationPath { get; set; } = string.Empty;

    public override bool Execute()
    {
        try
        {
            var image = File.ReadAllBytes(SourcePath);
            var changed = MetadataPublicizer.Publicize(image);
            Directory.CreateDirectory(Path.GetDirectoryName(DestinationPath)!);
            var temporary = DestinationPath + ".tmp";
            File.WriteAllBytes(temporary, image);
            if (File.Exists(DestinationPath))
                File.Delete(DestinationPath);
            File.Move(temporary, DestinationPath);
            Log.LogMessage(MessageImportance.Normal, "Publicized {0} members of {1} into {2}.", changed, SourcePath, DestinationPath);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            Log.LogError("Could not publicize '{0}': {1}", SourcePath, ex.Message);
        }

        return !Log.HasLoggedErrors;
    }
}

/// <summary>Rewrites access flags in the ECMA-335 metadata of a PE image, in place.</summary>
public static class MetadataPublicizer
{
    private const int TypeDefTable = 0x02;
    private const int FieldTable = 0x04;
    private const int MethodDefTable = 0x06;

    /// <summary>Makes every non-public type, method and field public; returns how many flags changed.</summary>
    public static int Publicize(byte[] image)
    {
        var tables = FindTablesStream(image);
        var heapSizes = image[tables + 6];
        var present = BitConverter.ToUInt64(image, tables + 8);
        if ((heapSizes & 0x40) != 0)
            throw new InvalidDataException("metadata with extra table-stream data is not supported");

        var rows = new int[64];
        var position = tables + 24;
        for (var table = 0; table < 64; table++)
        {
            if ((present & (1UL << table)) != 0)
            {
                rows[table] = (int)BitConverter.ToUInt32(image, position);
                position += 4;
            }
        }

        int stringIndex = (heapSizes & 1) != 0 ? 4 : 2, guidIndex = (heapSizes & 2) != 0 ? 4 : 2, blobIndex = (heapSizes & 4) != 0 ? 4 : 2;
        int Index(int table) => rows[table] < 1 << 16 ? 2 : 4;
        int Coded(int tagBits, params int[] targets)
        {
            var largest = 0;
            foreach (var target in targets)
                largest = Math.Max(largest, rows[target]);
            return largest < 1 << (16 - tagBits) ? 2 : 4;
        }

        var rowSizes = new int[7];
        rowSizes[0x00] = 2 + stringIndex + 3 * guidIndex;                                     // Module
        rowSizes[0x01] = Coded(2, 0x00, 0x1A, 0x23, 0x01) + 2 * stringIndex;                  // TypeRef
        rowSizes[0x02] = 4 + 2 * stringIndex + Coded(2, 0x02, 0x01, 0x1B) + Index(FieldTable) + Index(MethodDefTable); // TypeDef
        rowSizes[0x03] = Index(FieldTable);                                                   // FieldPtr
        rowSizes[0x04] = 2 + stringIndex + blobIndex;                                         // Field
        rowSizes[0x05] = Index(MethodDefTable);                                               // MethodPtr
        rowSizes[0x06] = 4 + 2 + 2 + stringIndex + blobIndex + Index(0x08);                   // MethodDef
        if (rows[0x03] != 0 || rows[0x05] != 0)
            throw new InvalidDataException("uncompressed metadata (field or method pointer tables) is not supported");

        var tableStart = new int[7];
        var offset = position;
        for (var table = 0; table < 7; table++)
        {
            tableStart[table] = offset;
            offset += rows[table] * rowSizes[table];
        }

        var changed = 0;
        for (var row = 0; row < rows[TypeDefTable]; row++)
        {
            var at = tableStart[TypeDefTable] + row * rowSizes[TypeDefTable];
            var flags = BitConverter.ToUInt32(image, at);
            var visibility = flags & 0x7;
            var publicVisibility = visibility == 0 ? 1u : visibility >= 3 ? 2u : visibility; // NotPublic → Public; nested → NestedPublic
            if (publicVisibility != visibility)
            {
                WriteUInt32(image, at, (flags & ~0x7u) | publicVisibility);
                changed++;
            }
        }

        changed += PublicizeMembers(image, tableStart[FieldTable], rowSizes[FieldTable], rows[FieldTable], flagsOffset: 0, isMethod: false);
        changed += PublicizeMembers(image, tableStart[MethodDefTable], rowSizes[MethodDefTable], rows[MethodDefTable], flagsOffset: 6, isMethod: true);
        return changed;
    }

    private static int PublicizeMembers(byte[] image, int start, int rowSize, int count, int flagsOffset, bool isMethod)
    {
        const ushort accessMask = 0x7, family = 4, familyOrAssembly = 5, publicAccess = 6, virtualFlag = 0x40;
        var changed = 0;
        for (var row = 0; row < count; row++)
        {
            var at = start + row * rowSize + flagsOffset;
            var flags = BitConverter.ToUInt16(image, at);
            var access = flags & accessMask;
            if (access == 0 || access == publicAccess)
                continue; // compiler-controlled, or already public
            if (isMethod && (flags & virtualFlag) != 0 && (access == family || access == familyOrAssembly))
                continue; // overrides elsewhere must keep "protected"
            image[at] = (byte)((flags & ~accessMask) | publicAccess);
            changed++;
        }

        return changed;
    }

    /// <summary>The file offset of the #~ metadata tables stream.</summary>
    private static int FindTablesStream(byte[] image)
    {
        if (image.Length < 0x40 || image[0] != 'M' || image[1] != 'Z')
            throw new InvalidDataException("not a PE file");
        var pe = BitConverter.ToInt32(image, 0x3C);
        if (BitConverter.ToUInt32(image, pe) != 0x00004550)
            throw new InvalidDataException("no PE signature");
        var sections = BitConverter.ToUInt16(image, pe + 6);
        var optionalSize = BitConverter.ToUInt16(image, pe + 20);
        var optional = pe + 24;
        var directories = optional + (BitConverter.ToUInt16(image, optional) == 0x20b ? 112 : 96);
        var cliHeader = RvaToOffset(image, optional + optionalSize, sections, BitConverter.ToInt32(image, directories + 14 * 8));
        var metadata = RvaToOffset(image, optional + optionalSize, sections, BitConverter.ToInt32(image, cliHeader + 8));
        if (BitConverter.ToUInt32(image, metadata) != 0x424A5342)
            throw new InvalidDataException("no metadata signature");

        var versionLength = BitConverter.ToInt32(image, metadata + 12);
        var position = metadata + 16 + versionLength + 2;
        var streams = BitConverter.ToUInt16(image, position);
        position += 2;
        for (var stream = 0; stream < streams; stream++)
        {
            var streamOffset = BitConverter.ToInt32(image, position);
            var nameStart = position + 8;
            var nameEnd = Array.IndexOf(image, (byte)0, nameStart);
            var name = Encoding.ASCII.GetString(image, nameStart, nameEnd - nameStart);
            if (name == "#~")
                return metadata + streamOffset;
            if (name == "#-")
                throw new InvalidDataException("uncompressed (#-) metadata is not supported");
            position = nameStart + (nameEnd - nameStart + 4) / 4 * 4;
        }

        throw new InvalidDataException("no #~ metadata stream");
    }

    private static int RvaToOffset(byte[] image, int sectionTable, int sections, int rva)
    {
        for (var section = 0; section < sections; section++)
        {
            var header = sectionTable + section * 40;
            var virtualSize = BitConverter.ToInt32(image, header + 8);
            var virtualAddress = BitConverter.ToInt32(image, header + 12);
            var rawSize = BitConverter.ToInt32(image, header + 16);
            if (rva >= virtualAddress && rva < virtualAddress + Math.Max(virtualSize, rawSize))
                return rva - virtualAddress + BitConverter.ToInt32(image, header + 20);
        }

        throw new InvalidDataException($"RVA 0x{rva:X} lies in no section");
    }

    private static void WriteUInt32(byte[] image, int at, uint value) => BitConverter.GetBytes(value).CopyTo(image, at);
}
