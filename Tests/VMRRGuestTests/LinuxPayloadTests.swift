import CLZ4
import Foundation
import Testing
@testable import VMRRGuest
import VMRRBase

/// Host-side decompression of a bzImage's payload, on a bzImage made at test
/// time: a tiny vmlinux (GNU as and ld) compressed by liblz4 in the kernel's
/// LZ4 legacy format, behind a synthetic setup header.
@Suite("bzImage payload decompressed on the host", .serialized)
struct LinuxPayloadTests {
    static let physical: UInt64 = 0x100_0000

    /// A vmlinux whose startup_64 is at 16 MiB physical (0xffffffff81000000 virtual).
    static func vmlinux() throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmrr-payload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            .text
            .globl startup_64
        startup_64:
            hlt
            jmp startup_64
            .data
            .fill 70000, 1, 0x5a

        """.write(to: dir.appendingPathComponent("k.s"), atomically: true, encoding: .utf8)
        try """
        ENTRY(startup_64)
        SECTIONS {
            . = 0xffffffff81000000;
            .text : AT(0x1000000) { *(.text) }
            .data : AT(0x1000000 + (ADDR(.data) - 0xffffffff81000000)) { *(.data) }
            /DISCARD/ : { *(.note.gnu.property) *(.note.GNU-stack) }
        }
        """.write(to: dir.appendingPathComponent("k.ld"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "as -o k.o k.s && ld -T k.ld -z max-page-size=4096 --no-warn-rwx-segments -o k.elf k.o"]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "as/ld failed")
        return try FileIO.read(dir.appendingPathComponent("k.elf").path)
    }

    /// The kernel's LZ4 legacy framing: magic, then (u32 size, block)..., then the u32 total size.
    static func lz4Legacy(_ data: [UInt8], blockSize: Int = 8 << 20) -> [UInt8] {
        var out: [UInt8] = [0x02, 0x21, 0x4C, 0x18]
        func u32(_ v: Int) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        var pos = 0
        while pos < data.count {
            let n = min(blockSize, data.count - pos)
            var dst = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(n))))
            let c = data.withUnsafeBufferPointer { src in
                dst.withUnsafeMutableBufferPointer { d in
                    src.baseAddress!.advanced(by: pos).withMemoryRebound(to: CChar.self, capacity: n) { s in
                        d.baseAddress!.withMemoryRebound(to: CChar.self, capacity: d.count) { LZ4_compress_default(s, $0, Int32(n), Int32(d.count)) }
                    }
                }
            }
            u32(Int(c)); out += dst[0..<Int(c)]
            pos += n
        }
        u32(data.count)
        return out
    }

    /// A bzImage whose protected-mode kernel holds `payload` at offset 0x100.
    static func bzImage(payload: [UInt8]) -> [UInt8] {
        var t = TestBzImage()
        t.kernelSize = 0x100 + payload.count
        t.initSize = 0x80_0000
        var b = t.bytes()
        let kernel = (Int(t.setupSects) + 1) * 512
        func put(_ o: Int, _ v: Int) { for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        put(LinuxPayload.payloadOffsetField, 0x100)
        put(LinuxPayload.payloadLengthField, payload.count)
        b.replaceSubrange((kernel + 0x100)..<(kernel + 0x100 + payload.count), with: payload)
        return b
    }

    @Test("an LZ4 payload is decompressed and the vmlinux inside is loaded and entered at startup_64")
    func lz4PayloadBecomesTheVmlinux() throws {
        let elf = try Self.vmlinux()
        // Small blocks, so that the stream has several.
        let bz = Self.bzImage(payload: Self.lz4Legacy(elf, blockSize: 16 << 10))
        let l = try LinuxImage.parse(bytes: bz, path: "bz")
        #expect(l.decompressedOnHost && l.payloadCompression == .lz4)
        #expect(l.kind == .bzImage && l.longMode)
        #expect(l.image.entry == Self.physical, "startup_64's physical address")
        #expect(l.image.sha256 == SHA256.hash(bz), "the journal names the bzImage, not the vmlinux")
        #expect(l.image.segments.contains { $0.paddr == Self.physical && $0.memsz > 0 })
        // The segments are the vmlinux's own: the 70,000 bytes of 0x5A are in one of them.
        #expect(l.image.segments.contains { seg in seg.fileBytes.count >= 70_000 && seg.fileBytes.suffix(100).allSatisfy { $0 == 0x5A } })
        #expect(l.setupHeader == Array(bz[0x1F1..<0x26C]), "the bzImage's own setup header goes into the zero page")
        let plan = try BootImage.linux(l).plan(memorySize: 64 << 20, arguments: [], modules: [], initrd: nil)
        #expect(plan.regs.rip == Self.physical)
    }

    @Test("with host decompression off, the bzImage is entered at its own startup_64 (1 MiB + 0x200)")
    func guestDecompressionKeepsTheOldEntry() throws {
        let bz = Self.bzImage(payload: Self.lz4Legacy(try Self.vmlinux()))
        let l = try LinuxImage.parse(bytes: bz, path: "bz", decompressOnHost: false)
        #expect(!l.decompressedOnHost && l.payloadCompression == .lz4)
        #expect(l.image.entry == 0x10_0200)
    }

    @Test("other compressors are named and left to the kernel's decompressor")
    func otherCompressorsAreLeftToTheKernel() throws {
        for (magic, name) in [([0x1F, 0x8B, 0x08, 0, 0, 0] as [UInt8], LinuxPayload.Compression.gzip),
                              ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], .xz), ([0x28, 0xB5, 0x2F, 0xFD, 0, 0], .zstd)] {
            let l = try LinuxImage.parse(bytes: Self.bzImage(payload: magic + [UInt8](repeating: 7, count: 64)), path: "bz")
            #expect(l.payloadCompression == name && !l.decompressedOnHost)
            #expect(l.image.entry == 0x10_0200)
        }
    }

    @Test("a corrupt or truncated LZ4 payload is a one-line error naming the file, offset and reason")
    func corruptPayloadsAreOneLineErrors() throws {
        let good = Self.lz4Legacy(try Self.vmlinux())
        var corrupt = good
        for i in 8..<min(good.count, 64) { corrupt[i] = 0xFF }
        let truncated = Array(good.prefix(good.count / 2)) + [0, 0, 0, 0]
        var oversize = good
        oversize[4] = 0xFF; oversize[5] = 0xFF; oversize[6] = 0xFF; oversize[7] = 0x7F
        for (payload, fragment) in [(corrupt, "LZ4"), (truncated, "LZ4"), (oversize, "runs past the payload's end")] {
            #expect { try LinuxImage.parse(bytes: Self.bzImage(payload: payload), path: "k.bz") } throws: { e in
                let s = "\(e)"
                return s.contains("k.bz:") && s.contains("offset 0x") && s.contains(fragment) && !s.contains("\n")
            }
        }
    }
}
