import VMRRGuest
import VMRRJournal

/// Where a device with routable interrupts drives global system interrupts
/// (and, for the HPET's legacy replacement, ISA IRQs): `PCInterruptRouter`.
public protocol GSIController: InterruptController {
    /// Sets the level of GSI `gsi` at the I/O APIC only (GSIs that no ISA IRQ reaches).
    func setGSI(_ gsi: Int, _ level: Bool)
}

/// One HPET comparator (IA-PC HPET 1.0a, 2.3.8-2.3.9).
struct HPETTimer: Equatable {
    var config: UInt64 = 0
    var comparator: UInt64 = ~0
    /// Periodic mode: what is added to the comparator at each match.
    var period: UInt64 = 0
    /// Guest-clock ns of the next match, nil when it never comes.
    var nextMatch: UInt64?
    /// Whether this timer's (level) interrupt line is driven.
    var lineHigh = false
}

/// The HPET at 0xFED00000 (docs/GUEST.md, "HPET"), after the IA-PC HPET
/// specification 1.0a and QEMU's model: a 64-bit main counter at 100 MHz
/// (period 10 ns in fs) on the guest clock, and three comparators that can
/// be one-shot or periodic, 32- or 64-bit, edge or level:
/// - 0x000 GCAP_ID (read-only): revision 1, 3 timers, 64-bit counter,
///   legacy replacement capable, vendor 0x8086, period in fs in bits 63:32.
/// - 0x010 GEN_CONF: ENABLE_CNF (bit 0) runs the counter; LEG_RT_CNF (bit 1)
///   routes timer 0 to IRQ 0 / GSI 2 and timer 1 to IRQ 8 / GSI 8.
/// - 0x020 GINTR_STA: a level-triggered timer's bit is set when it fires
///   with interrupts enabled, and its line stays asserted until the guest
///   writes 1 to the bit.
/// - 0x0F0 MAIN_CNT: writable while the counter is halted.
/// - 0x100 + 0x20 n: Tn_CONF_CAP (INT_TYPE, INT_ENB, TYPE periodic,
///   VAL_SET, 32MODE, INT_ROUTE; capabilities: periodic and 64-bit for
///   every timer, routes `Layout.hpetRoutableGSIs`, no FSB delivery),
///   +0x08 Tn_COMPARATOR, +0x10 Tn_FSB_ROUTE (reads 0).
/// A comparator write in periodic mode sets the period, and the comparator
/// too when VAL_SET is set (then VAL_SET clears), as in QEMU. A match of an
/// enabled timer pulses (edge) or raises (level) its line; a periodic
/// timer's comparator then advances by the period (missed periods merge
/// into one interrupt), a 32-bit one-shot timer matches again after the
/// counter's low half wraps, and a 64-bit one-shot timer does not.
/// Registers take 4- and 8-byte accesses; other sizes read 0 and write
/// nothing. Map it at `Layout.hpetGPA` for `Layout.hpetSize` bytes.
public final class HPET: DeviceModel, ClockedInterruptSource {
    enum Register {
        static let capabilities: UInt64 = 0x000, configuration: UInt64 = 0x010
        static let interruptStatus: UInt64 = 0x020, mainCounter: UInt64 = 0x0F0
        static let timerBase: UInt64 = 0x100, timerStride: UInt64 = 0x20
        static let timerConfig: UInt64 = 0x00, timerComparator: UInt64 = 0x08, timerFSB: UInt64 = 0x10
    }
    /// GEN_CONF bits.
    enum General { static let enable: UInt64 = 1 << 0, legacyReplacement: UInt64 = 1 << 1 }
    /// Tn_CONF_CAP bits.
    enum TimerConfig {
        static let levelTriggered: UInt64 = 1 << 1
        static let interruptEnable: UInt64 = 1 << 2
        static let periodic: UInt64 = 1 << 3
        static let periodicCapable: UInt64 = 1 << 4
        static let size64Capable: UInt64 = 1 << 5
        static let valueSet: UInt64 = 1 << 6
        static let mode32: UInt64 = 1 << 8
        static let routeShift: UInt64 = 9, routeMask: UInt64 = 0x1F
        static let writable: UInt64 = levelTriggered | interruptEnable | periodic | valueSet | mode32 | (routeMask << routeShift)
        static let capabilities: UInt64 = periodicCapable | size64Capable | UInt64(Layout.hpetRoutableGSIs) << 32
    }
    /// GCAP_ID fields.
    enum Capability {
        static let revision: UInt64 = 0x01
        static let timerCountShift: UInt64 = 8
        static let counter64: UInt64 = 1 << 13
        static let legacyCapable: UInt64 = 1 << 15
        static let vendorShift: UInt64 = 16, periodShift: UInt64 = 32
    }
    static let femtosecondsPerNanosecond: UInt64 = 1_000_000
    /// Guest-clock ns per counter tick (the period is a whole number of ns).
    static let nanosecondsPerTick = UInt64(Layout.hpetPeriodFemtoseconds) / femtosecondsPerNanosecond
    static let timerCount = Layout.hpetTimerCount
    static let wrap32: UInt64 = 1 << 32
    /// A 64-bit comparator further than this many ticks ahead never matches in a run (~365 days).
    static let farTicks: UInt64 = 1 << 52

