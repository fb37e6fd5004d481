import Foundation
import Testing
import VMRRGuest
import VMRRTestSupport

/// `vmrr mmu` takes the guest's symbols wherever it takes an address, as the
/// REPL does. Journal only: no KVM.
@Suite("vmrr mmu with symbols")
struct MMUSymbolTests {
    @Test("pt main and pt main+0x10 walk the symbol's address; an unknown name is one line naming the forms")
    func symbolsAsAddresses() throws {
        let journal = Fixtures.journalPath("multiboot"), image = Fixtures.guest("multiboot")
        let main = try #require(try BootImage.load(path: image, bootProtocol: .multiboot).image.symbols.lookup("main"))
        func run(_ address: String) throws -> Fixtures.Result {
            try Fixtures.vmrr(["mmu", journal, "--no-kvm", "--image", image, "pt", address])
        }
        let named = try run("main"), numbered = try run("0x" + String(main, radix: 16))
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout == numbered.stdout, "\(named.stdout)\n---\n\(numbered.stdout)")
        let offset = try run("main+0x10")
        #expect(offset.stdout.hasPrefix("pt 0x" + String(repeating: "0", count: 16 - String(main + 0x10, radix: 16).count)
                                        + String(main + 0x10, radix: 16)), "\(offset.stdout.prefix(80))")
        let unknown = try run("no_such_symbol")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.split(separator: "\n").count == 1 && unknown.stderr.contains("or a symbol of the guest image"),
                "\(unknown.stderr)")
    }
}
