import VMRRGuest
import VMRRJournal

/// The local APIC of vmrr's one vCPU (APIC ID 0), for kernels that read
/// their APIC ID, send INIT/SIPI at boot, switch to x2APIC mode, and send
/// themselves IPIs:
/// - xAPIC page at 0xFEE00000 while IA32_APIC_BASE says xAPIC mode; the
///   x2APIC MSRs 0x800-0x8FF while it says x2APIC mode (SDM vol. 3, 11.12),
///   with #GP for reserved registers, reads of write-only ones (EOI, SELF
///   IPI), writes of read-only ones, and any access outside x2APIC mode;
/// - IA32_APIC_BASE with the SDM's legal mode transitions (#GP otherwise);
/// - fixed-delivery IPIs to itself (ICR shorthand "self", destination
///   APIC ID 0 or the physical broadcast, or SELF IPI) set the vector in IRR; the highest IRR above
///   the processor priority is delivered at the next exit where the vCPU can
///   take it (`PCPlatform.pendingInterrupt`), moving to ISR; EOI clears the
///   highest ISR bit, and when that vector's TMR bit is set (a level-triggered
///   interrupt from the I/O APIC) broadcasts the EOI to the I/O APIC
///   (`eoiBroadcast`). NMI IPIs and NMI messages make an NMI pending
///   (`nmiPending`). An INIT IPI to itself is a warm reset (`onINIT`, which
///   decides how the run goes on). SIPI and IPIs to other APIC IDs are
///   dropped (there are no other CPUs).
/// - the APIC timer (`APICTimer`): one-shot and periodic on the guest clock,
///   delivering the LVT timer's vector unless masked;
/// - interrupt messages from the I/O APIC (`APICBus`), matched against the
///   APIC ID (physical) or the logical destination (flat and cluster models);
/// - LINT0 and LINT1 start as firmware leaves them (ExtINT and NMI,
///   unmasked): the PIC's output reaches the CPU while the APIC is globally
///   disabled or LINT0 is unmasked (`acceptsPICInterrupts`), as on QEMU.
/// Map it at its page on the MMIO bus, and at `LocalAPIC.msrRanges`.
public final class LocalAPIC: DeviceModel, MSRDevice {
    enum Register {
        static let id = 0x20, version = 0x30, tpr = 0x80, apr = 0x90, ppr = 0xA0, eoi = 0xB0
        static let rrd = 0xC0, ldr = 0xD0, dfr = 0xE0, spiv = 0xF0
        static let isr = 0x100, tmr = 0x180, irr = 0x200
        static let esr = 0x280, icrLow = 0x300, icrHigh = 0x310
        static let lvtCMCI = 0x2F0, lvtTimer = 0x320, lvtThermal = 0x330, lvtPerf = 0x340
        static let lvtLINT0 = 0x350, lvtLINT1 = 0x360, lvtError = 0x370
        static let initialCount = 0x380, currentCount = 0x390, divide = 0x3E0
        /// x2APIC only: SELF IPI (MSR 0x83F).
        static let selfIPI = 0x3F0
        static let lvts = [lvtCMCI, lvtTimer, lvtThermal, lvtPerf, lvtLINT0, lvtLINT1, lvtError]
        /// Registers that store what is written (both modes).
        static let stored: Set<Int> = Set([tpr, spiv, icrLow, icrHigh, initialCount, divide] + lvts)
        /// Eight 32-bit words each: ISR, TMR, IRR.
        static let vectorArrays = [isr, tmr, irr]
    }
    /// Registers are 32 bits, one per 16-byte slot of the page.
    static let registerBytes = 4, slotMask = 0xF
    /// ICR bit 12: delivery status (send pending). Always reads 0.
    static let icrDeliveryStatus: UInt32 = 1 << 12
    /// An LVT entry's mask bit, set at reset.
    static let lvtMasked: UInt32 = 1 << 16
    /// SPIV bit 8: APIC software enable.
    static let spivEnable: UInt32 = 1 << 8
    /// ICR fields.
    enum ICR {
        static let vectorMask: UInt32 = 0xFF
        static let deliveryModeShift: UInt32 = 8, deliveryModeMask: UInt32 = 0x7
        static let shorthandShift: UInt32 = 18, shorthandMask: UInt32 = 0x3
        static let fixedDelivery: UInt32 = 0, nmiDelivery: UInt32 = 4, initDelivery: UInt32 = 5, startupDelivery: UInt32 = 6
        static let noShorthand: UInt32 = 0, selfShorthand: UInt32 = 1, allIncludingSelf: UInt32 = 2, allExcludingSelf: UInt32 = 3
        /// xAPIC destination: ICR high bits 31:24.
        static let xapicDestinationShift: UInt32 = 24
        /// Bit 11: logical (1) or physical (0) destination mode.
        static let logicalDestination: UInt32 = 1 << 11
        /// The physical broadcast destination: every APIC, this one included (SDM 11.6.2.1).
        static let xapicBroadcast: UInt32 = 0xFF, x2apicBroadcast: UInt32 = 0xFFFF_FFFF
    }
    /// IA32_APIC_BASE bits (SDM vol. 3, 11.4.4 and 11.12.1).
    enum Base {
        static let bsp: UInt64 = 1 << 8
        static let extd: UInt64 = 1 << 10
        static let enable: UInt64 = 1 << 11
        /// Bits 12 up to the guest's physical-address width hold the base.
        static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
        static let reservedMask: UInt64 = ~(bsp | extd | enable | addressMask)
    }

