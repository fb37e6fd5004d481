import VMRRBase
/// A bug-report bundle (`.vmrrpack`): one self-contained file holding a
/// journal, the guest image it was recorded from, and a manifest with the
/// SHA-256 of each, the vmrr version and the host facts. Layout (all integers
/// little-endian), documented in docs/JOURNAL.md:
///
///     offset  size  field
///     0       8     magic "VMRRPACK"
///     8       2     bundle format version (1)
///     10      2     entry count N (at most 16)
///     12      4     reserved, 0
///     16      N*64  entry table: name (32 bytes, NUL-padded UTF-8),
///                   u64 offset, u64 size, 16 bytes: first half of SHA-256
///     ...           entry data, in table order
///
/// The entries are `manifest.txt`, `journal.vmrr` and `image.elf`. Every
/// entry's full SHA-256 is in the manifest; the table's half-hash is checked
/// on read, so a corrupted bundle is refused with the entry's name.
public struct VMRRBundle: Sendable, Equatable {
    public static let magic: [UInt8] = Array("VMRRPACK".utf8)
    public static let version: UInt16 = 1
    public static let maxEntries = 16
    static let headerSize = 16
    static let entrySize = 64
    static let nameSize = 32
    /// The entries of a version 1 bundle; others are checked and skipped.
    static let entryNames: Set<String> = ["manifest.txt", "journal.vmrr", "image.elf"]

    public var manifest: String
    public var journal: [UInt8]
    public var image: [UInt8]

    public init(manifest: String, journal: [UInt8], image: [UInt8]) {
        self.manifest = manifest; self.journal = journal; self.image = image
    }

    /// True when `bytes` starts like a bundle.
    public static func looksLikeBundle(_ bytes: [UInt8]) -> Bool {
        bytes.count >= magic.count && Array(bytes[0..<magic.count]) == magic
    }

    /// True when the regular file at `path` starts like a bundle (false when
    /// it cannot be read: opening it as a journal then says why).
    public static func looksLikeBundle(path: String) -> Bool {
        guard let file = try? PositionalFile(path: path) else { return false }
        var head = [UInt8](repeating: 0, count: magic.count)
        guard let n = try? head.withUnsafeMutableBytes({ try file.read(at: 0, into: $0) }) else { return false }
        return n == magic.count && looksLikeBundle(head)
    }

    /// The manifest text for a journal and image.
    public static func makeManifest(header: JournalHeader, journal: [UInt8], image: [UInt8],
                                    journalName: String, vmrrVersion: String) -> String {
        var lines: [String] = []
        lines.append("vmrr bundle version \(version)")
        lines.append("packed-by: vmrr \(vmrrVersion)")
        lines.append("journal: \(journalName)")
        lines.append("journal-sha256: \(SHA256.hex(SHA256.hash(journal)))")
        lines.append("journal-size: \(journal.count)")
        lines.append("image: \(header.imagePath)")
        lines.append("image-sha256: \(SHA256.hex(SHA256.hash(image)))")
        lines.append("image-size: \(image.count)")
        lines.append("recorded-by: vmrr \(header.vmrrVersion)")
        lines.append("host-kernel: \(header.hostKernel)")
        lines.append("host-cpu: \(header.hostCPU)")
        lines.append("host-mmu: \(header.hostMMU.name) (\(header.hostMMUDetail))")
        return lines.joined(separator: "\n") + "\n"
    }

    public func encode() -> [UInt8] {
        let entries: [(String, [UInt8])] = [("manifest.txt", Array(manifest.utf8)), ("journal.vmrr", journal), ("image.elf", image)]
        var out = Self.magic
        out.appendLE(Self.version)
        out.appendLE(UInt16(entries.count))
        out.appendLE(UInt32(0))
        var offset = UInt64(Self.headerSize + entries.count * Self.entrySize)
        for (name, data) in entries {
            var n = Array(name.utf8.prefix(Self.nameSize))
            n += [UInt8](repeating: 0, count: Self.nameSize - n.count)
            out += n
            out.appendLE(offset)
            out.appendLE(UInt64(data.count))
            out += SHA256.hash(data).prefix(16)
            offset += UInt64(data.count)
        }
        for (_, data) in entries { out += data }
        return out
    }

