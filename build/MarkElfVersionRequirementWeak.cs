// MSBuild inline task (RoslynCodeTaskFactory): marks one symbol-version requirement of ELF shared
// libraries as weak, so the dynamic loader accepts a libstdc++ that lacks that version as long as
// no symbol bound to it is called. See docs/torchsharp-native.md for why SaeMl needs this.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class MarkElfVersionRequirementWeak : Task
{
    private const uint SectionTypeGnuVersionNeeds = 0x6ffffffe; // SHT_GNU_verneed
    private const ushort VersionFlagWeak = 0x2;                 // VER_FLG_WEAK

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    [Required]
    public string VersionName { get; set; } = string.Empty;

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var image = File.ReadAllBytes(path);
                var changed = MarkWeak(image, path);
                if (changed == 0)
                {
                    Log.LogMessage(MessageImportance.Low, "{0}: no strong '{1}' requirement, left unchanged.", path, VersionName);
                    continue;
                }

                // Write a new file and rename it over the old one: this never writes through a hard
                // link or symbolic link into the package cache the output file was copied from.
                var temporary = path + ".weak-glibcxx.tmp";
                File.WriteAllBytes(temporary, image);
                File.Replace(temporary, path, destinationBackupFileName: null);
                Log.LogMessage(MessageImportance.Normal, "{0}: marked the '{1}' requirement weak.", path, VersionName);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                Log.LogError("Could not mark '{0}' weak in '{1}': {2}", VersionName, path, ex.Message);
            }
        }

        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// Sets VER_FLG_WEAK on every Vernaux entry named <see cref="VersionName"/>; returns how many changed.
    /// Offsets outside the file (a malformed ELF) surface as ArgumentException from BitConverter.
    /// </summary>
    private int MarkWeak(byte[] image, string path)
    {
        if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (image[4] != 2 || image[5] != 1)
            throw new InvalidDataException("expected a 64-bit little-endian ELF file");

        var sectionTableOffset = checked((int)BitConverter.ToUInt64(image, 0x28));
        var sectionEntrySize = BitConverter.ToUInt16(image, 0x3A);
        var sectionCount = BitConverter.ToUInt16(image, 0x3C);
        var changed = 0;

        for (var section = 0; section < sectionCount; section++)
        {
            var header = sectionTableOffset + section * sectionEntrySize;
            if (BitConverter.ToUInt32(image, header + 4) != SectionTypeGnuVersionNeeds)
                continue;

            var needsOffset = checked((int)BitConverter.ToUInt64(image, header + 0x18));
            var stringSection = (int)BitConverter.ToUInt32(image, header + 0x28);
            var needCount = (int)BitConverter.ToUInt32(image, header + 0x2C);
            var stringsOffset = checked((int)BitConverter.ToUInt64(image, sectionTableOffset + stringSection * sectionEntrySize + 0x18));

            var need = needsOffset;
            for (var n = 0; n < needCount; n++)
            {
                var auxCount = BitConverter.ToUInt16(image, need + 2);
                var aux = need + (int)BitConverter.ToUInt32(image, need + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    var name = ReadCString(image, stringsOffset + (int)BitConverter.ToUInt32(image, aux + 8));
                    var flags = BitConverter.ToUInt16(image, aux + 4);
                    if (name == VersionName && (flags & VersionFlagWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VersionFlagWeak)).CopyTo(image, aux + 4);
                        changed++;
                    }

                    aux += (int)BitConverter.ToUInt32(image, aux + 12);
                }

                need += (int)BitConverter.ToUInt32(image, need + 12);
            }
        }

        return changed;
    }

    private static string ReadCString(byte[] image, int offset)
    {
        var end = Array.IndexOf(image, (byte)0, offset);
        if (end < 0)
            throw new InvalidDataException("unterminated string in the dynamic string table");
        return Encoding.ASCII.GetString(image, offset, end - offset);
    }
}
