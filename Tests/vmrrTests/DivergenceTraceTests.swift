import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// One-instruction changes to the lockstep fixture guest, patched into
/// copies of its ELF, replayed against its committed journal: the report
/// must name the changed instruction's address and its source line, which
/// the test takes from the fixture's DWARF with binutils' addr2line.
enum LockstepPatch: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// `mov $0x5a17, %edi` becomes `mov $0x5a18, %edi`: a register only.
    case constant
    /// scale()'s `ja` becomes `jbe`: a branch in a function main calls from two places.
    case branch
    /// `movq $0x7e57, tally(%rip)` stores to `spare` instead: memory only,
    /// seen hundreds of exits later.
    case storeTarget

    var testDescription: String { rawValue }
}

extension KVMEndToEnd {
    static let lockstepImage = Fixtures.guest("lockstep")

    /// The fixture's symbols (nm).
    static func symbols() throws -> [String: UInt64] {
        let r = try Fixtures.run("/usr/bin/nm", [lockstepImage])
        var out: [String: UInt64] = [:]
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, let v = UInt64(f[0], radix: 16) { out[String(f[2])] = v }
        }
        return out
    }

    /// The patched bytes and the address of the changed instruction.
    static func patch(_ p: LockstepPatch, _ elf: [UInt8]) throws -> (bytes: [UInt8], address: UInt64) {
        let sym = try symbols()
        func replace(_ old: [UInt8], _ new: [UInt8]) throws -> [UInt8] {
            let hits = (0...(elf.count - old.count)).filter { Array(elf[$0..<($0 + old.count)]) == old }
            try #require(hits.count == 1, "the pattern \(hexBytes(old)) is in the fixture \(hits.count) times")
            var out = elf
            out.replaceSubrange(hits[0]..<(hits[0] + old.count), with: new)
            return out
        }
        // Where objdump puts an instruction whose text contains `needle`.
        func address(_ needle: String, within: Range<UInt64> = 0..<UInt64.max) throws -> UInt64 {
            let d = try Fixtures.run("/usr/bin/objdump", ["-d", "--no-show-raw-insn", lockstepImage])
            let lines = d.stdout.split(separator: "\n").filter {
                $0.contains(needle) && within.contains(UInt64($0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces), radix: 16) ?? 0)
            }
            try #require(lines.count == 1, "objdump shows \(lines.count) instructions with \(needle)")
            return try #require(UInt64(lines[0].split(separator: ":")[0].trimmingCharacters(in: .whitespaces), radix: 16))
        }
        switch p {
        case .constant:
            return (try replace([0xBF, 0x17, 0x5A, 0x00, 0x00], [0xBF, 0x18, 0x5A, 0x00, 0x00]), try address("$0x5a17,%edi"))
        case .branch:
            // cmp $0xa,%rdi; ja +6  ->  jbe +6
            let scale = try #require(sym["scale"])
            let a = try address("ja ", within: scale..<(scale + 0x20))
            return (try replace([0x48, 0x83, 0xFF, 0x0A, 0x77, 0x06], [0x48, 0x83, 0xFF, 0x0A, 0x76, 0x06]), a)
        case .storeTarget:
            let a = try address("$0x7e57,")
            let tally = try #require(sym["tally"]), spare = try #require(sym["spare"])
            // movq $imm32, disp32(%rip): 48 C7 05 disp32 imm32; the new disp names spare.
            let hits = (0...(elf.count - 11)).filter {
                elf[$0] == 0x48 && elf[$0 + 1] == 0xC7 && elf[$0 + 2] == 0x05 && Array(elf[($0 + 7)..<($0 + 11)]) == [0x57, 0x7E, 0, 0]
            }
            try #require(hits.count == 1)
            let at = hits[0]
            let disp = (0..<4).reduce(UInt32(0)) { $0 | UInt32(elf[at + 3 + $1]) << (8 * UInt32($1)) }
            let moved = UInt32(truncatingIfNeeded: Int64(disp) + Int64(spare) - Int64(tally))
            var out = elf
            for i in 0..<4 { out[at + 3 + i] = UInt8(truncatingIfNeeded: moved >> (8 * UInt32(i))) }
            return (out, a)
        }
    }

    /// addr2line's "file:line" for `address`, file reduced to its last component.
    static func sourceLine(_ address: UInt64) throws -> (file: String, line: String) {
        let r = try Fixtures.run("/usr/bin/addr2line", ["-e", lockstepImage, hex(address)])
        let f = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")[0].split(separator: ":")
        try #require(f.count == 2 && f[1] != "0", "addr2line: \(r.stdout)")
        return (String(f[0].split(separator: "/").last!), String(f[1]))
    }

    /// The journal and the recorded image side by side in a scratch directory
    /// (found there by name and SHA-256 wherever the repository is).
    static func lockstepCopy(_ dir: URL) throws -> String {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let journal = dir.appendingPathComponent("lockstep.vmrr").path
        try FileManager.default.copyItem(atPath: Fixtures.journalPath("lockstep"), toPath: journal)
        try FileManager.default.copyItem(atPath: lockstepImage, toPath: dir.appendingPathComponent("lockstep.elf").path)
        return journal
    }

    @Test("a one-instruction change is traced to its instruction and source line", arguments: LockstepPatch.allCases)
    func divergenceTracedToInstruction(_ p: LockstepPatch) throws {
        let dir = Fixtures.scratch("trace-\(p.rawValue)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try Self.lockstepCopy(dir)
        let (bytes, address) = try Self.patch(p, try FileIO.read(Self.lockstepImage))
        let newBuild = dir.appendingPathComponent("new.elf").path
        #expect(FileManager.default.createFile(atPath: newBuild, contents: Data(bytes)))
        let r = try Fixtures.vmrr(["replay", "--quiet", "--image", newBuild, journal])
        #expect(r.exited && r.status == ExitStatus.divergence, "status \(r.status): \(r.stderr)")
        let lines = r.stderrLines
        let header = try #require(lines.firstIndex { $0.contains("traced to the instruction") }, "\(r.stderr)")
        let (file, line) = try Self.sourceLine(address)
        let place = "\(hex(address)) <"
        // Both sides name the changed instruction with its file and line.
        let sides = lines[header...].filter { $0.hasPrefix("    \(place)") }
        #expect(sides.count == 2, "\(r.stderr)")
        for s in sides { #expect(s.hasSuffix("\(file):\(line)"), "\(s) should end with \(file):\(line)") }
        // The position the debugger commands go to, and both commands.
        #expect(lines.contains { $0.contains("debug it: vmrr debug \(journal), then: goto ") }, "\(r.stderr)")
        #expect(lines.contains { $0.contains("vmrr debug \(journal) --image \(newBuild), then: goto ") }, "\(r.stderr)")
        let sym = try Self.symbols()
        switch p {
        case .constant:
            #expect(lines.contains { $0.hasPrefix("    rdi ") && $0.contains("0x0000000000005a17") && $0.contains("0x0000000000005a18") }, "\(r.stderr)")
            #expect(!lines.contains("  memory written differently:"))
        case .branch:
            #expect(lines.contains { $0.hasPrefix("    rip ") }, "the branch changes where execution goes: \(r.stderr)")
            // The backtrace names the first of scale()'s two call sites in main.
            let d = try Fixtures.run("/usr/bin/objdump", ["-d", "--no-show-raw-insn", Self.lockstepImage])
            let call = try #require(d.stdout.split(separator: "\n").first { $0.contains("call") && $0.contains("<scale>") })
            let callAddress = try #require(UInt64(call.split(separator: ":")[0].trimmingCharacters(in: .whitespaces), radix: 16))
            let (_, callLine) = try Self.sourceLine(callAddress + 5)  // the return address (call rel32 is 5 bytes)
            #expect(lines.contains { $0.contains("#1  ") && $0.contains("<main+") && $0.hasSuffix("lockstep.c:\(callLine)") }, "\(r.stderr)")
        case .storeTarget:
            #expect(lines.contains("  memory written differently:"), "\(r.stderr)")
            #expect(lines.contains { $0.contains("\(hex(try! #require(sym["tally"]))) <tally>") }, "\(r.stderr)")
            #expect(lines.contains { $0.contains("\(hex(try! #require(sym["spare"]))) <spare>") }, "\(r.stderr)")
            #expect(!lines.contains("  registers written differently:"))
            // The exit-level divergence comes hundreds of events after the store.
            let diverged = try #require(lines.first { $0.contains("replay diverged at event ") })
            let after = try #require(diverged.range(of: "at event ")).upperBound
            let event = UInt64(diverged[after...].prefix { $0.isNumber }) ?? 0
            #expect(event > 1000, "\(diverged)")
        }
    }

    @Test("without the recorded image the divergence is reported at the exit, and what is missing is named")
    func divergenceTraceNeedsTheRecordedImage() throws {
        let dir = Fixtures.scratch("trace-missing")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let reader = try JournalReader(path: Fixtures.journalPath("lockstep"))
        var header = reader.header
        header.imagePath = "/nonexistent/build/lockstep.elf"
        let journal = dir.appendingPathComponent("lockstep.vmrr").path
        try JournalRewrite.write(reader, header: header, to: journal)
        let newBuild = dir.appendingPathComponent("new.elf").path
        #expect(FileManager.default.createFile(atPath: newBuild, contents: Data(try Self.patch(.constant, try FileIO.read(Self.lockstepImage)).bytes)))
        let r = try Fixtures.vmrr(["replay", "--quiet", "--image", newBuild, journal])
        #expect(r.status == ExitStatus.divergence, "\(r.stderr)")
        #expect(r.stderr.contains("replay diverged at event "), "\(r.stderr)")
        #expect(r.stderr.contains("not traced to the instruction: the recorded image /nonexistent/build/lockstep.elf"), "\(r.stderr)")
        // A budget too small to reach the change says so.
        let copy = try Self.lockstepCopy(dir.appendingPathComponent("with-image"))
        let small = try Fixtures.vmrr(["replay", "--quiet", "--trace-limit", "1", "--image", newBuild, copy])
        #expect(small.status == ExitStatus.divergence)
        #expect(small.stderr.contains("no instruction's effect differed in 1 instructions") && small.stderr.contains("--trace-limit"),
                "\(small.stderr)")
    }

    @Test("vmrr debug --image NEW runs the new build over the journal and stops where the histories split")
    func debugNewBuildStopsAtTheSplit() throws {
        let dir = Fixtures.scratch("trace-debug")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try Self.lockstepCopy(dir)
        let (bytes, address) = try Self.patch(.branch, try FileIO.read(Self.lockstepImage))
        let newBuild = dir.appendingPathComponent("new.elf").path
        #expect(FileManager.default.createFile(atPath: newBuild, contents: Data(bytes)))
        let script = "break scale\ncontinue\nx/i $pc\ncontinue\ninfo registers rip\ncontinue\ninfo registers rip\n"
        let r = try Fixtures.vmrr(["debug", journal, "--image", newBuild, "--batch", "-x", "/dev/stdin"], stdin: script)
        #expect(r.stderr.contains("is another build than the recorded image: it runs over the journal"), "\(r.stderr)")
        // The new build's code is what runs and is shown: its jbe, not the recorded ja.
        #expect(r.stdout.contains("Breakpoint 1, scale at "), "\(r.stdout)")
        #expect(r.stderr.contains("splits from the journal's here"), "\(r.stderr)")
        #expect(r.stderr.contains("the first instruction whose effect differs is at position "), "\(r.stderr)")
        let (file, line) = try Self.sourceLine(address)
        #expect(r.stderr.contains("\(hex(address)) <scale+") && r.stderr.contains("\(file):\(line)"), "\(r.stderr)")
        // Left at that instruction, twice (the second continue meets the split again).
        let rips = r.stdout.split(separator: "\n").filter { $0.hasPrefix("rip ") }
        #expect(rips.count == 2 && rips.allSatisfy { $0.contains(hex(address)) }, "\(r.stdout)")
        // Without KVM the other build is only named: its code and symbols are not used.
        let j = try Fixtures.vmrr(["debug", journal, "--image", newBuild, "--no-kvm", "--batch", "-x", "/dev/stdin"], stdin: "info registers rip\n")
        #expect(j.stderr.contains("its code and symbols are not used"), "\(j.stderr)")
    }
}
