import ArgumentParser
import Glibc
import VMRRJournal
import VMRRMachine

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure exits per second, record overhead and journal size (docs/PERFORMANCE.md).")

    func run() throws {
        fail("bench: not yet implemented")
    }
}
