import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// What Debian's gdb 13 follows and decodes on the multiboot fixture: a
/// restart to a checkpoint through `run cN` (scripts/vmrr.gdb's `restart N`),
/// and the 32-bit entry disassembled as `objdump -m i386` from gdb.
extension KVMEndToEnd {
    static var gdbScript: String { Fixtures.root.appendingPathComponent("scripts/vmrr.gdb").path }

    /// gdb in batch mode over `target extended-remote` to the multiboot journal, with scripts/vmrr.gdb loaded.
    static func extendedMultibootGDB(_ commands: [String]) throws -> Fixtures.Result {
        var args = ["-nx", "-batch", "-x", gdbScript, "-ex", "set pagination off", "-ex", "set confirm off",
                    "-ex", "target extended-remote | \(Fixtures.vmrrBinary) debug \(multibootJournal) --image \(Fixtures.guest("multiboot")) --gdb -"]
        for c in commands { args += ["-ex", c] }
        return try Fixtures.run(gdb, args, timeout: 120)
    }

    @Test("scripts/vmrr.gdb's restart N: gdb follows the jump back to a checkpoint and shows its registers, with no flushregs")
    func gdbFollowsRestart() throws {
        let r = try Self.extendedMultibootGDB(["break serial_put_dec", "continue", "checkpoint", "p $pc", "p/x $rsp",
                                               "stepi", "stepi", "stepi", "p $pc", "p/x $rsp",
                                               "restart 1", "p $pc", "p/x $rsp", "when"])
        let all = r.stdout + r.stderr
        #expect(r.exited && !r.timedOut, "\(all)")
        #expect(!all.contains("Really redefine"), "scripts/vmrr.gdb asks nothing: \(all)")
        let v = Self.printed(r.stdout)
        try #require(v.count == 6, "\(all)")
        #expect(v[2] != v[0], "stepi moved: \(v)")
        #expect(v[4] == v[0] && v[5] == v[1], "after restart 1 gdb shows the checkpoint's rip and rsp: \(v)")
        let checkpoint = try #require(all.split(separator: "\n").first { $0.hasPrefix("Checkpoint 1 at position ") }, "\(all)")
        let position = checkpoint.dropFirst("Checkpoint 1 at position ".count)
        #expect(all.contains("(position \(position)) at rip \(hex(v[0]))"), "when: back at the checkpoint: \(all)")
    }

    @Test("x/3i at the 32-bit entry: gdb refuses set architecture i386 under the x86-64 description; monitor x/3i and objdump of gdb's memory dump match objdump -m i386")
    func gdbDisassemblesTheEntryAsI386() throws {
        let dump = Fixtures.scratch("gdb-entry").appendingPathComponent("entry.bin").path
        let r = try Self.extendedMultibootGDB([
            "set architecture i386", "x/3i $pc", "monitor x/3i $pc",
            "dump binary memory \(dump) $pc $pc+17",
            "eval \"shell objdump -D -b binary -m i386 --adjust-vma=%lu \(dump)\", (unsigned long)$pc",
        ])
        let all = r.stdout + r.stderr
        #expect(r.exited && !r.timedOut, "\(all)")
        // gdb 13 keeps the target description's architecture (DEBUGGER.md says why).
        #expect(r.stderr.contains("Selected architecture i386 is not compatible with reported target architecture i386:x86-64"), "\(all)")
        let od = try Fixtures.run("/usr/bin/objdump", ["-d", "-m", "i386", "--start-address=0x40000c", "--stop-address=0x40001c",
                                                       Fixtures.guest("multiboot")], timeout: 60)
        let reference = od.stdout.split(separator: "\n").filter { $0.hasPrefix("  4000") }
        try #require(reference.count == 3, "\(od.stdout)")
        // monitor output is on gdb's stderr (gdb_stdtarg), shell output on its stdout.
        let lines = all.split(separator: "\n")
        for theirs in reference {
            let address = String(theirs.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces))
            let words = theirs.split(separator: "\t")
            let instruction = words.last.map(String.init) ?? "?"
            // objdump over the bytes gdb read at the position: the same line.
            #expect(lines.contains { $0.hasPrefix("  \(address):") && $0.hasSuffix(instruction) }, "\(theirs) in \(r.stdout)")
            // vmrr's own disassembler, in the CPU's mode.
            let mnemonic = instruction.split(separator: " ").first.map(String.init) ?? "?"
            #expect(lines.contains { $0.contains("0x\(address)") && $0.contains(">:") && $0.contains(mnemonic) && !$0.contains("%rip") },
                    "monitor x/3i: \(theirs) in \(r.stdout)")
        }
    }
}

extension KVMEndToEnd {
    /// The session docs/DEBUGGER.md shows: its `(gdb)` commands and the lines it says gdb prints.
    static func documentedSession() throws -> (commands: [String], output: [String]) {
        let doc = try String(contentsOf: Fixtures.root.appendingPathComponent("docs/DEBUGGER.md"), encoding: .utf8)
        let start = "$ gdb -ex 'target remote | vmrr debug fixtures/journals/multiboot.vmrr --image fixtures/guests/multiboot/multiboot.elf --gdb -'\n"
        let opening = try #require(doc.range(of: start), "docs/DEBUGGER.md has no multiboot gdb session")
        let end = try #require(doc.range(of: "\n```", range: opening.upperBound..<doc.endIndex))
        let lines = doc[opening.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
        // The private directory's name changes with every session.
        let output = lines.filter { !$0.hasPrefix("(gdb) ") && !$0.hasPrefix("Reading symbols from /tmp/vmrr-gdb-") }
        return (lines.filter { $0.hasPrefix("(gdb) ") }.map { String($0.dropFirst(6)) }, output)
    }

    @Test("docs/DEBUGGER.md's gdb session on the multiboot kernel, from connect to a reverse watch, is what Debian's gdb prints")
    func theDocumentedSessionIsWhatGDBPrints() throws {
        let (commands, expected) = try Self.documentedSession()
        #expect(commands.count >= 10 && commands.contains("reverse-continue") && commands.contains { $0.hasPrefix("watch") })
        let r = try Self.multibootGDB("pipe", commands)
        let all = r.stdout + r.stderr
        #expect(r.exited && !r.timedOut, "\(all)")
        let printed = Set(all.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for line in expected {
            #expect(printed.contains(line.trimmingCharacters(in: .whitespaces)), "documented, not printed: \(line)\n\(all)")
        }
        #expect(all.contains("Reading symbols from /tmp/vmrr-gdb-") && all.contains("/multiboot.elf.elf64..."), "\(all)")
    }
}