    private(set) var registers: [Int: UInt32] = [:]
    /// IRR, ISR and TMR as 256-bit sets.
    private(set) var irr = VectorSet(), isr = VectorSet(), tmr = VectorSet()
    private(set) var timer = APICTimer()
    /// An NMI waits for delivery (`PCPlatform.pendingNMI`).
    private(set) var nmiPending = false
    /// Called with the vector when EOI retires a level-triggered interrupt (the I/O APIC's EOI).
    var eoiBroadcast: ((UInt8) -> Void)?
    /// Called for an INIT IPI to this APIC: the outcome of the warm reset.
    var onINIT: (() -> DeviceOutcome)?
    /// What the last access asks of the run (an INIT's outcome), taken by `takeOutcome`.
    private var requestedOutcome: DeviceOutcome?
    private(set) var apicBase: UInt64 = Layout.apicBaseAtEntry
    /// Interrupts sent to absent CPUs or in delivery modes vmrr does not model (for reports).
    private(set) var droppedIPIs = 0

    /// Whether CPUID offers x2APIC mode.
    let x2apicAvailable: Bool
    /// The APIC ID: the vCPU's index (0 is the BSP).
    public let id: UInt32
    /// Carries IPIs that name other APICs to them (`PCPlatform`'s APIC
    /// bus, docs/SMP.md); nil with one vCPU, where they are dropped.
    var interProcessor: ((InterProcessorInterrupt) -> Void)?

    public init(x2apicAvailable: Bool = true, id: UInt32 = 0) {
        self.x2apicAvailable = x2apicAvailable
        self.id = id
        if id != 0 { apicBase &= ~Base.bsp }
        registers[Register.dfr] = 0xFFFF_FFFF
        registers[Register.spiv] = 0xFF
        for lvt in Register.lvts { registers[lvt] = Self.lvtMasked }
        registers[Register.lvtLINT0] = Layout.apicLINT0AtEntry
        registers[Register.lvtLINT1] = Layout.apicLINT1AtEntry
    }

    /// The outcome an access asked for (`.proceed` when none), cleared.
    func takeOutcome() -> DeviceOutcome {
        defer { requestedOutcome = nil }
        return requestedOutcome ?? .proceed
    }

    /// Whether the PIC's INTR reaches the CPU: through LINT0 unless the APIC
    /// is globally enabled with LINT0 masked (QEMU's `apic_accept_pic_intr`).
    var acceptsPICInterrupts: Bool {
        !globallyEnabled || (registers[Register.lvtLINT0] ?? 0) & Self.lvtMasked == 0
    }

    var x2apicMode: Bool { apicBase & (Base.enable | Base.extd) == Base.enable | Base.extd }
    var globallyEnabled: Bool { apicBase & Base.enable != 0 }
    var softwareEnabled: Bool { (registers[Register.spiv] ?? 0) & Self.spivEnable != 0 }

