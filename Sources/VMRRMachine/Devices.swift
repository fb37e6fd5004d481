import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// The vmrr protocol's devices, as seen while recording. Everything here is
/// pure logic over an access: no KVM. Each access yields the journal event
/// that describes it, the value a read returns, and whether the run ends.
/// Replays never consult these models for input: they take values from the journal.

/// Where guest time comes from while recording.
public protocol GuestClock: AnyObject {
    /// Marks boot: the guest's first instruction runs next.
    func begin()
    /// Nanoseconds since boot.
    func now() -> UInt64
    /// Called once per VM exit.
    func exitTick()
    /// The guest halted until `deadline`: skip or sleep to it.
    func waitUntil(_ deadline: UInt64)
}

/// The host's monotonic clock, counted from the start of the recording.
public final class HostClock: GuestClock {
    var start: UInt64
    public init() { start = HostClock.monotonicNanoseconds() }
    public func begin() { start = HostClock.monotonicNanoseconds() }
    public static func monotonicNanoseconds() -> UInt64 { VMRRBase.monotonicNanoseconds() }
    public func now() -> UInt64 { HostClock.monotonicNanoseconds() &- start }
    public func exitTick() {}
    public func waitUntil(_ deadline: UInt64) {
        let n = now()
        guard deadline > n else { return }
        sleepNanoseconds(deadline - n)
    }
}

/// A deterministic clock: it advances by `nanosecondsPerExit` at every exit
/// and jumps to the deadline when the guest halts for the timer. Two
/// recordings of the same guest with the same input produce the same journal.
public final class VirtualClock: GuestClock {
    public static let nanosecondsPerExit: UInt64 = 1_000
    public private(set) var current: UInt64
    public init(start: UInt64 = 0) { current = start }
    public func begin() {}
    public func now() -> UInt64 { current }
    public func exitTick() { current &+= Self.nanosecondsPerExit }
    public func waitUntil(_ deadline: UInt64) { if deadline > current { current = deadline } }
}

/// Console input for COM1's RBR.
public protocol ConsoleInput: AnyObject {
    /// The next byte, if one is available now; nil when none is (yet).
    func peek() -> UInt8?
    /// Consumes the byte `peek()` returned.
    func consume()
    /// True when no byte will ever come again.
    var atEnd: Bool { get }
}

/// Input from a file read completely up front (`--input FILE`).
public final class BufferedInput: ConsoleInput {
    let bytes: [UInt8]
    var position = 0
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }
    public func consume() { if position < bytes.count { position += 1 } }
    public var atEnd: Bool { position >= bytes.count }
}

/// Input from a file descriptor (stdin), polled without blocking.
public final class DescriptorInput: ConsoleInput {
    let fd: Int32
    var buffer: [UInt8] = []
    var eof = false
    public init(fd: Int32) { self.fd = fd }
    func fill() {
        guard buffer.isEmpty, !eof else { return }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        switch valueOrErrno({ chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }) {
        case .success(0): eof = true
        case .success(let n): buffer.append(contentsOf: chunk[0..<n])
        case .failure(let e): if e.code != EAGAIN { eof = true }
        }
    }
    public func peek() -> UInt8? { fill(); return buffer.first }
    public func consume() { if !buffer.isEmpty { buffer.removeFirst() } }
    public var atEnd: Bool { fill(); return buffer.isEmpty && eof }
}

/// Where console output goes.
public protocol ConsoleOutput: AnyObject {
    func write(_ byte: UInt8)
    func flush()
}

