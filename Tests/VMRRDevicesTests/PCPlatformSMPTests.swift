import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The platform of `--cpus N` (docs/SMP.md): one local APIC per vCPU, the
/// running one answering the APIC page and MSRs, IPIs between APICs, INIT
/// and SIPI as start requests.
@Suite struct PCPlatformSMPTests {
    static func platform(cpus: UInt16) -> PCPlatform {
        var config = PCDeviceConfig(memorySize: 64 << 20, commandLine: "", rtcEpoch: Layout.virtualClockEpoch)
        config.vcpuCount = cpus
        return PCPlatform(clock: VirtualClock(), input: nil, output: CapturedOutput(), strict: true, pc: config)
    }

    static func apic(_ p: PCPlatform, read offset: UInt64) -> UInt64 { p.mmioRead(gpa: Layout.apicGPA + offset, size: 4).1 }
    static func apic(_ p: PCPlatform, write offset: UInt64, _ v: UInt64) {
        #expect(p.mmioWrite(gpa: Layout.apicGPA + offset, size: 4, value: v).1 == .proceed)
    }

    @Test func eachVCPUSeesItsOwnAPIC() {
        let p = Self.platform(cpus: 3)
        #expect(p.cpuCount == 3)
        for k in 0..<3 {
            p.selectCPU(k)
            #expect(Self.apic(p, read: 0x20) == UInt64(k) << 24, "xAPIC ID of vCPU \(k)")
            let base = p.answerMSR(index: Layout.MSR.apicBase, direction: .read, value: 0).value
            #expect(base & Layout.apicBaseBSP == (k == 0 ? Layout.apicBaseBSP : 0), "only the BSP has IA32_APIC_BASE.BSP")
        }
        #expect(Self.platform(cpus: 1).cpuCount == 1)
    }

    @Test func aFixedIPIReachesOnlyItsTargetAndWakesIt() {
        let p = Self.platform(cpus: 3)
        for k in 0..<3 { p.selectCPU(k); Self.apic(p, write: 0xF0, 0x1FF) }
        p.selectCPU(0)
        Self.apic(p, write: 0x310, 2 << 24)
        Self.apic(p, write: 0x300, 0x4051)          // fixed, vector 0x51, to APIC ID 2
        #expect(p.interruptWaits(cpu: 2) && !p.interruptWaits(cpu: 1) && !p.interruptWaits(cpu: 0))
        #expect(p.pendingInterrupt() == nil, "the sender gets nothing")
        p.selectCPU(2)
        #expect(p.pendingInterrupt() == 0x51)
        p.acknowledgeInterrupt(0x51)
        #expect(!p.interruptWaits(cpu: 2))
        // All excluding self, from vCPU 2: vCPUs 0 and 1.
        Self.apic(p, write: 0x300, 0xC4062)
        #expect(p.interruptWaits(cpu: 0) && p.interruptWaits(cpu: 1) && !p.interruptWaits(cpu: 2))
    }

    @Test func initAndSIPIBecomeStartRequestsForAPsOnly() {
        let p = Self.platform(cpus: 2)
        Self.apic(p, write: 0x310, 1 << 24)
        Self.apic(p, write: 0x300, 0x4500)          // INIT, assert
        Self.apic(p, write: 0x300, 0x4608)          // SIPI, vector 8
        #expect(p.takeStartRequests() == [.initialize(cpu: 1), .startup(cpu: 1, vector: 8)])
        #expect(p.takeStartRequests() == [])
        // An AP's SIPI to the BSP is nothing.
        p.selectCPU(1)
        Self.apic(p, write: 0x310, 0)
        Self.apic(p, write: 0x300, 0x4608)
        #expect(p.takeStartRequests() == [])
    }

    @Test func oneVCPUStillDropsIPIsToOthers() {
        let p = Self.platform(cpus: 1)
        Self.apic(p, write: 0xF0, 0x1FF)
        Self.apic(p, write: 0x310, 1 << 24)
        Self.apic(p, write: 0x300, 0x4051)
        #expect(p.pendingInterrupt() == nil && p.takeStartRequests() == [])
        #expect(p.apic.droppedIPIs == 1)
    }

    @Test func theAPsAPICsAndTheRunningVCPUAreInTheCheckpointRecord() throws {
        let a = Self.platform(cpus: 3)
        for k in 0..<3 { a.selectCPU(k); Self.apic(a, write: 0xF0, 0x100 + UInt64(0x30 + k)) }   // each its own SVR
        a.selectCPU(0)
        Self.apic(a, write: 0x310, 2 << 24)
        Self.apic(a, write: 0x300, 0x4051)          // an IPI waits in vCPU 2's IRR
        a.selectCPU(1)
        let bytes = a.encodeState()
        let record = try #require(DeviceState(decoding: bytes).record(.apLocalAPICs))
        #expect(record.version == 1 && record.bytes.first == 1, "vCPU 1 runs")
        let b = Self.platform(cpus: 3)
        try b.restore(DeviceState(decoding: bytes))
        #expect(b.encodeState() == bytes)
        #expect(Self.apic(b, read: 0xF0) == 0x131, "vCPU 1's APIC answers")
        #expect(b.interruptWaits(cpu: 2) && !b.interruptWaits(cpu: 0))
        // One vCPU: no such record, so one-vCPU checkpoints are unchanged.
        #expect(DeviceState(decoding: Self.platform(cpus: 1).encodeState()).record(.apLocalAPICs) == nil)
        // A machine of another size refuses it in one line.
        #expect(throws: JournalError.self) { try Self.platform(cpus: 2).restore(DeviceState(decoding: bytes)) }
    }
}