    /// Decodes a bundle, checking every length and hash. Errors name the
    /// file, the offset and the reason.
    public static func decode(_ bytes: [UInt8], name: String) throws -> VMRRBundle {
        func err(_ offset: Int, _ reason: String) -> JournalError {
            JournalError(path: name, offset: UInt64(offset), reason: reason)
        }
        guard looksLikeBundle(bytes) else { throw err(0, "not a vmrr bundle (bad magic)") }
        guard bytes.count >= headerSize else { throw err(bytes.count, "bundle header is truncated") }
        let version = bytes.readLE16(8)
        guard version == Self.version else {
            throw err(8, "bundle format version \(version) is not supported; this vmrr reads version \(Self.version)")
        }
        let count = Int(bytes.readLE16(10))
        guard count >= 1, count <= maxEntries else { throw err(10, "bundle claims \(count) entries (1 to \(maxEntries) allowed)") }
        guard bytes.count >= headerSize + count * entrySize else { throw err(headerSize, "bundle entry table is truncated") }
        var found: [String: [UInt8]] = [:]
        var names = Set<[UInt8]>()
        // Entry data lies after the table and no two entries share a byte, so
        // the entries together are never larger than the file (a bundle whose
        // entries all point at the same bytes cost 14 times its size to read).
        var spans: [(start: UInt64, end: UInt64, name: String)] = []
        let tableEnd = UInt64(headerSize + count * entrySize)
        for i in 0..<count {
            let base = headerSize + i * entrySize
            let rawName = Array(bytes[base..<(base + nameSize)].prefix { $0 != 0 })
            // Errors show the name escaped: it is untrusted bytes (found by fuzzing: a
            // newline or terminal escape in a damaged name broke the one-line error).
            let shown = escapedForMessage(rawName)
            guard names.insert(rawName).inserted else { throw err(base, "entry '\(shown)' appears twice") }
            let off = bytes.readLE64(base + nameSize)
            let size = bytes.readLE64(base + nameSize + 8)
            guard off <= UInt64(bytes.count), size <= UInt64(bytes.count) - off else {
                throw err(base, "entry '\(shown)' (offset \(off), size \(size)) runs past the end of the \(bytes.count)-byte bundle")
            }
            guard off >= tableEnd || size == 0 else {
                throw err(base, "entry '\(shown)' (offset \(off)) overlaps the bundle's entry table, which ends at \(tableEnd)")
            }
            if let other = spans.first(where: { size > 0 && off < $0.end && $0.start < off + size }) {
                throw err(base, "entry '\(shown)' (offset \(off), size \(size)) overlaps entry '\(other.name)'")
            }
            if size > 0 { spans.append((off, off + size, shown)) }
            let data = bytes[Int(off)..<Int(off + size)]
            let want = Array(bytes[(base + nameSize + 16)..<(base + entrySize)])
            guard Array(SHA256.hash(data).prefix(16)) == want else {
                throw err(Int(off), "entry '\(shown)' is corrupt (SHA-256 mismatch)")
            }
            // Only the entries vmrr knows are kept; their names are vmrr's, never the file's.
            let entryName = String(decoding: rawName, as: UTF8.self)
            if Self.entryNames.contains(entryName) { found[entryName] = Array(data) }
        }
        guard let m = found["manifest.txt"] else { throw err(headerSize, "bundle has no manifest.txt") }
        guard let j = found["journal.vmrr"] else { throw err(headerSize, "bundle has no journal.vmrr") }
        guard let img = found["image.elf"] else { throw err(headerSize, "bundle has no image.elf") }
        return VMRRBundle(manifest: String(decoding: m, as: UTF8.self), journal: j, image: img)
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendLE(_ v: UInt16) { for i in 0..<2 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt16(i)))) } }
    fileprivate mutating func appendLE(_ v: UInt32) { for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    fileprivate mutating func appendLE(_ v: UInt64) { for i in 0..<8 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    fileprivate func readLE16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    fileprivate func readLE64(_ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(self[at + i]) << (8 * UInt64(i)) }
        return v
    }
}
