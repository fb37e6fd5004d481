import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// The summary prints strings from the file: a hostile header must not put
/// terminal escapes or extra lines on the user's screen.
struct SummaryEscapeTests {
    @Test func controlCharactersInHeaderStringsAreEscaped() throws {
        let path = Fixtures.tempPath("escape")
        defer { unlink(path) }
        var h = Fixtures.header()
        h.imagePath = "/tmp/evil\u{1b}[2J.elf"
        h.commandLine = "vmrr record\nfake: line"
        h.hostCPU = "caf\u{e9} \u{7f}"
        let w = try JournalWriter(path: path, header: h)
        try w.append(.end(reason: .halted, status: 0), regs: GPRegisters())
        try w.finish()
        let text = try JournalSummary(reader: try JournalReader(path: path)).render()
        #expect(!text.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x7f })
        #expect(text.contains("/tmp/evil\\x1b[2J.elf"))
        #expect(text.contains("vmrr record\\x0afake: line"))
        #expect(text.contains("caf\u{e9} \\x7f"))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("fake:") })
    }
}