    /// The processor priority: the higher of TPR's and the highest in-service vector's class.
    var processorPriority: UInt32 {
        let tpr = (registers[Register.tpr] ?? 0) & 0xFF
        let isrClass = UInt32(isr.highest ?? 0) & 0xF0
        return (tpr & 0xF0) >= isrClass ? tpr : isrClass
    }

    /// Guest-clock time of the access being handled (the timer's registers depend on it).
    private(set) var now: UInt64 = 0

    func value(of register: Int) -> UInt32 {
        switch register {
        case Register.id: return x2apicMode ? id : id << ICR.xapicDestinationShift
        case Register.version: return Layout.apicVersion
        case Register.ppr: return processorPriority
        case Register.ldr where x2apicMode: return (id >> 4) << 16 | 1 << (id & 0xF)   // cluster, bit (ID & 0xF)
        case Register.isr..<(Register.isr + 0x80): return isr.word((register - Register.isr) >> 4)
        case Register.irr..<(Register.irr + 0x80): return irr.word((register - Register.irr) >> 4)
        case Register.tmr..<(Register.tmr + 0x80): return tmr.word((register - Register.tmr) >> 4)
        case Register.currentCount: return timer.currentCount(at: now)
        case Register.initialCount: return timer.initialCount
        case Register.divide: return timer.divideConfig
        default: return registers[register] ?? 0
        }
    }

    // MARK: xAPIC MMIO

