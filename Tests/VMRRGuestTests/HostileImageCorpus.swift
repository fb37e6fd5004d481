import Foundation
import Testing
import VMRRBase
import VMRRTestSupport
@testable import VMRRGuest

/// fuzz/hostile-images: the hostile guest images of issue 18 as files, so
/// that the command line is run on each (vmrrTests' `HostileImageCorpusTests`
/// records every one). Made here, where the image builders are, by
/// `generate` (VMRR_WRITE_HOSTILE_CORPUS=1); fuzz/hostile-images/README.md
/// says what each is.
struct HostileImageCorpus {
    static let dir = Fixtures.root.appendingPathComponent("fuzz/hostile-images")

    /// Each file and its bytes.
    static func files() -> [(String, [UInt8])] {
        // 100 PT_LOAD headers of 60 MiB each, 4 KiB apart: each used to be materialized at its full memsz.
        let overlapping = HostileImageTests.sharedDataELF(count: 100, data: [0xF4], memsz: 60 << 20) { 0x20_0000 + UInt64($0) * 4096 }
        // 64 headers over one 16 KiB copy of `hlt`, side by side: the file's bytes used to be copied once per header.
        let shared = HostileImageTests.sharedDataELF(count: 64, data: [UInt8](repeating: 0xF4, count: 16 << 10), memsz: 16 << 10) {
            0x20_0000 + UInt64($0) * (16 << 10)
        }
        // 40 bytes: a multiboot header whose bss ends 1 GiB past the load address, then hlt.
        let load: UInt32 = 0x10_0000
        let bss = multibootHeader(flags: 0x1_0000, addresses: [load, load, 0, load + (1 << 30), load + 32])
            + [0xF4, 0xEB, 0xFD, 0x90, 0x90, 0x90, 0x90, 0x90]
        // A bzImage whose pref_address is 4 KiB below 2^64.
        var bz = TestBzImage()
        bz.prefAddress = UInt64.max - 0xFFF
        return [("overlapping-segments.elf", overlapping), ("shared-file-bytes.elf", shared),
                ("huge-bss.multiboot", bss), ("pref-address-near-2e64.bzImage", bz.bytes())]
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["VMRR_WRITE_HOSTILE_CORPUS"] != nil))
    func generate() throws {
        try FileManager.default.createDirectory(at: Self.dir, withIntermediateDirectories: true)
        for (name, bytes) in Self.files() { try Data(bytes).write(to: Self.dir.appendingPathComponent(name)) }
    }

    /// The committed files are what `generate` makes.
    @Test func theCommittedFilesAreCurrent() throws {
        for (name, bytes) in Self.files() {
            #expect(try FileIO.read(Self.dir.appendingPathComponent(name).path) == bytes, "\(name)")
        }
    }
}
