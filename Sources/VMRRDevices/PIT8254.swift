import VMRRGuest
import VMRRJournal

/// The 8254 programmable interval timer (docs/GUEST.md, "PC devices"),
/// counting guest-clock time: its counters at 0x40-0x42 and control port
/// 0x43. Channel 0 drives ISA IRQ 0; channel 2's gate and OUT are reached
/// through port 0x61 (`SystemControlPort`).

/// One 8254 counter, following the behaviour of QEMU's i8254 (which Linux's
/// and the KVM unit tests' timing code is written against). Time is guest
/// clock nanoseconds; the counter runs at 1.193182 MHz.
struct PITChannel {
    var mode: UInt8 = 0
    /// Access mode: 1 low byte, 2 high byte, 3 low then high.
    var access: UInt8 = 3
    var bcd = false
    /// The count loaded (0 means 65536).
    var count: UInt32 = 0x10000
    /// When the count was loaded (or the gate last rose), in guest ns.
    var loadTime: UInt64 = 0
    var gate = true
    var loaded = false
    /// The read-back status's NULL COUNT: set by a control word, cleared
    /// when a count is loaded (8254 datasheet). Clear at power-up, as
    /// QEMU's PIT has it: no firmware programs channel 0 here, and Linux's
    /// `i8254()` entropy loop waits for a clear NULL COUNT.
    var nullCount = false
    var writeHigh = false
    var writeLatch: UInt8 = 0
    var readHigh = false
    var latched: UInt16?
    var latchedHigh = false
    var status: UInt8?

    static let frequency: UInt64 = 1_193_182
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    static func ticks(since t0: UInt64, at t: UInt64) -> UInt64 {
        guard t > t0 else { return 0 }
        let d = t - t0
        return d / nanosecondsPerSecond * frequency + d % nanosecondsPerSecond * frequency / nanosecondsPerSecond
    }

    /// Guest ns at which `ticks` ticks have elapsed since `t0` (rounded up).
    static func time(after t0: UInt64, ticks: UInt64) -> UInt64 {
        t0 &+ (ticks * nanosecondsPerSecond + frequency - 1) / frequency
    }

    func elapsed(_ now: UInt64) -> UInt64 { loaded ? Self.ticks(since: loadTime, at: now) : 0 }

    /// The counter's current value (QEMU's pit_get_count).
    func value(_ now: UInt64) -> UInt16 {
        let d = elapsed(now), c = UInt64(count)
        switch mode {
        case 0, 1, 4, 5: return UInt16(truncatingIfNeeded: (c &- d) & 0xFFFF)
        case 3: return UInt16(truncatingIfNeeded: (c - (2 * d) % c) & 0xFFFE)
        default: return UInt16(truncatingIfNeeded: c - d % c)   // mode 2
        }
    }

    /// The OUT pin as QEMU's pit_get_out models it: modes 2, 4 and 5 as a
    /// one-tick high pulse at the end of the count, so that the rising edge
    /// (which IRQ 0 latches) comes when the count expires. Before a count is
    /// loaded, OUT idles high in modes 1 and 3 and low otherwise.
    func out(_ now: UInt64) -> Bool {
        guard loaded else { return mode == 1 || mode == 3 }
        let d = elapsed(now), c = UInt64(count)
        switch mode {
        case 0: return d >= c
        case 1: return d < c
        case 2: return d % c == 0 && d != 0
        case 3: return d % c < (c + 1) >> 1
        default: return d == c   // modes 4 and 5: a one-tick strobe
        }
    }

    /// The time of the first rising edge of OUT after `now`, if OUT will rise (QEMU's pit_get_next_transition_time, rising edges only).
    func nextRisingEdge(after now: UInt64) -> UInt64? {
        guard loaded else { return nil }
        let d = elapsed(now), c = UInt64(count)
        let next: UInt64
        switch mode {
        case 0: guard d < c else { return nil }; next = c
        case 2: next = (d / c + 1) * c
        case 3: next = (d / c + 1) * c            // OUT rises at the start of each period
        case 4, 5: guard d < c else { return nil }; next = c
        default: return nil                        // mode 1: OUT rises at the end, then stays
        }
        return Self.time(after: loadTime, ticks: next)
    }

