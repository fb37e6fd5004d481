import Foundation
import Testing
import VMRRTestSupport

/// The REPL disassembles in the CPU's mode: at a multiboot kernel's 32-bit
/// entry (CS.L=0, CS.D=1) the listing agrees with `objdump -d -m i386` of the
/// same bytes. Journal only (checkpoint 0 holds the entry state): no KVM.
@Suite("disassembly in the CPU's mode")
struct DisassemblyModeTests {
    /// "mov %ebx,0x402004" and "movl   %ebx, 0x402004" both give ["%ebx", "0x402004"];
    /// numbers are compared by value ("$0" and "$0x0" are the same immediate).
    static func operands(_ s: Substring) -> [String] {
        s.split(separator: ",").map { op in
            let t = op.trimmingCharacters(in: .whitespaces)
            let dollar = t.hasPrefix("$"), body = dollar ? String(t.dropFirst()) : t
            let value = body.hasPrefix("0x") ? UInt64(body.dropFirst(2), radix: 16) : UInt64(body)
            return value.map { (dollar ? "$" : "") + String($0, radix: 16) } ?? t
        }
    }

    @Test("x/6i at the 32-bit multiboot entry matches objdump -m i386")
    func entryMatchesObjdump() throws {
        let journal = Fixtures.journalPath("multiboot"), image = Fixtures.guest("multiboot")
        let r = try Fixtures.vmrr(["debug", journal, "--no-kvm", "--image", image, "--batch", "-x", "/dev/stdin"],
                                  stdin: "info sregs\nx/6i $pc\n")
        #expect(r.status == 0, "\(r.stderr)")
        // Each listing line: "=> 0x40000c <_start>:  movl   %eax, 0x402000".
        let listed: [(UInt64, Substring)] = r.stdout.split(separator: "\n").compactMap { line in
            guard let x = line.range(of: "0x"), let colon = line.range(of: ">:  ") ?? line.range(of: ":  "),
                  let a = UInt64(line[x.upperBound...].prefix { $0.isHexDigit }, radix: 16) else { return nil }
            return (a, line[colon.upperBound...])
        }
        try #require(listed.count == 6, "\(r.stdout)")
        let first = listed[0].0, end = listed[5].0 + 16
        let od = try Fixtures.run("/usr/bin/objdump", ["-d", "-m", "i386", "--start-address=\(first)",
                                                       "--stop-address=\(end)", image], timeout: 60)
        // objdump: "  400011:\t89 1d 04 20 40 00    \tmov    %ebx,0x402004"
        var reference: [UInt64: [String]] = [:]
        for line in od.stdout.split(separator: "\n") {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard cols.count >= 3, let a = UInt64(cols[0].trimmingCharacters(in: .whitespaces).dropLast(), radix: 16) else { continue }
            let text = cols[2].split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            reference[a] = text.count == 2 ? Self.operands(text[1]) : []
        }
        for (address, text) in listed {
            // Every instruction vmrr lists starts where objdump's does, with the same operands.
            let ours = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            let ref = try #require(reference[address], "objdump has no instruction at \(String(address, radix: 16)): \(od.stdout)")
            #expect((ours.count == 2 ? Self.operands(ours[1]) : []) == ref, "at \(String(address, radix: 16)): \(text) vs \(ref)")
            #expect(!text.contains("%rip"), "decoded as 64-bit code: \(text)")
        }
    }
}
