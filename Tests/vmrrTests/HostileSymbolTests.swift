import Foundation
import Testing
import VMRRBase
import VMRRGuest
import VMRRTestSupport

/// ELF symbol names are untrusted text (issue 18): one with terminal
/// escapes reaches the debugger, `mmu` and replay reports escaped.
struct HostileSymbolTests {
    static let hostile = "evil\u{1b}]0;owned\u{07}\u{1b}[2Jname"

    /// A multiboot guest whose code after "A" sits under the hostile label, then ends (debug-exit 0).
    static func build(in dir: URL) throws -> String {
        try TinyMultiboot.build("sym", tail: """
                nop
                .globl "\(hostile)"
            "\(hostile)":
                mov $0, %al
                out %al, $0xf4
                hlt
            """, in: dir)
    }

    @Test func symbolNamesAreEscapedWhenTheImageIsRead() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try MultibootImage.parse(bytes: try FileIO.read(try Self.build(in: dir)), path: "sym.elf")
        let names = image.image.symbols.all.map(\.name)
        #expect(names.contains(#"evil\x1b]0;owned\x07\x1b[2Jname"#), "\(names)")
        #expect(!names.joined().unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
    }

    @Test(.enabled(if: Fixtures.kvmAvailable)) func theDebuggerPrintsThemEscaped() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let elf = try Self.build(in: dir)
        let journal = dir.appendingPathComponent("sym.vmrr").path
        _ = try Fixtures.spawn(Fixtures.vmrrBinary, ["record", elf, "--clock", "virtual", "-o", journal, "-q", "--input", "/dev/null"])
        try "goto end\nbt\ninfo symbol $pc\nx/2i $pc\n".write(to: dir.appendingPathComponent("script"), atomically: true, encoding: .utf8)
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", journal, "--image", elf, "--batch", "-x", dir.appendingPathComponent("script").path])
        let all = r.stdout + r.stderr
        #expect(all.contains(#"evil\x1b]0;owned\x07\x1b[2Jname"#), "\(all)")
        #expect(!all.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 }, "\(all)")
    }
}
