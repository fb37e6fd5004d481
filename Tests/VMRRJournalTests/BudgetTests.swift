import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// A guest printing a string on the serial port the usual way:
///
///     poll:  in   al, dx        ; dx = 0x3fd (LSR), until THRE
///            test al, 0x20
///            jz   poll
///            mov  dx, 0x3f8
///            lodsb                ; al = [rsi], rsi += 1
///            out  dx, al
///            mov  dx, 0x3fd
///            dec  rcx
///            jnz  poll
///
/// with a clock read (`mov rax, [clock]`, then stored) every few characters.
/// Registers are as KVM reports them at the exit: before an IN completes.
enum SerialGuest {
    static let pollRIP: UInt64 = 0x10_0020
    static let outRIP: UInt64 = 0x10_002c
    static let clockRIP: UInt64 = 0x10_0041
    static let lsrPort: UInt16 = 0x3fd
    static let thrPort: UInt16 = 0x3f8

    static func stream(characters: Int, seed: UInt64) -> [(Event, GPRegisters)] {
        var g = SplitMix64(seed: seed)
        let text = Array("Hello from the vmrr serial test guest! The quick brown fox jumps over the lazy dog.\n".utf8)
        var r = GPRegisters()
        r.rip = pollRIP; r.rflags = 0x2; r.rsi = 0x20_1000; r.rcx = UInt64(characters)
        r.rdx = UInt64(lsrPort); r.rsp = 0x8_0000; r.rdi = 0x20_2000
        var ns: UInt64 = 1_000_000
        var out: [(Event, GPRegisters)] = []
        for i in 0..<characters {
            // 1 to 3 LSR polls; the UART is busy (0x00) before it is ready (0x60).
            let polls = 1 + Int(g.next() % 3)
            for p in 0..<polls {
                r.rip = pollRIP
                r.rdx = UInt64(lsrPort)
                let lsr: UInt64 = p == polls - 1 ? 0x60 : 0x00
                out.append((.io(port: lsrPort, size: 1, direction: .read, value: lsr), r))
                r.rax = (r.rax & ~0xff) | lsr
                r.rflags = lsr & 0x20 != 0 ? 0x2 : 0x46  // test al, 0x20: ZF
            }
            r.rip = outRIP
            r.rdx = UInt64(thrPort)
            r.rax = (r.rax & ~0xff) | UInt64(text[i % text.count])
            r.rsi += 1
            out.append((.io(port: thrPort, size: 1, direction: .write, value: UInt64(text[i % text.count])), r))
            r.rcx -= 1
            r.rflags = r.rcx == 0 ? 0x46 : 0x2
            if i % 4 == 3 {
                r.rip = clockRIP
                ns += 2_000 + g.next() % 30_000
                out.append((.clock(ns: ns), r))
                r.rax = ns
                r.rdi += 8  // stored at [rdi]
            }
        }
        return out
    }
}

@Suite struct BudgetTests {
    @Test func serialLoopFitsTheSizeBudget() throws {
        let path = Fixtures.tempPath("budget")
        defer { unlink(path) }
        let stream = SerialGuest.stream(characters: 20_000, seed: 1)
        let w = try JournalWriter(path: path, header: Fixtures.header())
        for (e, regs) in stream { try w.append(e, regs: regs) }
        try w.finish()
        let r = try JournalReader(path: path)
        #expect(r.eventCount == UInt64(stream.count))
        let ioOrClock = stream.filter { $0.0.kind == .io || $0.0.kind == .clock }.count
        #expect(ioOrClock == stream.count)
        let perEvent = Double(r.eventBytes) / Double(ioOrClock)
        print("serial loop: \(stream.count) events, \(r.eventBytes) bytes in events chunks, \(perEvent) bytes/event")
        #expect(perEvent <= 12, "average \(perEvent) bytes per io/clock event")
        // And it decodes back exactly.
        let back = try r.events()
        #expect(back.map(\.event) == stream.map(\.0))
        #expect(back.map(\.regs) == stream.map(\.1))
    }

    @Test func appendIsFast() throws {
        let path = Fixtures.tempPath("perf")
        defer { unlink(path) }
        let stream = SerialGuest.stream(characters: 50_000, seed: 2)
        let w = try JournalWriter(path: path, header: Fixtures.header())
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for (e, regs) in stream { try w.append(e, regs: regs) }
            try w.flush()
        }
        try w.finish()
        let ns = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
        let perAppend = ns / Double(stream.count)
        print("append: \(perAppend) ns per event over \(stream.count) events (this build's optimization level)")
        #expect(w.eventCount == UInt64(stream.count))
        // The target is < 1 µs in release builds; debug builds get generous slack.
        #expect(perAppend < 20_000)
    }
}