    /// Rising edges of OUT in the interval (from, to].
    func risingEdges(from: UInt64, to: UInt64) -> UInt64 {
        guard loaded, to > from else { return 0 }
        let c = UInt64(count), a = elapsed(from), b = elapsed(to)
        switch mode {
        case 0, 4, 5: return a < c && b >= c ? 1 : 0
        case 2, 3: return b / c - a / c
        default: return 0
        }
    }
}

/// The 8254 at 0x40-0x43. Channel 0's OUT drives ISA IRQ 0: each rising
/// edge since the last look is an edge on the line (`advance(to:)`).
public final class PIT8254: DeviceModel, ClockedInterruptSource {
    var channels = [PITChannel](repeating: PITChannel(), count: PIT8254.channelCount)
    /// Where channel 0's OUT goes.
    let irq: InterruptLine
    /// Guest-clock time up to which channel 0's edges have reached the line.
    var advancedTo: UInt64 = 0
    /// The number of counters.
    static let channelCount = 3

    public init(irq: InterruptLine) { self.irq = irq }

    enum Control {
        static let channelShift: UInt8 = 6, accessShift: UInt8 = 4, modeShift: UInt8 = 1
        static let twoBitMask: UInt8 = 0x3, modeMask: UInt8 = 0x7
        static let bcd: UInt8 = 1 << 0
        static let readBack: UInt8 = 3
        static let readBackNoCount: UInt8 = 1 << 5, readBackNoStatus: UInt8 = 1 << 4
        static let statusOut: UInt8 = 1 << 7, statusNullCount: UInt8 = 1 << 6
    }

    func writeControl(_ v: UInt8, now: UInt64) {
        let channel = Int(v >> Control.channelShift)
        if channel == Int(Control.readBack) {
            for c in 0..<Self.channelCount where v & (1 << UInt8(c + 1)) != 0 {
                if v & Control.readBackNoCount == 0 { latch(c, now: now) }
                if v & Control.readBackNoStatus == 0 && channels[c].status == nil {
                    let ch = channels[c]
                    channels[c].status = (ch.out(now) ? Control.statusOut : 0) | (ch.nullCount ? Control.statusNullCount : 0)
                        | (ch.access << Control.accessShift) | (ch.mode << Control.modeShift) | (ch.bcd ? Control.bcd : 0)
                }
            }
            return
        }
        let access = (v >> Control.accessShift) & Control.twoBitMask
        if access == 0 { latch(channel, now: now); return }
        var mode = (v >> Control.modeShift) & Control.modeMask
        if mode > 5 { mode -= 4 }   // 6 and 7 are aliases of 2 and 3
        channels[channel].mode = mode
        channels[channel].access = access
        channels[channel].bcd = v & Control.bcd != 0
        channels[channel].writeHigh = false
        channels[channel].readHigh = false
        channels[channel].loaded = false
        channels[channel].nullCount = true
    }

    func latch(_ c: Int, now: UInt64) {
        guard channels[c].latched == nil else { return }
        channels[c].latched = channels[c].value(now)
        channels[c].latchedHigh = false
    }

    func load(_ c: Int, _ value: UInt32, now: UInt64) {
        channels[c].count = value == 0 ? 0x10000 : value
        channels[c].loadTime = now
        channels[c].loaded = true
        channels[c].nullCount = false
    }

    func writeData(_ c: Int, _ v: UInt8, now: UInt64) {
        switch channels[c].access {
        case 1: load(c, UInt32(v), now: now)
        case 2: load(c, UInt32(v) << 8, now: now)
        default:
            if channels[c].writeHigh {
                load(c, UInt32(channels[c].writeLatch) | UInt32(v) << 8, now: now)
            } else {
                channels[c].writeLatch = v
            }
            channels[c].writeHigh.toggle()
        }
    }

