import Testing
@testable import VMRRMMU

@Suite("Golden views")
struct GoldenTests {
    func run(_ line: String, _ context: MMUCommandContext = Fixture.context(), other: MMUCommandContext? = nil,
             json: Bool = false) -> String {
        do {
            return try MMUCommands.run(line.split(separator: " ").map(String.init), context: context, other: other,
                                       json: json)
        } catch {
            return "error: \(error)"
        }
    }

    @Test func show() {
        for line in ["pt 0x401234", "pt 0x401234 --user --write", "pt 0xffff_8880_0000_1000", "pt 0x800000000000",
                     "ept 0x401234", "ept 0xfffc1000 --npt", "ept 0x900000", "walk2d 0x401234", "shadow 0x401234",
                     "shadow 0xffff888000001000", "shadow dump", "ptdump", "ptdump ept", "ptdump shadow", "pt xyz",
                     "pt", "frob", "ptdump foo", "pt 1 --foo", "ptdiff"] {
            print("$ \(line)\n\(run(line))\n")
        }
        print(run("pt 0x401234", json: true))
        #expect(Bool(true))
    }
}
