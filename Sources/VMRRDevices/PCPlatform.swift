import VMRRBase
import VMRRGuest
import VMRRJournal

/// The machine vmrr records (docs/GUEST.md): the vmrr protocol's devices
/// (COM1, debug-exit, the paravirtual clock and timer) and the PC devices
/// real kernels and test suites probe, on a port bus and an MMIO bus. ISA
/// interrupt sources (PIT, COM1, pc-testdev, the SCI, the HPET in legacy
/// mode) reach both the PIC pair and the I/O APIC (`PCInterruptRouter`);
/// the I/O APIC and the APIC timer deliver to the local APIC, and the PIC's
/// INTR reaches the CPU through LINT0.
///
/// Each access yields the journal event that describes it, the value a read
/// returns, and whether the run ends. An access no device decodes is
/// unknown: reads return all ones, writes are dropped, and with `--strict`
/// the run ends. Replays never consult the platform for input: they take
/// values from the journal.
public final class PCPlatform {
    public let clock: GuestClock
    public let input: ConsoleInput?
    public let output: ConsoleOutput
    public let strict: Bool

    let uart: UART16550
    let pic = PICPair()
    let pit: PIT8254
    let systemControl: SystemControlPort
    let cmos: CMOSRTC
    let fwCfg: FwCfg
    let testDev: PCTestDev
    let testDevMemory = PCTestDevMemory()
    /// The BSP's local APIC; `aps` holds the others (docs/SMP.md).
    let apic: LocalAPIC
    let aps: [LocalAPIC]
    /// The vCPU whose accesses are being answered (`selectCPU`).
    var currentCPU = 0
    /// INIT and SIPI IPIs to APs, for the scheduler (`takeStartRequests`).
    var startRequests: [CPUStartRequest] = []
    let apicWindow = LocalAPICWindow()
    let paravirtualClock = ParavirtualClock()
    let ioapic = IOAPIC()
    let router: PCInterruptRouter
    let hpet: HPET
    let acpiPM: ACPIPM
    let pciHost = PCIHost()
    let resetPorts: ResetPorts
    let portA: SystemControlPortA
    let warmReset: WarmReset

    /// Port I/O, most used first.
    public private(set) var ports = DeviceBus()
    /// Guest-physical addresses with no memory slot.
    public private(set) var memory = DeviceBus()
    /// MSR ranges and the devices that answer them.
    var msrs: [(range: ClosedRange<UInt32>, device: MSRDevice)] = []
    /// Which source `pendingInterrupt()` last answered for, so that the
    /// acknowledgement reaches it.
    var pendingSource: InterruptSource?

    public init(clock: GuestClock, input: ConsoleInput?, output: ConsoleOutput, strict: Bool,
                pc config: PCDeviceConfig = PCDeviceConfig()) {
        self.clock = clock; self.input = input; self.output = output; self.strict = strict
        router = PCInterruptRouter(pic: pic, ioapic: ioapic)
        uart = UART16550(input: input, output: output, irq: InterruptLine(router, irq: Layout.com1IRQ))
        pit = PIT8254(irq: InterruptLine(router, irq: Layout.pitIRQ))
        pic.clockedInput = pit
        systemControl = SystemControlPort(pit: pit)
        cmos = CMOSRTC(memorySize: config.memorySize, epoch: config.rtcEpoch)
        fwCfg = FwCfg(config: config)
        testDev = PCTestDev(interrupts: router)
        apic = LocalAPIC(x2apicAvailable: config.x2apicAvailable)
        aps = (1..<max(1, Int(config.vcpuCount))).map { LocalAPIC(x2apicAvailable: config.x2apicAvailable, id: UInt32($0)) }
        hpet = HPET(interrupts: router)
        acpiPM = ACPIPM(sci: InterruptLine(router, irq: Layout.sciIRQ))
        warmReset = WarmReset(cmos: cmos)
        portA = SystemControlPortA(reset: warmReset)
        resetPorts = ResetPorts(reset: warmReset)
        warmReset.pic = pic; warmReset.apic = apic; warmReset.portA = portA
        ioapic.bus = apic
        apic.eoiBroadcast = { [unowned ioapic] in ioapic.endOfInterrupt(vector: $0) }
        apic.onINIT = { [unowned warmReset] in warmReset.outcome(cause: "INIT IPI to the local APIC") }
        mapPorts()
        memory.insert(paravirtualClock, at: Layout.paravirtPageGPA, count: Layout.pageSize)
        memory.insert(apicWindow, at: Layout.apicGPA, count: Layout.pageSize)
        memory.insert(ioapic, at: Layout.ioapicGPA, count: Layout.ioapicSize)
        memory.insert(hpet, at: Layout.hpetGPA, count: Layout.hpetSize)
        memory.insert(testDevMemory, at: Layout.testDevMemoryGPA, count: Layout.testDevMemorySize)
        for range in LocalAPIC.msrRanges { msrs.append((range, apicWindow)) }
        connectAPICs()
    }