    static let capabilities: UInt64 = Capability.revision | UInt64(timerCount - 1) << Capability.timerCountShift
        | Capability.counter64 | Capability.legacyCapable | UInt64(Layout.hpetVendorID) << Capability.vendorShift
        | UInt64(Layout.hpetPeriodFemtoseconds) << Capability.periodShift

    private(set) var general: UInt64 = 0
    private(set) var status: UInt64 = 0
    /// The main counter's value at `reference` ns (while enabled), or its
    /// value (while halted).
    private(set) var counterBase: UInt64 = 0
    private(set) var reference: UInt64 = 0
    private(set) var timers = [HPETTimer](repeating: HPETTimer(), count: HPET.timerCount)
    let interrupts: GSIController

    public init(interrupts: GSIController) { self.interrupts = interrupts }

    var enabled: Bool { general & General.enable != 0 }
    var legacy: Bool { general & General.legacyReplacement != 0 }

    func counter(at now: UInt64) -> UInt64 {
        enabled ? counterBase &+ (now &- reference) / Self.nanosecondsPerTick : counterBase
    }

    /// Guest ns at which the counter reads `target` (which is at or after the counter at `now`).
    func time(ofCount target: UInt64, now: UInt64) -> UInt64 {
        reference &+ (target &- counterBase) &* Self.nanosecondsPerTick
    }

    // MARK: matches

    /// When timer `n`'s comparator next matches, counted from the counter at `now`.
    func computeMatch(_ n: Int, now: UInt64) {
        let t = timers[n]
        guard enabled else { timers[n].nextMatch = nil; return }
        let c = counter(at: now)
        let delta = t.config & TimerConfig.mode32 != 0
            ? UInt64(UInt32(truncatingIfNeeded: t.comparator) &- UInt32(truncatingIfNeeded: c))
            : t.comparator &- c
        timers[n].nextMatch = delta > Self.farTicks ? nil : time(ofCount: c &+ delta, now: now)
    }

    /// The GSI or ISA IRQ timer `n` drives: legacy routes for timers 0 and
    /// 1, otherwise its INT_ROUTE_CNF.
    func route(_ n: Int) -> (isa: Int?, gsi: Int) {
        if legacy && n < 2 { return n == 0 ? (Layout.pitIRQ, Int(Layout.hpetLegacyTimer0GSI)) : (8, Int(Layout.hpetLegacyTimer1GSI)) }
        return (nil, Int((timers[n].config >> TimerConfig.routeShift) & TimerConfig.routeMask))
    }

