import VMRRJournal

/// The multi-vCPU side of the platform (docs/SMP.md): one local APIC per
/// vCPU, the APIC page and x2APIC MSRs answered by the running vCPU's APIC,
/// IPIs carried between APICs, and the INIT and SIPI requests the
/// scheduler turns into AP start-ups. With one vCPU none of this changes
/// what the platform does.

/// An IPI one local APIC sends to others (its ICR), before the destination is resolved.
public struct InterProcessorInterrupt: Equatable, Sendable {
    /// The sending APIC's ID.
    public var source: UInt32
    /// The ICR's delivery mode (`LocalAPIC.ICR`).
    public var mode: UInt32
    public var vector: UInt8
    public var destination: UInt32
    public var physical: Bool
    /// A shorthand or the broadcast: every APIC but the source.
    public var allButSource: Bool
}

/// What an INIT or SIPI IPI asks of a vCPU, taken by the scheduler at a switch point.
public enum CPUStartRequest: Equatable, Sendable {
    /// INIT: the AP waits for a SIPI.
    case initialize(cpu: Int)
    /// SIPI: the AP starts in real mode at CS = vector << 8, IP = 0.
    case startup(cpu: Int, vector: UInt8)
}

/// The APIC page and the APIC MSRs: each access goes to the running vCPU's local APIC.
final class LocalAPICWindow: DeviceModel, MSRDevice {
    weak var platform: PCPlatform?

    var target: LocalAPIC? { platform?.currentAPIC }

    func read(_ access: DeviceAccess) -> DeviceAnswer? { target?.read(access) }
    func write(_ access: DeviceAccess) -> DeviceAnswer? { target?.write(access) }
    func readMSR(_ index: UInt32, now: UInt64) -> UInt64? { target?.readMSR(index, now: now) }
    func writeMSR(_ index: UInt32, value: UInt64, now: UInt64) -> Bool { target?.writeMSR(index, value: value, now: now) ?? false }
}

extension PCPlatform {
    /// The number of vCPUs (local APICs).
    public var cpuCount: Int { 1 + aps.count }

    /// vCPU `k`'s local APIC (0 is the BSP's).
    func localAPIC(_ k: Int) -> LocalAPIC { k == 0 ? apic : aps[k - 1] }

    /// The running vCPU's local APIC.
    var currentAPIC: LocalAPIC { localAPIC(currentCPU) }

    /// Makes vCPU `k` the one whose accesses the platform answers.
    public func selectCPU(_ k: Int) {
        precondition(k >= 0 && k < cpuCount, "vCPU \(k) of \(cpuCount)")
        currentCPU = k
    }

    /// Wires the APICs together: the window answers for the running one, and IPIs reach their targets.
    func connectAPICs() {
        apicWindow.platform = self
        guard !aps.isEmpty else { return }
        for k in 0..<cpuCount {
            localAPIC(k).interProcessor = { [unowned self] in self.deliver($0) }
        }
    }

    /// Delivers an IPI to every other APIC it names: fixed and NMI into the
    /// target's APIC, INIT and SIPI to an AP as a start request.
    func deliver(_ ipi: InterProcessorInterrupt) {
        for k in 0..<cpuCount {
            let target = localAPIC(k)
            guard target.id != ipi.source else { continue }
            if !ipi.allButSource {
                let named = ipi.physical ? ipi.destination == target.id
                                         : target.isDestination(UInt8(truncatingIfNeeded: ipi.destination), logical: true)
                guard named else { continue }
            }
            switch ipi.mode {
            case LocalAPIC.ICR.fixedDelivery, LocalAPIC.ICR.nmiDelivery:
                let mode = ipi.mode == LocalAPIC.ICR.fixedDelivery ? InterruptMessage.DeliveryMode.fixed : InterruptMessage.DeliveryMode.nmi
                target.receive(InterruptMessage(vector: ipi.vector, deliveryMode: mode, destination: UInt8(truncatingIfNeeded: target.id)))
            case LocalAPIC.ICR.initDelivery where k != 0:
                startRequests.append(.initialize(cpu: k))
            case LocalAPIC.ICR.startupDelivery where k != 0:
                startRequests.append(.startup(cpu: k, vector: ipi.vector))
            default:
                break
            }
        }
    }

    /// The INIT and SIPI requests since the last call, in the order they were sent.
    public func takeStartRequests() -> [CPUStartRequest] {
        defer { startRequests.removeAll() }
        return startRequests
    }

    /// Whether an INIT or SIPI waits for `takeStartRequests` (asked at every exit, so without copying).
    public var hasStartRequests: Bool { !startRequests.isEmpty }

    /// Whether an interrupt waits for vCPU `k` (it would wake from HLT):
    /// its APIC's, and for the BSP also the paravirtual timer and the PIC.
    public func interruptWaits(cpu k: Int) -> Bool {
        advanceSources(to: clock.now())
        if localAPIC(k).deliverable != nil || localAPIC(k).nmiPending { return true }
        guard k == 0 else { return false }
        return timerExpired || (apic.acceptsPICInterrupts && pic.pendingVector != nil)
    }
}

/// The checkpoint record of a platform of more than one vCPU (tag 17): the
/// vCPU whose accesses the platform answers, then each AP's local APIC in
/// the BSP's record layout (tag 5), in vCPU order.
final class APICsOfAPs: CheckpointedDevice {
    unowned let platform: PCPlatform
    init(platform: PCPlatform) { self.platform = platform }

    func saveState(_ s: inout DeviceStateWriter) {
        s.u8(UInt8(platform.currentCPU))
        s.u8(UInt8(platform.aps.count))
        for ap in platform.aps { ap.saveState(&s) }
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        let current = Int(try r.u8())
        let n = Int(try r.u8())
        guard n == platform.aps.count, current < platform.cpuCount else {
            throw JournalError(path: "device state of the APs' local APICs", offset: nil,
                               reason: "\(n) APs with vCPU \(current) running; this machine has \(platform.aps.count) APs")
        }
        for ap in platform.aps { try ap.restoreState(&r) }
        platform.currentCPU = current
    }
}