    /// Reads of the 32-bit register in a 16-byte slot; other bytes read 0.
    /// The page reads as all ones while the APIC is in x2APIC mode or disabled.
    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        advance(to: access.now)
        guard globallyEnabled, !x2apicMode else { return .value(DeviceAccess.allOnes) }
        let offset = Int(access.offset)
        let within = offset & Self.slotMask
        guard within < Self.registerBytes else { return .value(0) }
        return .value(UInt64(value(of: offset & ~Self.slotMask)) >> (UInt64(within) * 8))
    }

    /// Only aligned 32-bit (or wider) writes change a register.
    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        advance(to: access.now)
        let offset = Int(access.offset)
        guard globallyEnabled, !x2apicMode, offset & Self.slotMask == 0, access.size >= Self.registerBytes else { return .handled }
        store(offset, UInt32(truncatingIfNeeded: access.value), x2apic: false)
        return DeviceAnswer(outcome: takeOutcome())
    }

    func store(_ register: Int, _ v: UInt32, x2apic: Bool) {
        switch register {
        case Register.eoi: endOfInterrupt()
        case Register.icrLow:
            registers[register] = v & ~Self.icrDeliveryStatus
            let destination = x2apic ? (registers[Register.icrHigh] ?? 0) : (registers[Register.icrHigh] ?? 0) >> ICR.xapicDestinationShift
            sendIPI(low: v, destination: destination)
        case Register.selfIPI: accept(vector: UInt8(v & ICR.vectorMask))
        case Register.initialCount: timer.setInitialCount(v, now: now, mode: timerMode)
        case Register.divide: timer.setDivide(v, now: now)
        case Register.lvtTimer:
            registers[register] = v
            timer.setMode(timerMode)
        case Register.ldr, Register.dfr: registers[register] = v
        case _ where Register.stored.contains(register): registers[register] = v
        default: break
        }
    }

    // MARK: delivery

    func sendIPI(low: UInt32, destination: UInt32) {
        let mode = (low >> ICR.deliveryModeShift) & ICR.deliveryModeMask
        let shorthand = (low >> ICR.shorthandShift) & ICR.shorthandMask
        let physical = low & ICR.logicalDestination == 0
        let broadcast = physical && destination == (x2apicMode ? ICR.x2apicBroadcast : ICR.xapicBroadcast)
        let toSelf = shorthand == ICR.selfShorthand || shorthand == ICR.allIncludingSelf
            || (shorthand == ICR.noShorthand && icrNamesSelf(destination, logical: !physical))
        let toOthers = shorthand == ICR.allIncludingSelf || shorthand == ICR.allExcludingSelf
            || (shorthand == ICR.noShorthand && (destination != id || broadcast))
        if toOthers, let interProcessor {
            interProcessor(InterProcessorInterrupt(source: id, mode: mode, vector: UInt8(low & ICR.vectorMask),
                                                   destination: destination, physical: physical,
                                                   allButSource: shorthand != ICR.noShorthand || broadcast))
        }
        guard toSelf else {
            if interProcessor == nil { droppedIPIs += 1 }
            return
        }
        switch mode {
        case ICR.fixedDelivery: accept(vector: UInt8(low & ICR.vectorMask))
        case ICR.nmiDelivery: nmiPending = true
        case ICR.initDelivery: requestedOutcome = onINIT?() ?? .proceed
        default: droppedIPIs += 1
        }
    }

    /// Whether an ICR destination (no shorthand) names this APIC: physically
    /// its ID or the broadcast (which includes the sender, SDM 11.6.2.1);
    /// logically its logical ID: in x2APIC mode cluster ID >> 4, bit ID & 15
    /// (the LDR's derivation, SDM 10.12.10.2); in xAPIC mode by the DFR's
    /// model (`isDestination`). Linux's flat logical mode sends its NMI IPIs
    /// this way.
    func icrNamesSelf(_ destination: UInt32, logical: Bool) -> Bool {
        guard logical else { return destination == id || destination == (x2apicMode ? ICR.x2apicBroadcast : ICR.xapicBroadcast) }
        if x2apicMode {
            return destination == ICR.x2apicBroadcast
                || (destination >> 16 == id >> 4 && destination & (1 << (id & 15)) != 0)
        }
        return isDestination(UInt8(truncatingIfNeeded: destination), logical: true)
    }

    /// A fixed interrupt arrives: vectors 0-15 are illegal and dropped.
    /// A level-triggered one also sets its TMR bit.
    func accept(vector: UInt8, level: Bool = false) {
        guard vector >= 16 else { droppedIPIs += 1; return }
        irr.insert(vector)
        if level { tmr.insert(vector) } else { tmr.remove(vector) }
    }

    /// The LVT timer's mode field.
    var timerMode: UInt32 { ((registers[Register.lvtTimer] ?? 0) >> APICTimer.Mode.shift) & APICTimer.Mode.mask }

    /// Brings the timer up to `now`: an expiry sets the LVT timer's vector in IRR unless masked.
    func advance(to now: UInt64) {
        self.now = now
        guard timer.advance(to: now) else { return }
        let lvt = registers[Register.lvtTimer] ?? Self.lvtMasked
        if lvt & Self.lvtMasked == 0 { accept(vector: UInt8(lvt & ICR.vectorMask)) }
    }

    /// When the timer next sets its vector (nil while stopped or masked).
    var nextTimerInterrupt: UInt64? {
        (registers[Register.lvtTimer] ?? Self.lvtMasked) & Self.lvtMasked == 0 ? timer.nextExpiry : nil
    }

    /// Whether an 8-bit message destination names this APIC (ID 0): in
    /// physical mode ID 0 or the broadcast 0xFF; in logical mode a bit of
    /// the logical ID (flat model) or the cluster and a bit (cluster model).
    func isDestination(_ destination: UInt8, logical: Bool) -> Bool {
        guard logical else { return UInt32(destination) == id || UInt32(destination) == ICR.xapicBroadcast }
        if x2apicMode { return destination & 1 != 0 }
        let ldr = UInt8(truncatingIfNeeded: (registers[Register.ldr] ?? 0) >> 24)
        if (registers[Register.dfr] ?? 0) >> 28 == Self.dfrFlatModel { return destination & ldr != 0 }
        return destination >> 4 == ldr >> 4 && destination & ldr & 0xF != 0
    }
    /// DFR bits 31:28: 0xF flat model, 0x0 cluster model.
    static let dfrFlatModel: UInt32 = 0xF

    /// The vector to deliver now, if any (not yet acknowledged).
    var deliverable: UInt8? {
        guard globallyEnabled, softwareEnabled, let v = irr.highest else { return nil }
        return UInt32(v) & 0xF0 > processorPriority & 0xF0 ? v : nil
    }

    func acknowledge(_ vector: UInt8) {
        irr.remove(vector)
        isr.insert(vector)
    }

    func endOfInterrupt() {
        guard let v = isr.highest else { return }
        isr.remove(v)
        if tmr.contains(v) { tmr.remove(v); eoiBroadcast?(v) }
    }

    // MARK: x2APIC MSRs and IA32_APIC_BASE

    /// The register an x2APIC MSR names: MSR 0x800 + (xAPIC offset >> 4).
    static func register(msr: UInt32) -> Int { Int(msr - Layout.MSR.x2apicFirst) << 4 }

    /// LVT entries this APIC has: the version register's Max LVT Entry (bits 23:16) plus one.
    static let lvtCount = Int((Layout.apicVersion >> 16) & 0xFF) + 1
    /// The LVT registers that exist: LVT CMCI is the seventh, so it exists only
    /// when the version reports seven entries (SDM 11.5.1); otherwise its
    /// x2APIC MSR (0x82F) raises #GP like any other reserved register.
    static let presentLVTs = Register.lvts.filter { $0 != Register.lvtCMCI || lvtCount >= 7 }

    /// Registers that exist in x2APIC mode (SDM table 11-6), readable and/or writable.
    static let x2apicReadable: Set<Int> = {
        var s: Set<Int> = [Register.id, Register.version, Register.tpr, Register.ppr, Register.ldr, Register.spiv,
                           Register.esr, Register.icrLow, Register.initialCount, Register.currentCount, Register.divide]
        for base in Register.vectorArrays { for k in 0..<8 { s.insert(base + k * 0x10) } }
        s.formUnion(presentLVTs)
        return s
    }()
    static let x2apicWritable: Set<Int> = Set([Register.tpr, Register.eoi, Register.spiv, Register.esr, Register.icrLow,
                                               Register.initialCount, Register.divide, Register.selfIPI] + presentLVTs)

    /// An RDMSR of 0x800-0x8FF; nil means #GP.
    func x2apicRead(msr: UInt32) -> UInt64? {
        let r = Self.register(msr: msr)
        guard x2apicMode, Self.x2apicReadable.contains(r) else { return nil }
        if r == Register.icrLow { return UInt64(registers[Register.icrHigh] ?? 0) << 32 | UInt64(value(of: r)) }
        return UInt64(value(of: r))
    }

    /// A WRMSR of 0x800-0x8FF; false means #GP.
    func x2apicWrite(msr: UInt32, value: UInt64) -> Bool {
        let r = Self.register(msr: msr)
        guard x2apicMode, Self.x2apicWritable.contains(r) else { return false }
        // The 64-bit ICR is one MSR; every other register is 32 bits, the upper half reserved.
        if r == Register.icrLow {
            registers[Register.icrHigh] = UInt32(truncatingIfNeeded: value >> 32)
        } else if value >> 32 != 0 {
            return false
        }
        // EOI and SELF IPI take only their defined bits (SDM: a non-zero EOI write is #GP).
        if r == Register.eoi && value != 0 { return false }
        // SELF IPI: bits 31:8 are reserved (SDM 11.12.11); setting one is #GP.
        if r == Register.selfIPI && value & ~UInt64(ICR.vectorMask) != 0 { return false }
        store(r, UInt32(truncatingIfNeeded: value), x2apic: true)
        return true
    }

    func apicBaseRead() -> UInt64 { apicBase }

    /// A WRMSR of IA32_APIC_BASE; false means #GP (reserved bits, or a mode
    /// change the SDM forbids: x2APIC to xAPIC, disabled to x2APIC, EXTD
    /// without EN).
    func apicBaseWrite(_ value: UInt64) -> Bool {
        guard value & Base.reservedMask == 0 else { return false }
        let wasX2 = x2apicMode, wasEnabled = globallyEnabled
        let en = value & Base.enable != 0, extd = value & Base.extd != 0
        if extd && !en { return false }
        if extd && !x2apicAvailable { return false }
        if wasX2 && en && !extd { return false }
        if !wasEnabled && en && extd { return false }
        // The BSP flag is the hardware's to set: keep it.
        apicBase = (value & ~Base.bsp) | (apicBase & Base.bsp)
        // Disabling resets the APIC's state (SDM 11.4.3).
        if !en { resetState() }
        return true
    }

    /// IRR, ISR, TMR, SPIV, the timer and the LVTs as after a reset.
    func resetState() {
        irr = VectorSet(); isr = VectorSet(); tmr = VectorSet()
        registers[Register.spiv] = 0xFF
        timer = APICTimer()
        for lvt in Register.lvts { registers[lvt] = Self.lvtMasked }
    }

    /// An INIT reset (a warm reset, `WarmReset`): the state as at power-up
    /// except the APIC ID and IA32_APIC_BASE (SDM 11.4.7.3); a pending NMI is
    /// dropped, and LINT0/LINT1 are as firmware leaves them.
    func initReset() {
        resetState()
        nmiPending = false
        registers[Register.lvtLINT0] = Layout.apicLINT0AtEntry
        registers[Register.lvtLINT1] = Layout.apicLINT1AtEntry
    }

    // MARK: MSRDevice

    /// The MSRs this model answers: IA32_APIC_BASE and the x2APIC registers.
    public static let msrRanges: [ClosedRange<UInt32>] = [
        Layout.MSR.apicBase...Layout.MSR.apicBase,
        Layout.MSR.x2apicFirst...Layout.MSR.x2apicLast,
    ]

    public func readMSR(_ index: UInt32, now: UInt64) -> UInt64? {
        advance(to: now)
        return index == Layout.MSR.apicBase ? apicBaseRead() : x2apicRead(msr: index)
    }

    public func writeMSR(_ index: UInt32, value: UInt64, now: UInt64) -> Bool {
        advance(to: now)
        return index == Layout.MSR.apicBase ? apicBaseWrite(value) : x2apicWrite(msr: index, value: value)
    }
}