    func drive(_ n: Int, _ level: Bool) {
        let r = route(n)
        if let irq = r.isa { interrupts.setIRQ(irq, level) } else { interrupts.setGSI(r.gsi, level) }
    }

    func fire(_ n: Int) {
        let c = timers[n].config
        guard c & TimerConfig.interruptEnable != 0 else { return }
        if c & TimerConfig.levelTriggered != 0 {
            status |= 1 << UInt64(n)
            timers[n].lineHigh = true
            drive(n, true)
        } else {
            drive(n, false); drive(n, true); drive(n, false)
        }
    }

    /// Fires every match due by `now`, re-arming periodic and 32-bit timers.
    public func advance(to now: UInt64) {
        for n in 0..<Self.timerCount {
            guard let due = timers[n].nextMatch, due <= now else { continue }
            fire(n)
            let t = timers[n]
            if t.config & TimerConfig.periodic != 0, t.period != 0 {
                // Merge missed periods: the comparator passes the counter.
                let mode32 = t.config & TimerConfig.mode32 != 0
                let c = counter(at: now), step = t.period
                let lag = mode32 ? UInt64(UInt32(truncatingIfNeeded: c) &- UInt32(truncatingIfNeeded: t.comparator))
                                 : c &- t.comparator
                let next = t.comparator &+ (lag / step + 1) &* step
                timers[n].comparator = mode32 ? next & 0xFFFF_FFFF : next
                computeMatch(n, now: now)
            } else if t.config & TimerConfig.mode32 != 0 {
                timers[n].nextMatch = due &+ Self.wrap32 &* Self.nanosecondsPerTick
            } else {
                timers[n].nextMatch = nil
            }
        }
    }

    /// The earliest match of a timer whose interrupt is enabled.
    public func nextInterruptTime() -> UInt64? {
        (0..<Self.timerCount).filter { timers[$0].config & TimerConfig.interruptEnable != 0 }
            .compactMap { timers[$0].nextMatch }.min()
    }

    // MARK: registers

    func register(_ offset: UInt64, now: UInt64) -> UInt64 {
        switch offset {
        case Register.capabilities: return Self.capabilities
        case Register.configuration: return general
        case Register.interruptStatus: return status
        case Register.mainCounter: return counter(at: now)
        case Register.timerBase..<(Register.timerBase + Register.timerStride * UInt64(Self.timerCount)):
            let n = Int((offset - Register.timerBase) / Register.timerStride)
            switch (offset - Register.timerBase) % Register.timerStride {
            case Register.timerConfig: return timers[n].config | TimerConfig.capabilities
            case Register.timerComparator: return timers[n].comparator
            default: return 0
            }
        default: return 0
        }
    }

    /// A write of `value` to the bits `mask` of the 64-bit register at `offset`.
    func store(_ offset: UInt64, _ value: UInt64, mask: UInt64, now: UInt64) {
        let merged = (register(offset, now: now) & ~mask) | (value & mask)
        switch offset {
        case Register.configuration: setGeneral(merged, now: now)
        case Register.interruptStatus:
            let clear = value & mask & status
            status &= ~clear
            for n in 0..<Self.timerCount where clear & (1 << UInt64(n)) != 0 && timers[n].lineHigh {
                timers[n].lineHigh = false
                drive(n, false)
            }
        case Register.mainCounter:
            guard !enabled else { return }   // the counter is written only while halted
            counterBase = merged
        case Register.timerBase..<(Register.timerBase + Register.timerStride * UInt64(Self.timerCount)):
            let n = Int((offset - Register.timerBase) / Register.timerStride)
            switch (offset - Register.timerBase) % Register.timerStride {
            case Register.timerConfig: setTimerConfig(n, merged, now: now)
            case Register.timerComparator: setComparator(n, value & mask, mask: mask, now: now)
            default: break
            }
        default: break
        }
    }