    func mapPorts() {
        let com1 = Layout.com1Base
        ports.insert(uart, ports: com1...(com1 + Layout.com1PortCount - 1))
        ports.insert(DebugExitPort(), ports: Layout.debugExitPort...Layout.debugExitPort)
        ports.insert(pic, ports: Layout.picMasterCommandPort...Layout.picMasterDataPort)
        ports.insert(pit, ports: Layout.pitCounterPorts.lowerBound...Layout.pitControlPort)
        ports.insert(systemControl, ports: Layout.systemControlPort...Layout.systemControlPort)
        ports.insert(pic, ports: Layout.picSlaveCommandPort...Layout.picSlaveDataPort)
        ports.insert(pic, ports: Layout.elcrMasterPort...Layout.elcrSlavePort)
        ports.insert(cmos, ports: Layout.cmosIndexPort...Layout.cmosDataPort)
        ports.insert(fwCfg, ports: Layout.fwCfgSelectorPort...Layout.fwCfgDataPort)
        ports.insert(testDev, ports: Layout.testDevScratchPorts)
        ports.insert(testDev, ports: Layout.testDevFlushPort...Layout.testDevFlushPort)
        ports.insert(testDev, ports: Layout.testDevIRQPorts)
        ports.insert(ISADebugExit(), ports: Layout.isaDebugExitPorts)
        ports.insert(resetPorts, ports: Layout.keyboardControllerPort...Layout.keyboardControllerPort)
        // Before PCI: byte accesses at 0xCF9 are the reset control register.
        ports.insert(resetPorts, ports: Layout.resetControlPort...Layout.resetControlPort)
        ports.insert(pciHost, ports: Layout.pciConfigAddressPort...Layout.pciConfigDataPorts.upperBound)
        ports.insert(acpiPM, ports: Layout.pm1aEventPort...(Layout.pm1aControlPort + UInt16(Layout.pm1ControlLength) - 1))
        ports.insert(acpiPM, ports: Layout.pmTimerPort...(Layout.pmTimerPort + UInt16(Layout.pmTimerLength) - 1))
        ports.insert(portA, ports: Layout.systemControlPortA...Layout.systemControlPortA)
    }

    /// The paravirtual timer's deadline in clock ns, or nil when disarmed.
    public var timerDeadline: UInt64? { paravirtualClock.deadline }
    /// Whether the EOT byte that marks the end of input has been delivered.
    public var deliveredEOT: Bool { uart.deliveredEOT }

    // MARK: accesses

    /// Which bus an access came from: it decides the event kinds.
    enum Space { case port, memory }

    /// The journal event for an access a device answered.
    static func event(_ space: Space, address: UInt64, size: UInt8, direction: IODirection, value: UInt64,
                      record: AccessRecord) -> Event {
        switch record {
        case .consoleInput(let byte): return .input(port: UInt16(truncatingIfNeeded: address), byte: byte)
        case .clock(let ns): return .clock(ns: ns)
        case .timer(let deadline): return .timer(deadline: deadline)
        case .access:
            switch space {
            case .port: return .io(port: UInt16(truncatingIfNeeded: address), size: size, direction: direction, value: value)
            case .memory: return .mmio(gpa: address, size: size, direction: direction, value: value)
            }
        }
    }

