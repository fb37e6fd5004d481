import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// Every exit status vmrr can exit with is listed by `vmrr --help` and in the
/// README's table (issue 18, "a documented set of exit statuses").
struct ExitStatusDocsTests {
    @Test func helpAndReadmeListEveryStatus() throws {
        let help = try Fixtures.vmrr(["--help"])
        #expect(help.status == 0)
        let readme = try FileIO.readText(Fixtures.root.appendingPathComponent("README.md").path)
        for row in ExitStatus.documented {
            let n = "\(row.status)"
            #expect(help.stdout.contains("  " + n + String(repeating: " ", count: 5 - n.count) + row.meaning), "--help lacks \(n)")
            #expect(readme.contains("| \(n) | \(row.meaning) |"), "README lacks \(n)")
        }
        // The constants vmrr exits with are all in the list.
        let listed = Set(ExitStatus.documented.map(\.status))
        for s in [ExitStatus.halted, ExitStatus.replayedIdentically, ExitStatus.commandFailed, ExitStatus.unusableInput,
                  ExitStatus.divergence, ExitStatus.verifyDigestOnly, ExitStatus.shutdown, ExitStatus.kvmError, ExitStatus.strict,
                  ExitStatus.interrupted, ExitStatus.replayInterrupted, ExitStatus.reset, ExitStatus.usage] {
            #expect(listed.contains(s), "\(s) is not documented")
        }
        // The parser's usage status is the one listed.
        #expect(try Fixtures.vmrr(["no-such-command"]).status == ExitStatus.usage)
    }
}
