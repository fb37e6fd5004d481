import Testing
import VMRRDebugger
import VMRRJournal
import VMRRReplay

/// gdb's threads over the stub on the smp guest's two-vCPU journal
/// (journal-only): one thread per vCPU, `Hg` selecting whose registers `g`
/// and `p` read, stop replies naming the running vCPU.
struct GDBThreadTests {
    @Test func oneThreadPerVCPU() throws {
        let s = try GDBStubTests.stub("smp2")
        #expect(GDBStubTests.one(s, "qfThreadInfo") == "m01,02")
        #expect(GDBStubTests.one(s, "qsThreadInfo") == "l")
        #expect(GDBStubTests.one(s, "qC") == "QC01")
        #expect(GDBStubTests.one(s, "T01") == "OK" && GDBStubTests.one(s, "T02") == "OK")
        #expect(GDBStubTests.one(s, "T03") == "E01" && GDBStubTests.one(s, "Tzz") == "E01")
        let extra = GDBPacket.unhex(GDBStubTests.one(s, "qThreadExtraInfo,02")).map { String(decoding: $0, as: UTF8.self) }
        #expect(extra == "vCPU 1")
        #expect(GDBStubTests.one(s, "Hg03") == "E01")
        #expect(GDBStubTests.one(s, "Hc-1") == "OK")
    }

    @Test func stopRepliesNameTheRunningVCPUAndHgSelects() throws {
        let s = try GDBStubTests.stub("smp2")
        #expect(GDBStubTests.one(s, "!") == "OK")
        // Event 130 switches to vCPU 1 (thread 2), which starts at rip 0 of its SIPI vector's segment.
        #expect(GDBStubTests.one(s, "vRun;;" + GDBPacket.hex(Array("130".utf8))) == "T05thread:02;")
        #expect(GDBStubTests.one(s, "qC") == "QC02")
        let running = GDBPacket.unhex(GDBStubTests.one(s, "qThreadExtraInfo,02")).map { String(decoding: $0, as: UTF8.self) }
        #expect(running == "vCPU 1, running")
        // p 10 is rip (gdb's amd64 numbering).
        #expect(GDBStubTests.le64(Substring(GDBStubTests.one(s, "p10"))) == 0)
        #expect(GDBStubTests.one(s, "Hg01") == "OK")
        let bspRIP = try s.session.target.registers(vcpu: 0).rip
        #expect(GDBStubTests.le64(Substring(GDBStubTests.one(s, "p10"))) == bspRIP && bspRIP != 0)
        #expect(GDBStubTests.one(s, "qC") == "QC01")
        // A motion's stop selects the running vCPU again.
        #expect(GDBStubTests.one(s, "vRun;;" + GDBPacket.hex(Array("129".utf8))) == "T05thread:01;")
        #expect(GDBStubTests.one(s, "vRun;;" + GDBPacket.hex(Array("131".utf8))) == "T05thread:02;")
        #expect(GDBStubTests.one(s, "qC") == "QC02")
    }
}
