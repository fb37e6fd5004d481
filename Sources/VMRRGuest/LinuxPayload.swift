import CLZ4
import VMRRBase

/// A bzImage's compressed payload (boot protocol 2.08+: payload_offset and
/// payload_length in the setup header) decompressed on the host, so that a
/// 64-bit kernel can be entered at its vmlinux's startup_64 instead of
/// running the kernel's own decompressor through this host's ring-0
/// emulator (docs/GUEST.md section 13, "Host-side decompression").
public enum LinuxPayload {
    /// setup_header.payload_offset (from the protected-mode kernel's start) and payload_length.
    public static let payloadOffsetField = 0x248, payloadLengthField = 0x24C
    /// The oldest boot protocol with the payload fields: 2.08.
    public static let payloadProtocol: UInt16 = 0x0208

    /// The compressors the kernel's build can use, by their magic.
    public enum Compression: String, Sendable, Equatable {
        case gzip, bzip2, lzma, xz, lzo, lz4, zstd
        static func detect(_ b: ArraySlice<UInt8>) -> Compression? {
            let a = Array(b.prefix(6))
            func starts(_ m: [UInt8]) -> Bool { a.count >= m.count && Array(a[0..<m.count]) == m }
            if starts(Magic.lz4Legacy) { return .lz4 }
            if starts(Magic.gzip) { return .gzip }
            if starts(Magic.xz) { return .xz }
            if starts(Magic.zstd) { return .zstd }
            if starts(Magic.bzip2) { return .bzip2 }
            if starts(Magic.lzo) { return .lzo }
            if starts(Magic.lzma) { return .lzma }
            return nil
        }
    }

    /// File magics (the kernel's lib/decompress.c table).
    enum Magic {
        /// LZ4 legacy frame: 0x184C2102, little-endian.
        static let lz4Legacy: [UInt8] = [0x02, 0x21, 0x4C, 0x18]
        static let gzip: [UInt8] = [0x1F, 0x8B]
        static let xz: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
        static let zstd: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        static let bzip2: [UInt8] = [0x42, 0x5A, 0x68]
        static let lzo: [UInt8] = [0x89, 0x4C, 0x5A]
        static let lzma: [UInt8] = [0x5D, 0x00, 0x00]
    }

    /// An LZ4 legacy block decompresses to at most 8 MiB.
    static let lz4LegacyBlockSize = 8 << 20
    /// The decompressed kernel may not exceed this (a sanity bound against hostile input).
    static let maxDecompressed = 1 << 30

    /// Why a payload could not be used, with the file offset.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "offset \(hex(offset)): \(reason)" }
    }

    /// The payload's compressor, or nil when the image has no payload fields.
    public static func compression(bzImage b: [UInt8], kernelOffset: Int, version: UInt16) -> (Compression?, Range<Int>)? {
        guard version >= payloadProtocol, b.count >= payloadLengthField + 4 else { return nil }
        let off = kernelOffset + Int(le32(b, payloadOffsetField)), len = Int(le32(b, payloadLengthField))
        guard off <= b.count, len <= b.count - off, len > 0 else { return (nil, 0..<0) }
        return (Compression.detect(b[off..<(off + len)]), off..<(off + len))
    }

    /// Decompresses an LZ4 legacy stream (the kernel's `lz4 -l` format):
    /// the magic, then blocks of `u32 compressed size | data`, each up to 8
    /// MiB decompressed; a size that is the magic again starts a new stream,
    /// and the kernel build appends the total size as a last u32.
    public static func lz4Legacy(_ b: [UInt8], range: Range<Int>) throws(Failure) -> [UInt8] {
        var pos = range.lowerBound + Magic.lz4Legacy.count
        var out: [UInt8] = []
        var block = [UInt8](repeating: 0, count: lz4LegacyBlockSize)
        let magic = le32(Magic.lz4Legacy, 0)
        while range.upperBound - pos >= 4 {
            let size = Int(le32(b, pos))
            if UInt32(size) == magic { pos += 4; continue }
            // The trailing u32 (the uncompressed size) is all that is left.
            if range.upperBound - pos == 4 { break }
            pos += 4
            guard size > 0, size <= range.upperBound - pos, size <= LZ4_compressBound(Int32(lz4LegacyBlockSize)) else {
                throw Failure(offset: pos - 4, reason: "LZ4 block of \(size) bytes runs past the payload's end (\(range.upperBound - pos) bytes left)")
            }
            let n = b.withUnsafeBufferPointer { src in
                block.withUnsafeMutableBufferPointer { dst in
                    src.baseAddress!.advanced(by: pos).withMemoryRebound(to: CChar.self, capacity: size) { s in
                        dst.baseAddress!.withMemoryRebound(to: CChar.self, capacity: dst.count) { d in
                            LZ4_decompress_safe(s, d, Int32(size), Int32(dst.count))
                        }
                    }
                }
            }
            guard n >= 0 else { throw Failure(offset: pos, reason: "corrupt LZ4 block (liblz4 error \(n))") }
            guard out.count + Int(n) <= maxDecompressed else {
                throw Failure(offset: pos, reason: "the payload decompresses to more than \(maxDecompressed >> 20) MiB")
            }
            out.append(contentsOf: block[0..<Int(n)])
            pos += size
        }
        guard !out.isEmpty else { throw Failure(offset: range.lowerBound, reason: "the LZ4 payload holds no data") }
        return out
    }
}