    func setGeneral(_ v: UInt64, now: UInt64) {
        let c = counter(at: now)
        // Level lines asserted on the old routes move to the new ones.
        for n in 0..<Self.timerCount where timers[n].lineHigh { drive(n, false) }
        general = v & (General.enable | General.legacyReplacement)
        counterBase = c; reference = now
        for n in 0..<Self.timerCount {
            if timers[n].lineHigh { drive(n, true) }
            computeMatch(n, now: now)
        }
    }

    func setTimerConfig(_ n: Int, _ v: UInt64, now: UInt64) {
        if timers[n].lineHigh { drive(n, false) }
        var config = v & TimerConfig.writable
        // A route the capability mask does not offer is not taken.
        let route = (config >> TimerConfig.routeShift) & TimerConfig.routeMask
        if UInt64(Layout.hpetRoutableGSIs) & (1 << route) == 0 {
            config = (config & ~(TimerConfig.routeMask << TimerConfig.routeShift))
                | (timers[n].config & (TimerConfig.routeMask << TimerConfig.routeShift))
        }
        timers[n].config = config
        if config & TimerConfig.mode32 != 0 { timers[n].comparator &= 0xFFFF_FFFF; timers[n].period &= 0xFFFF_FFFF }
        // Level-triggered lines stay asserted while the status bit is set; edge lines drop.
        if config & TimerConfig.levelTriggered == 0 || status & (1 << UInt64(n)) == 0 {
            timers[n].lineHigh = false
        }
        if timers[n].lineHigh { drive(n, true) }
        computeMatch(n, now: now)
    }

    func setComparator(_ n: Int, _ value: UInt64, mask: UInt64, now: UInt64) {
        var t = timers[n]
        var m = mask
        if t.config & TimerConfig.mode32 != 0 { m &= 0xFFFF_FFFF }
        if t.config & TimerConfig.periodic == 0 || t.config & TimerConfig.valueSet != 0 {
            t.comparator = (t.comparator & ~m) | (value & m)
        }
        t.period = (t.period & ~m) | (value & m)
        t.config &= ~TimerConfig.valueSet
        timers[n] = t
        computeMatch(n, now: now)
    }

    /// The 64-bit register and the bits an access reaches: 8-byte accesses
    /// at an 8-byte boundary, 4-byte accesses at a 4-byte one.
    func decode(_ access: DeviceAccess) -> (offset: UInt64, shift: UInt64, mask: UInt64)? {
        switch access.size {
        case 8 where access.offset % 8 == 0: return (access.offset, 0, ~0)
        case 4 where access.offset % 4 == 0:
            let shift = (access.offset % 8) * 8
            return (access.offset & ~7, shift, 0xFFFF_FFFF << shift)
        default: return nil
        }
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        advance(to: access.now)
        guard let (offset, shift, mask) = decode(access) else { return .value(0) }
        return .value((register(offset, now: access.now) & mask) >> shift)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        advance(to: access.now)
        guard let (offset, shift, mask) = decode(access) else { return .handled }
        store(offset, access.value << shift, mask: mask, now: access.now)
        return .handled
    }

    // MARK: checkpoint state

    /// GEN_CONF, GINTR_STA, the counter base and reference, then per timer:
    /// config, comparator, period, next match, line level.
    func saveState(_ s: inout DeviceStateWriter) {
        s.u64(general); s.u64(status); s.u64(counterBase); s.u64(reference)
        for t in timers {
            s.u64(t.config); s.u64(t.comparator); s.u64(t.period); s.optionalU64(t.nextMatch); s.bool(t.lineHigh)
        }
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        general = try r.u64(); status = try r.u64(); counterBase = try r.u64(); reference = try r.u64()
        for n in 0..<Self.timerCount {
            timers[n] = HPETTimer(config: try r.u64(), comparator: try r.u64(), period: try r.u64(),
                                  nextMatch: try r.optionalU64(), lineHigh: try r.bool())
        }
    }
}