    func readData(_ c: Int, now: UInt64) -> UInt8 {
        if let st = channels[c].status { channels[c].status = nil; return st }
        let access = channels[c].access
        if let l = channels[c].latched {
            // A latched count is read once, in the access mode's order.
            let high = access == 2 || (access == 3 && channels[c].latchedHigh)
            if access == 3 && !channels[c].latchedHigh { channels[c].latchedHigh = true } else { channels[c].latched = nil }
            return high ? UInt8(l >> 8) : UInt8(l & 0xFF)
        }
        let v = channels[c].value(now)
        let high = access == 2 || (access == 3 && channels[c].readHigh)
        if access == 3 { channels[c].readHigh.toggle() }
        return high ? UInt8(v >> 8) : UInt8(v & 0xFF)
    }

    func setGate2(_ level: Bool, now: UInt64) {
        let rising = level && !channels[2].gate
        channels[2].gate = level
        // Modes 1, 2, 3 and 5 restart counting on a rising gate (modes 0 and 4 are not gated here, as in QEMU).
        if rising && [1, 2, 3, 5].contains(channels[2].mode) && channels[2].loaded { channels[2].loadTime = now }
    }

    /// Brings channel 0's interrupt output up to `now`: each rising edge of
    /// OUT since the last call is an edge on IRQ 0.
    public func advance(to now: UInt64) {
        guard now > advancedTo else { return }
        if channels[0].risingEdges(from: advancedTo, to: now) > 0 {
            irq.set(false)
            irq.set(true)
        }
        irq.set(channels[0].out(now))
        advancedTo = now
    }

    /// When channel 0's OUT next rises after `now`, if it will.
    public func nextRisingEdge(after now: UInt64) -> UInt64? { channels[0].nextRisingEdge(after: now) }

    /// Channel 2's OUT (port 0x61 bit 5).
    func out2(_ now: UInt64) -> Bool { channels[2].out(now) }
    /// Channel 2's gate (port 0x61 bit 0).
    var gate2: Bool { channels[2].gate }

    /// Counter reads; the control port reads all ones.
    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        guard Layout.pitCounterPorts.contains(access.port) else { return .value(0xFF) }
        advance(to: access.now)
        return .value(UInt64(readData(Int(access.port - Layout.pitCounterPorts.lowerBound), now: access.now)))
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let now = access.now
        advance(to: now)
        if Layout.pitCounterPorts.contains(access.port) {
            writeData(Int(access.port - Layout.pitCounterPorts.lowerBound), access.byte, now: now)
            irq.set(channels[0].out(now))
        } else {
            writeControl(access.byte, now: now)
        }
        return .handled
    }
}

// MARK: - checkpoint state

extension PIT8254 {
    /// Up to where IRQ 0 has been advanced, then per channel: mode, access,
    /// BCD, count, load time, gate, loaded, write-high, write latch,
    /// read-high, latched count (presence, value, high flag), status latch,
    /// null count (record version 2).
    func saveState(_ s: inout DeviceStateWriter) {
        s.u64(advancedTo)
        for c in channels {
            s.u8(c.mode); s.u8(c.access); s.bool(c.bcd); s.u32(c.count); s.u64(c.loadTime)
            s.bool(c.gate); s.bool(c.loaded); s.bool(c.writeHigh); s.u8(c.writeLatch); s.bool(c.readHigh)
            s.bool(c.latched != nil); s.u16(c.latched ?? 0); s.bool(c.latchedHigh)
            s.bool(c.status != nil); s.u8(c.status ?? 0)
            s.bool(c.nullCount)
        }
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        advancedTo = try r.u64()
        for k in 0..<Self.channelCount {
            var c = PITChannel()
            c.mode = try r.u8(); c.access = try r.u8(); c.bcd = try r.bool(); c.count = try r.u32(); c.loadTime = try r.u64()
            c.gate = try r.bool(); c.loaded = try r.bool(); c.writeHigh = try r.bool(); c.writeLatch = try r.u8()
            c.readHigh = try r.bool()
            let hasLatch = try r.bool(), latch = try r.u16()
            c.latched = hasLatch ? latch : nil
            c.latchedHigh = try r.bool()
            let hasStatus = try r.bool(), status = try r.u8()
            c.status = hasStatus ? status : nil
            c.nullCount = try r.bool()
            guard c.count >= 1 && c.count <= 0x10000 else {
                throw JournalError(path: "device state of the PIT", offset: nil, reason: "count \(c.count) of channel \(k) is not 1-65536")
            }
            channels[k] = c
        }
    }
}
