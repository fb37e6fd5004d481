import Testing
import VMRRBase
import VMRRTestSupport
@testable import VMRRGuest

/// DWARF line lookups (libdw) checked against binutils' addr2line on the
/// fixture guests, ELF64 and the ELF32 multiboot container alike.
@Suite struct SourceLinesTests {
    /// addr2line's answer for `addresses` in `image`: "file:line" per address ("??:0" when unknown).
    static func addr2line(_ image: String, _ addresses: [UInt64]) throws -> [String] {
        let r = try Fixtures.run("/usr/bin/addr2line", ["-e", image] + addresses.map { hex($0) })
        try #require(r.status == 0, "addr2line: \(r.stderr)")
        return r.stdout.split(separator: "\n").map { line in
            // "path:line" or "path:line (discriminator N)".
            String(line.split(separator: " ").first ?? "")
        }
    }

    @Test(arguments: ["demo", "bug", "multiboot"])
    func linesAgreeWithAddr2line(name: String) throws {
        let path = fixturePath(name)
        let image = try BootImage.load(path: path, selection: .auto).image
        let lines = SourceLines(elf: image.bytes)
        #expect(lines.unavailableReason == nil)
        // Every function's first bytes and a few bytes in.
        let functions = image.symbols.all.filter { $0.kind == .function && $0.size > 8 }
        try #require(functions.count >= 3)
        let addresses = functions.flatMap { [$0.value, $0.value + $0.size / 2] }
        let expected = try Self.addr2line(path, addresses)
        try #require(expected.count == addresses.count)
        var compared = 0
        for (a, want) in zip(addresses, expected) where !want.hasPrefix("??") {
            let got = lines.location(of: a)
            let wantLine = want.split(separator: ":").last.map(String.init) ?? ""
            #expect(got.map { String($0.line) } == wantLine, "\(name) \(hex(a)): libdw \(String(describing: got)), addr2line \(want)")
            #expect(got.map { want.hasSuffix("\($0.file.split(separator: "/").last ?? ""):\(wantLine)") } == true,
                    "\(name) \(hex(a)): file \(String(describing: got?.file)) vs \(want)")
            compared += 1
        }
        #expect(compared >= functions.count, "addr2line knew too few of \(name)'s addresses")
    }

    @Test func imagesWithoutDWARFSayWhy() {
        let lines = SourceLines(elf: Array("not an elf".utf8))
        #expect(lines.isEmpty && lines.unavailableReason != nil)
        #expect(lines.location(of: 0x100000) == nil)
    }
}
