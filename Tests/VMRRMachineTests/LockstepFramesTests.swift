import Testing
import VMRRJournal
@testable import VMRRMachine

/// The frame-pointer walk and the byte-run grouping of the divergence trace, on synthetic memory (no KVM).
@Suite struct LockstepFramesTests {
    /// Little-endian memory from (address, 8-byte word) pairs plus raw bytes.
    struct Memory {
        var bytes: [UInt64: UInt8] = [:]
        mutating func word(_ at: UInt64, _ v: UInt64, width: Int = 8) {
            for i in 0..<width { bytes[at + UInt64(i)] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        }
        func read(_ at: UInt64, _ n: Int) throws -> [UInt8] {
            try (0..<n).map { i in
                guard let b = bytes[at + UInt64(i)] else { throw Unreadable() }
                return b
            }
        }
        struct Unreadable: Error {}
    }

    func regs(rip: UInt64, rsp: UInt64, rbp: UInt64) -> GPRegisters {
        var r = GPRegisters()
        r.rip = rip; r.rsp = rsp; r.rbp = rbp
        return r
    }

    @Test func walksTheChainAndStopsAtZero() throws {
        var m = Memory()
        m.word(0x7000, 0x7100); m.word(0x7008, 0x100200)      // frame 1: saved rbp, return address
        m.word(0x7100, 0); m.word(0x7108, 0x100007)           // frame 2: the outermost
        m.word(0x6ff0, 0x1234)                                 // [rsp]: a local, not a return address
        let f = Lockstep.frames(regs(rip: 0x100300, rsp: 0x6ff0, rbp: 0x7000), longMode: true, read: m.read)
        #expect(f == [0x100200, 0x100007])
    }

    @Test func aLeafWithoutAFrameStillHasItsCaller() throws {
        var m = Memory()
        m.word(0x7000, 0); m.word(0x7008, 0x100007)
        m.word(0x6ff8, 0x1002ed)                               // [rsp] = return into main
        for i in 0..<7 { m.bytes[0x1002ed - 7 + UInt64(i)] = [0x89, 0xc7, 0xe8, 0x96, 0xff, 0xff, 0xff][i] }  // ...; call rel32
        let f = Lockstep.frames(regs(rip: 0x100288, rsp: 0x6ff8, rbp: 0x7000), longMode: true, read: m.read)
        #expect(f == [0x1002ed, 0x100007])
    }

    @Test func aLoopingOrUnreadableChainEnds() {
        var m = Memory()
        m.word(0x7000, 0x7000); m.word(0x7008, 0x100200)      // saved rbp points at itself
        #expect(Lockstep.frames(regs(rip: 1, rsp: 0x7000, rbp: 0x7000), longMode: true, read: m.read) == [0x100200])
        #expect(Lockstep.frames(regs(rip: 1, rsp: 0x9000, rbp: 0x9000), longMode: true, read: m.read).isEmpty)
    }

    @Test func thirtyTwoBitFramesUseFourByteWords() {
        var m = Memory()
        m.word(0x7000, 0, width: 4); m.word(0x7004, 0x100123, width: 4)
        #expect(Lockstep.frames(regs(rip: 1, rsp: 0x6000, rbp: 0xFFFF_FFFF_0000_7000), longMode: false, read: m.read) == [0x100123])
    }

    @Test func callForms() {
        #expect(Lockstep.followsCall([0, 0, 0xE8, 1, 2, 3, 4]))          // call rel32
        #expect(Lockstep.followsCall([0, 0, 0, 0, 0, 0xFF, 0xD0]))       // call *%rax
        #expect(Lockstep.followsCall([0, 0xFF, 0x15, 1, 2, 3, 4]))       // call *disp32(%rip)
        #expect(!Lockstep.followsCall([0, 0, 0, 0, 0, 0x89, 0xC7]))      // mov
    }

    @Test func byteRuns() {
        #expect(Lockstep.Pair.runs([1, 2, 3, 7, 9, 10]) == [1..<4, 7..<8, 9..<11])
        #expect(Lockstep.Pair.runs([]).isEmpty)
    }
}