    /// The journal event for an access no device decoded: an `io` event for
    /// a port, a `stage2_fault` for memory.
    static func unknownEvent(_ space: Space, address: UInt64, size: UInt8, direction: IODirection, value: UInt64) -> Event {
        switch space {
        case .port: return .io(port: UInt16(truncatingIfNeeded: address), size: size, direction: direction, value: value)
        case .memory: return .stage2Fault(gpa: address, size: size, direction: direction, value: value)
        }
    }

    /// A read on one bus: the event, the value cut to the size, the outcome.
    func read(_ space: Space, address: UInt64, size: UInt8,
              unknown description: @autoclosure () -> String) -> (event: Event, value: UInt64, outcome: DeviceOutcome) {
        let bus = space == .port ? ports : memory
        if let a = bus.read(address, size: size, now: clock.now()) {
            let v = DeviceAccess.mask(a.value, size: size)
            return (Self.event(space, address: address, size: size, direction: .read, value: v, record: a.record), v, a.outcome)
        }
        let v = DeviceAccess.mask(DeviceAccess.allOnes, size: size)
        return (Self.unknownEvent(space, address: address, size: size, direction: .read, value: v), v, unknown(description()))
    }

    /// A write on one bus: the event and the outcome.
    func write(_ space: Space, address: UInt64, size: UInt8, value: UInt64,
               unknown description: @autoclosure () -> String) -> (event: Event, outcome: DeviceOutcome) {
        let bus = space == .port ? ports : memory
        if let a = bus.write(address, size: size, value: value, now: clock.now()) {
            return (Self.event(space, address: address, size: size, direction: .write, value: value, record: a.record), a.outcome)
        }
        return (Self.unknownEvent(space, address: address, size: size, direction: .write, value: value), unknown(description()))
    }

    /// A port read: the event to journal and the value the guest receives.
    public func portRead(port: UInt16, size: UInt8) -> (event: Event, value: UInt64, outcome: DeviceOutcome) {
        read(.port, address: UInt64(port), size: size, unknown: "read of unknown port \(hex(port)) (size \(size))")
    }

    /// A port write.
    public func portWrite(port: UInt16, size: UInt8, value: UInt64) -> (event: Event, outcome: DeviceOutcome) {
        write(.port, address: UInt64(port), size: size, value: value,
              unknown: "write of \(hex(value)) to unknown port \(hex(port)) (size \(size))")
    }

    /// An MMIO read of a guest-physical address with no memory slot.
    public func mmioRead(gpa: UInt64, size: UInt8) -> (event: Event, value: UInt64, outcome: DeviceOutcome) {
        read(.memory, address: gpa, size: size, unknown: "read of unbacked guest-physical \(hex(gpa)) (size \(size))")
    }

    /// An MMIO write.
    public func mmioWrite(gpa: UInt64, size: UInt8, value: UInt64) -> (event: Event, outcome: DeviceOutcome) {
        write(.memory, address: gpa, size: size, value: value,
              unknown: "write of \(hex(value)) to unbacked guest-physical \(hex(gpa)) (size \(size))")
    }

    /// What an unknown access asks of the run: nothing, or with `--strict`, the end.
    func unknown(_ description: @autoclosure () -> String) -> DeviceOutcome {
        strict ? .end(.strict, status: ExitStatus.strict, message: description()) : .proceed
    }

    // MARK: MSRs

    /// The MSRs whose accesses the KVM filter sends to userspace, so that
    /// vmrr's model answers them and the journal holds every answer.
    public static let filteredMSRs: [ClosedRange<UInt32>] = LocalAPIC.msrRanges