/// Console output to a file descriptor, buffered per line.
public final class DescriptorOutput: ConsoleOutput {
    let fd: Int32
    let ownsDescriptor: Bool
    var buffer: [UInt8] = []
    public init(fd: Int32, ownsDescriptor: Bool = false) { self.fd = fd; self.ownsDescriptor = ownsDescriptor }
    public func write(_ byte: UInt8) {
        buffer.append(byte)
        if byte == UInt8(ascii: "\n") || buffer.count >= 4096 { flush() }
    }
    public func flush() {
        try? FileIO.writeAll(fd: fd, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
    deinit { flush(); if ownsDescriptor { close(fd) } }
}

/// Console output collected in memory (tests, `--quiet` comparison).
public final class CapturedOutput: ConsoleOutput {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ byte: UInt8) { bytes.append(byte) }
    public func flush() {}
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// What an access asks of the run loop after it has been journaled.
public enum DeviceOutcome: Equatable, Sendable {
    case proceed
    /// End the run (debug-exit, `--strict`).
    case end(EndReason, status: Int32, message: String?)
}

/// The record-time device models of protocol v1.
public final class DeviceModel {
    public let clock: GuestClock
    public let input: ConsoleInput?
    public let output: ConsoleOutput
    public let strict: Bool
    /// The timer deadline in clock ns, or nil when disarmed.
    public private(set) var timerDeadline: UInt64?
    /// Whether the EOT byte that marks the end of input has been delivered.
    public private(set) var deliveredEOT = false

    /// The PC devices (PCDevices.swift), present for every boot protocol.
    let pc: PCDevices
    /// COM1 (LegacyPC.swift).
    var uart = UART16550()
    /// Which source `pendingInterrupt()` last answered for, so that the
    /// acknowledgement reaches it.
    var pendingSource: InterruptSource?

    public init(clock: GuestClock, input: ConsoleInput?, output: ConsoleOutput, strict: Bool,
                pc config: PCDeviceConfig = PCDeviceConfig()) {
        self.clock = clock; self.input = input; self.output = output; self.strict = strict
        pc = PCDevices(config: config)
    }

    static let allOnes: UInt64 = ~0

    static func mask(_ value: UInt64, size: UInt8) -> UInt64 {
        size >= 8 ? value : value & ((1 << (UInt64(size) * 8)) - 1)
    }

    /// Whether a read of RBR has a byte for the guest (loopback data, console input, or the final EOT).
    var uartReceiveReady: Bool { uart.inLoopback ? !uart.loopback.isEmpty : inputPending }

    /// Sets ISA IRQ 4 from the UART's interrupt output.
    func syncUARTLine() {
        pc.pic.setIRQ(Layout.com1IRQ, uart.irqLine(rxReady: uartReceiveReady))
    }

    /// COM1 registers other than a data read of RBR.
    func uartRegisterRead(_ reg: UInt16) -> UInt8 {
        switch reg {
        case Layout.uartRBR: return uart.dll   // with DLAB set
        case Layout.uartIER: return uart.dlab ? uart.dlm : uart.ier
        case Layout.uartIIR: return uart.readIIR(rxReady: uartReceiveReady)
        case Layout.uartLCR: return uart.lcr
        case Layout.uartMCR: return uart.mcr
        case Layout.uartLSR:
            var lsr: Layout.LineStatus = [.thrEmpty, .transmitterEmpty]
            if uartReceiveReady { lsr.insert(.dataReady) }
            return lsr.rawValue
        case Layout.uartMSR: return uart.readMSR()
        default: return uart.scr
        }
    }

    func uartRegisterWrite(_ reg: UInt16, _ v: UInt8) {
        switch reg {
        case Layout.uartTHR:
            if uart.dlab { uart.dll = v; return }
            if uart.inLoopback {
                if uart.loopback.count < UART16550.fifoDepth { uart.loopback.append(v) }
            } else {
                output.write(v)
            }
            uart.thrEmptyPending = true
        case Layout.uartIER:
            if uart.dlab { uart.dlm = v } else { uart.writeIER(v) }
        case Layout.uartIIR: uart.writeFCR(v)
        case Layout.uartLCR: uart.lcr = v
        case Layout.uartMCR: uart.writeMCR(v)
        case Layout.uartSCR: uart.scr = v
        default: break   // LSR and MSR writes (factory test) change nothing
        }
    }

    /// True when input is pending for RBR (a byte, or the final EOT).
    var inputPending: Bool {
        guard let input else { return false }
        if input.peek() != nil { return true }
        return input.atEnd && !deliveredEOT
    }

    /// A port read: the event to journal and the value the guest receives.
    public func portRead(port: UInt16, size: UInt8) -> (Event, UInt64, DeviceOutcome) {
        let com1 = Layout.com1Base
        if port >= com1 && port < com1 + Layout.com1PortCount {
            defer { syncUARTLine() }
            let reg = port - com1
            if reg == Layout.uartRBR && !uart.dlab {
                if uart.inLoopback {
                    let v = UInt64(uart.loopback.isEmpty ? 0 : uart.loopback.removeFirst())
                    return (.io(port: port, size: size, direction: .read, value: v), v, .proceed)
                }
                if let input, let b = input.peek() {
                    input.consume()
                    return (.input(port: port, byte: b), UInt64(b), .proceed)
                }
                if let input, input.atEnd, !deliveredEOT {
                    deliveredEOT = true
                    return (.input(port: port, byte: Layout.eotByte), UInt64(Layout.eotByte), .proceed)
                }
                return (.io(port: port, size: size, direction: .read, value: 0), 0, .proceed)
            }
            let v = UInt64(uartRegisterRead(reg))
            return (.io(port: port, size: size, direction: .read, value: v), v, .proceed)
        }
        if let v = pc.portRead(port: port, size: size, clockNanoseconds: clock.now) {
            let value = Self.mask(v, size: size)
            return (.io(port: port, size: size, direction: .read, value: value), value, .proceed)
        }
        let v = Self.mask(Self.allOnes, size: size)
        let ev = Event.io(port: port, size: size, direction: .read, value: v)
        if strict { return (ev, v, .end(.strict, status: ExitStatus.strict, message: "read of unknown port \(hex(port)) (size \(size))")) }
        return (ev, v, .proceed)
    }

    /// A port write.
    public func portWrite(port: UInt16, size: UInt8, value: UInt64) -> (Event, DeviceOutcome) {
        let ev = Event.io(port: port, size: size, direction: .write, value: value)
        if port >= Layout.com1Base && port < Layout.com1Base + Layout.com1PortCount {
            uartRegisterWrite(port - Layout.com1Base, UInt8(truncatingIfNeeded: value))
            syncUARTLine()
            return (ev, .proceed)
        }
        if port == Layout.debugExitPort {
            return (ev, .end(.debugExit, status: Int32(value & 0xFF), message: nil))
        }
        switch pc.portWrite(port: port, size: size, value: value, clockNanoseconds: clock.now) {
        case .handled?: return (ev, .proceed)
        case let .end(reason, status, message)?: return (ev, .end(reason, status: status, message: message))
        case nil: break
        }
        if strict { return (ev, .end(.strict, status: ExitStatus.strict, message: "write of \(hex(value)) to unknown port \(hex(port)) (size \(size))")) }
        return (ev, .proceed)
    }

    /// An MMIO read of a guest-physical address with no memory slot.
    public func mmioRead(gpa: UInt64, size: UInt8) -> (Event, UInt64, DeviceOutcome) {
        if gpa == Layout.clockGPA {
            let ns = clock.now()
            return (.clock(ns: ns), Self.mask(ns, size: size), .proceed)
        }
        let v = Self.mask(Self.allOnes, size: size)
        if gpa >= Layout.paravirtPageGPA && gpa < Layout.paravirtPageGPA + Layout.pageSize {
            return (.mmio(gpa: gpa, size: size, direction: .read, value: v), v, .proceed)
        }
        if let d = pc.mmioRead(gpa: gpa, size: size) {
            let value = Self.mask(d, size: size)
            return (.mmio(gpa: gpa, size: size, direction: .read, value: value), value, .proceed)
        }
        let ev = Event.stage2Fault(gpa: gpa, size: size, direction: .read, value: v)
        if strict { return (ev, v, .end(.strict, status: ExitStatus.strict, message: "read of unbacked guest-physical \(hex(gpa)) (size \(size))")) }
        return (ev, v, .proceed)
    }

    /// An MMIO write.
    public func mmioWrite(gpa: UInt64, size: UInt8, value: UInt64) -> (Event, DeviceOutcome) {
        if gpa == Layout.timerGPA {
            timerDeadline = value == 0 ? nil : value
            return (.timer(deadline: value), .proceed)
        }
        if gpa >= Layout.paravirtPageGPA && gpa < Layout.paravirtPageGPA + Layout.pageSize {
            return (.mmio(gpa: gpa, size: size, direction: .write, value: value), .proceed)
        }
        if pc.mmioWrite(gpa: gpa, size: size, value: value) {
            return (.mmio(gpa: gpa, size: size, direction: .write, value: value), .proceed)
        }
        let ev = Event.stage2Fault(gpa: gpa, size: size, direction: .write, value: value)
        if strict { return (ev, .end(.strict, status: ExitStatus.strict, message: "write of \(hex(value)) to unbacked guest-physical \(hex(gpa)) (size \(size))")) }
        return (ev, .proceed)
    }

    /// True when the timer has fired and its interrupt waits for injection.
    public var timerExpired: Bool {
        guard let d = timerDeadline else { return false }
        return clock.now() >= d
    }

    /// Where an interrupt comes from.
    enum InterruptSource { case paravirtualTimer, localAPIC, pic }

    /// The vector to deliver now, if any, evaluated at `clock.now()`: the
    /// paravirtual timer's first, then the local APIC's highest request above
    /// its priority, then the PIC pair's output (PIT channel 0, COM1,
    /// pc-testdev lines). Call `acknowledgeInterrupt` once it is injected.
    public func pendingInterrupt() -> UInt8? {
        let now = clock.now()
        pc.advance(to: now)
        syncUARTLine()
        if timerExpired { pendingSource = .paravirtualTimer; return Layout.timerVector }
        if let v = pc.apic.deliverable { pendingSource = .localAPIC; return v }
        if let v = pc.pic.pendingVector { pendingSource = .pic; return v }
        pendingSource = nil
        return nil
    }

    /// The vector `pendingInterrupt()` returned was injected.
    public func acknowledgeInterrupt(_ vector: UInt8) {
        switch pendingSource {
        case .paravirtualTimer?: timerDeadline = nil
        case .localAPIC?: pc.apic.acknowledge(vector)
        case .pic?: pc.pic.acknowledge()
        case nil: break
        }
        pendingSource = nil
    }

    /// The earliest guest-clock time at which an interrupt can become
    /// pending (the paravirtual timer's deadline, PIT channel 0's next
    /// rising edge), or nil when nothing will ever interrupt a halted guest.
    public func nextInterruptTime() -> UInt64? {
        [timerDeadline, pc.nextTimerEdge(after: clock.now())].compactMap { $0 }.min()
    }

    /// Device state for checkpoints (docs/JOURNAL.md, "Checkpoint device
    /// state"): timer deadline, EOT flag, clock, then COM1's LCR and MCR
    /// (which a replay needs to tell console output from divisor and
    /// loopback writes, `ConsoleFilter`).
    public func encodeState() -> [UInt8] {
        var out: [UInt8] = []
        func put(_ v: UInt64) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        put(timerDeadline ?? 0)
        put(deliveredEOT ? 1 : 0)
        put(clock.now())
        out.append(uart.lcr)
        out.append(uart.mcr)
        return out
    }
}