// MARK: - APIC bus

extension LocalAPIC: APICBus {
    /// A message from the I/O APIC: fixed and lowest-priority deliver the
    /// vector (level ones set TMR), NMI makes an NMI pending, the rest are
    /// dropped. Nothing is accepted while the APIC is disabled.
    @discardableResult
    public func receive(_ m: InterruptMessage) -> Bool {
        guard globallyEnabled, isDestination(m.destination, logical: m.logical) else { return false }
        switch m.deliveryMode {
        case InterruptMessage.DeliveryMode.fixed, InterruptMessage.DeliveryMode.lowestPriority:
            accept(vector: m.vector, level: m.level)
            return true
        case InterruptMessage.DeliveryMode.nmi:
            nmiPending = true
            return true
        default:
            droppedIPIs += 1
            return false
        }
    }

    /// The pending NMI was injected.
    func acknowledgeNMI() { nmiPending = false }
}

// MARK: - checkpoint state

extension LocalAPIC {
    /// IA32_APIC_BASE, the stored registers (count, then index and value in
    /// index order), IRR, ISR, TMR (8 words each), the NMI flag, the timer.
    func saveState(_ s: inout DeviceStateWriter) {
        s.u64(apicBase)
        let stored = registers.keys.sorted()
        s.u32(UInt32(stored.count))
        for r in stored { s.u32(UInt32(r)); s.u32(registers[r] ?? 0) }
        for set in [irr, isr, tmr] { for k in 0..<8 { s.u32(set.word(k)) } }
        s.bool(nmiPending)
        timer.save(&s)
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        apicBase = try r.u64()
        let n = try r.u32()
        guard n <= 0x100 else { throw JournalError(path: "device state of the local APIC", offset: nil, reason: "\(n) registers") }
        var regs: [Int: UInt32] = [:]
        for _ in 0..<n { let k = Int(try r.u32()); regs[k] = try r.u32() }
        registers = regs
        var sets: [VectorSet] = []
        for _ in 0..<3 {
            var words: [UInt32] = []
            for _ in 0..<8 { words.append(try r.u32()) }
            sets.append(VectorSet(words: words))
        }
        irr = sets[0]; isr = sets[1]; tmr = sets[2]
        nmiPending = try r.bool()
        timer = try APICTimer.restore(&r)
    }
}