    /// The answer to an MSR access (docs/GUEST.md, "MSRs"): IA32_APIC_BASE
    /// and the x2APIC registers from the local APIC model (#GP where the SDM
    /// says so); every other MSR that reaches userspace raises #GP(0), as on
    /// a CPU without it.
    public func answerMSR(index: UInt32, direction: IODirection, value: UInt64) -> MSRResult {
        guard let device = msrs.first(where: { $0.range.contains(index) })?.device else { return .generalProtection }
        let now = clock.now()
        switch direction {
        case .read: return device.readMSR(index, now: now).map { MSRResult(value: $0, fault: false) } ?? .generalProtection
        case .write:
            let ok = device.writeMSR(index, value: value, now: now)
            return MSRResult(value: 0, fault: !ok, outcome: currentAPIC.takeOutcome())
        }
    }

    // MARK: interrupts

    /// Where an interrupt comes from.
    enum InterruptSource { case paravirtualTimer, localAPIC, pic }

    /// True when the paravirtual timer has fired and its interrupt waits for injection.
    public var timerExpired: Bool { paravirtualClock.expired(at: clock.now()) }

    /// Brings every clocked source up to `now`: PIT edges, HPET matches,
    /// the PM timer's status, the APIC timer, COM1's line.
    func advanceSources(to now: UInt64) {
        pit.advance(to: now)
        hpet.advance(to: now)
        acpiPM.advance(to: now)
        apic.advance(to: now)
        for ap in aps { ap.advance(to: now) }
        uart.syncInterruptLine()
    }

    /// The vector to deliver now, if any, evaluated at `clock.now()`: the
    /// paravirtual timer's first, then the local APIC's highest request above
    /// its priority (IPIs, the APIC timer, the I/O APIC), then the PIC pair's
    /// output (PIT channel 0, COM1, pc-testdev lines) when LINT0 passes it.
    /// Call `acknowledgeInterrupt` once it is injected.
    public func pendingInterrupt() -> UInt8? {
        advanceSources(to: clock.now())
        if currentCPU != 0 {
            // An AP takes only what its own APIC delivers (IPIs, its timer).
            pendingSource = currentAPIC.deliverable.map { _ in .localAPIC }
            return currentAPIC.deliverable
        }
        if timerExpired { pendingSource = .paravirtualTimer; return Layout.timerVector }
        if let v = apic.deliverable { pendingSource = .localAPIC; return v }
        if apic.acceptsPICInterrupts, let v = pic.pendingVector { pendingSource = .pic; return v }
        pendingSource = nil
        return nil
    }

    /// Whether an NMI waits (an NMI IPI, or an I/O APIC entry in NMI mode);
    /// the recorder injects it at the next exit (`Recorder.nmiBeforeRun`).
    public var pendingNMI: Bool { currentAPIC.nmiPending }

    /// The pending NMI was injected.
    public func acknowledgeNMI() { currentAPIC.acknowledgeNMI() }

    /// The vector `pendingInterrupt()` returned was injected.
    public func acknowledgeInterrupt(_ vector: UInt8) {
        switch pendingSource {
        case .paravirtualTimer?: paravirtualClock.acknowledge()
        case .localAPIC?: currentAPIC.acknowledge(vector)
        case .pic?: pic.acknowledge()
        case nil: break
        }
        pendingSource = nil
    }

    /// The earliest guest-clock time at which an interrupt can become
    /// pending (the paravirtual timer's deadline, PIT channel 0's next
    /// rising edge while IRQ 0 is unmasked), or nil when nothing will ever
    /// interrupt a halted guest.
    public func nextInterruptTime() -> UInt64? {
        let now = clock.now()
        let throughPIC = !pic.isMasked(Layout.pitIRQ) && apic.acceptsPICInterrupts
        let throughIOAPIC = !ioapic.isMasked(Int(Layout.pitGSI))
        let pitEdge = throughPIC || throughIOAPIC ? pit.nextRisingEdge(after: now) : nil
        return ([timerDeadline, pitEdge, apic.nextTimerInterrupt, hpet.nextInterruptTime(), acpiPM.nextInterruptTime()]
                + aps.map(\.nextTimerInterrupt)).compactMap { $0 }.min()
    }
}
