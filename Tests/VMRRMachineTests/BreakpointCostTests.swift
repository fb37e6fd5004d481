import Foundation
import Testing
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay

/// A forward `continue` that hits a breakpoint stops the machine at the hit
/// and counts the instructions since the last event only when asked
/// (KVMTarget+Count.swift): a hit costs the breakpoint's exit and the step
/// over it, counted in KVM_RUN calls (the vCPU's run counter, not host time).
@Suite("KVM breakpoint hits", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct BreakpointCostTests {
    static let image = Fixtures.guest("paging")

    static func symbol(_ name: String) throws -> UInt64 {
        try #require(try GuestImage.load(path: image).symbols.lookup(name), "no \(name) in \(image)")
    }

    /// Continues from event 0 to the end of the history: the vCPU runs it
    /// took and the registers at each hit (read without asking for the position).
    static func continueToEnd(_ target: KVMTarget) throws -> (runs: UInt64, hits: [GPRegisters]) {
        try target.goto(Position(event: 0))
        let runs0 = target.vcpuRuns
        var hits: [GPRegisters] = []
        while true {
            let r = try target.continueForward()
            guard case .breakpoint = r else {
                #expect(r == .endOfHistory)
                break
            }
            hits.append(try target.registers())
        }
        return (target.vcpuRuns - runs0, hits)
    }

    @Test("a forward continue that hits costs at most two KVM_RUNs more than an unbroken run",
          arguments: [BreakpointMechanism.software, .hardware])
    func aHitCostsAtMostTwoRuns(mechanism: BreakpointMechanism) throws {
        let target = try KVMTarget(reader: try JournalReader(path: try KVMTargetTests.record("paging")))
        let unbroken = try Self.continueToEnd(target)
        let puts = try Self.symbol("serial_puts")
        _ = try target.addBreakpoint(.address(puts), mechanism: mechanism)
        let broken = try Self.continueToEnd(target)
        #expect(broken.hits.count >= 5 && broken.hits.allSatisfy { $0.rip == puts }, "\(broken.hits.map(\.rip))")
        let extra = Int64(broken.runs) - Int64(unbroken.runs)
        #expect(extra >= 0 && extra <= 2 * Int64(broken.hits.count),
                "\(broken.hits.count) hits cost \(extra) runs beyond the unbroken \(unbroken.runs)")
    }

    @Test("positions counted at every hit (snapshots taken after page faults) replay the same hits as the uncounted run")
    func countingAtEveryHitChangesNothing() throws {
        let target = try KVMTarget(reader: try JournalReader(path: try KVMTargetTests.record("paging")))
        _ = try target.addBreakpoint(.address(try Self.symbol("serial_puts")), mechanism: .software)
        let uncounted = try Self.continueToEnd(target).hits
        try target.goto(Position(event: 0))
        var counted: [(Position, GPRegisters)] = []
        while case .breakpoint = try target.continueForward() {
            counted.append((target.position, try target.registers()))
        }
        #expect(counted.map(\.1) == uncounted)
        #expect(counted.map(\.0) == counted.map(\.0).sorted() && Set(counted.map(\.0)).count == counted.count)
        for (p, r) in counted.reversed().prefix(3) {
            try target.goto(p)
            #expect(try target.registers() == r, "at \(p)")
        }
    }

    @Test("the count of an uncounted stop is exact: hits within one interval, a loop's address hit again and again")
    func countedPositionsAreExact() throws {
        let target = try KVMTarget(reader: try JournalReader(path: try KVMTargetTests.record("paging")))
        // Four instructions of serial_puts run between two exits: a chain of four stops in one interval.
        let puts = try Self.symbol("serial_puts")
        for a in [puts, puts + 3, puts + 8, puts + 0xd] { _ = try target.addBreakpoint(.address(a), mechanism: .software) }
        var regs: [GPRegisters] = []
        for _ in 0..<4 {
            guard case .breakpoint = try target.continueForward() else { Issue.record("no hit"); return }
            regs.append(try target.registers())
        }
        #expect(regs.map(\.rip) == [puts, puts + 3, puts + 8, puts + 0xd])
        let fourth = target.position
        #expect(try target.registers() == regs[3], "counting ends in the same state")
        try target.goto(Position(event: 0))
        try target.goto(fourth)
        #expect(try target.registers() == regs[3])
        // The first stop is four instructions earlier (movzbl, test, je, mov).
        _ = try target.reverseStepInstructions(4)
        #expect(target.position == Position(event: fourth.event, instructions: fourth.instructions - 4))
        let back = try target.registers()
        #expect(back == regs[0], "\(back) vs \(regs[0])")
        target.deleteAllBreakpoints()

        // memset's loop body runs 4096 times between two exits; five hits of it, counted once.
        let body = try Self.symbol("memset") + 0x14
        _ = try target.addBreakpoint(.address(body), mechanism: .software)
        var rcx: [UInt64] = []
        for _ in 0..<5 {
            guard case .breakpoint = try target.continueForward() else { Issue.record("no hit"); return }
            rcx.append(try target.registers().rcx)
        }
        #expect(zip(rcx, rcx.dropFirst()).allSatisfy { $1 == $0 + 1 }, "one iteration per hit: \(rcx)")
        let last = try target.registers()
        let fifth = target.position
        #expect(try target.registers() == last, "counting ends in the same state")
        // One iteration back is four instructions back, and every register matches a direct goto.
        guard case .breakpoint = try target.reverseContinue() else { Issue.record("no hit backward"); return }
        #expect(target.position == Position(event: fifth.event, instructions: fifth.instructions - 4))
        #expect(try target.registers().rcx == rcx[3])
        try target.goto(Position(event: 0))
        try target.goto(fifth)
        #expect(try target.registers() == last)
    }
}
