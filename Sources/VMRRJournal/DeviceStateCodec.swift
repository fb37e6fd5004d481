/// A checkpoint's device state (docs/JOURNAL.md, "Checkpoint device state"):
/// what the recorder's devices hold that a replay or a report may need. The
/// recorder writes it (`PCPlatform.deviceState` in VMRRDevices) and the replay's
/// `ConsoleFilter` reads it back; both go through this one codec.
///
/// On disk, little-endian, in this order:
///
///     u64 timer deadline (0 = disarmed) | u64 EOT delivered (1 or 0) |
///     u64 guest clock, ns | u8 COM1 LCR | u8 COM1 MCR |
///     [device records: u8 extension version (1) | varint n |
///      n × (u8 tag | u8 record version | varint len | len bytes)]
///
/// Format-1 journals hold only the first 24 bytes; journals written before
/// 2026-12 stop after the MCR. Decoding never fails: a field the bytes do
/// not hold keeps its default (disarmed, not delivered, 0), the UART
/// registers are read only when both are present, and device records are
/// kept up to the first one that is incomplete. An extension version other
/// than 1 is skipped whole (a newer writer's layout); readers that predate
/// the records ignore them, as they ignore any bytes past the MCR.
public struct DeviceState: Equatable, Sendable {
    /// The paravirtual timer's deadline in guest-clock ns, nil when disarmed.
    public var timerDeadline: UInt64?
    /// Whether the EOT byte that marks the end of console input has been delivered.
    public var deliveredEOT: Bool
    /// The guest clock, ns since boot.
    public var clock: UInt64
    /// COM1's line control register (format 2 on).
    public var uartLCR: UInt8
    /// COM1's modem control register (format 2 on).
    public var uartMCR: UInt8

    /// Each device's own state, tagged (`DeviceStateRecord`), in the order written.
    public var devices: [DeviceStateRecord]

    /// The encoded length of each form without device records.
    public static let formatOneSize = 24
    public static let size = 26
    /// The layout version of the device-record block that follows the MCR.
    public static let recordsVersion: UInt8 = 1
    /// At most this many records are decoded (far more than vmrr has devices).
    public static let maximumRecords = 256

    public init(timerDeadline: UInt64? = nil, deliveredEOT: Bool = false, clock: UInt64 = 0,
                uartLCR: UInt8 = 0, uartMCR: UInt8 = 0, devices: [DeviceStateRecord] = []) {
        self.timerDeadline = timerDeadline; self.deliveredEOT = deliveredEOT; self.clock = clock
        self.uartLCR = uartLCR; self.uartMCR = uartMCR; self.devices = devices
    }

    /// The record with `tag`, if the state holds one.
    public func record(_ tag: DeviceStateRecord.Tag) -> DeviceStateRecord? {
        devices.first { $0.tag == tag.rawValue }
    }

    /// The bytes a checkpoint stores (always the current, 26-byte form).
    public func encoded() -> [UInt8] {
        var s = ByteSink()
        s.u64(timerDeadline ?? 0)
        s.u64(deliveredEOT ? 1 : 0)
        s.u64(clock)
        s.u8(uartLCR)
        s.u8(uartMCR)
        guard !devices.isEmpty else { return s.bytes }
        s.u8(Self.recordsVersion)
        s.varint(UInt64(devices.count))
        for d in devices {
            s.u8(d.tag)
            s.u8(d.version)
            s.lengthPrefixed(d.bytes)
        }
        return s.bytes
    }

    /// Decodes any length a journal may hold (see the type's comment).
    public init(decoding bytes: [UInt8]) {
        self.init()
        // Each field is read only when every field before it was there.
        var r = ByteReader(bytes, name: "device state")
        guard let deadline = try? r.u64("timer deadline") else { return }
        timerDeadline = deadline == 0 ? nil : deadline
        guard let eot = try? r.u64("EOT flag") else { return }
        deliveredEOT = eot != 0
        guard let ns = try? r.u64("clock") else { return }
        clock = ns
        guard r.remaining >= 2, let lcr = try? r.u8("LCR"), let mcr = try? r.u8("MCR") else { return }
        uartLCR = lcr; uartMCR = mcr
        guard let version = try? r.u8("records version"), version == Self.recordsVersion,
              let n = try? r.length("record count", limit: Self.maximumRecords) else { return }
        for _ in 0..<n {
            guard let tag = try? r.u8("tag"), let v = try? r.u8("record version"),
                  let b = try? r.lengthPrefixed("record") else { return }
            devices.append(DeviceStateRecord(tag: tag, version: v, bytes: b))
        }
    }
}

/// One device's state in a checkpoint: which device (`tag`), the layout of
/// its bytes (`version`, bumped whenever the device's layout changes), and
/// the bytes, written and read by the device itself through
/// `DeviceStateWriter` and `DeviceStateReader`. docs/JOURNAL.md lists the
/// tags and each layout.
public struct DeviceStateRecord: Equatable, Sendable {
    public var tag: UInt8
    public var version: UInt8
    public var bytes: [UInt8]

    public init(tag: UInt8, version: UInt8, bytes: [UInt8]) {
        self.tag = tag; self.version = version; self.bytes = bytes
    }

    /// The devices with a record. Numbers are never reused.
    public enum Tag: UInt8, CaseIterable, Sendable {
        case pic = 1, pit = 2, uart = 3, cmos = 4, localAPIC = 5, ioapic = 6, hpet = 7
        case acpiPM = 8, pciHost = 9, systemControl = 10, testDev = 11, fwCfg = 12, resetPorts = 13
        case testDevMemory = 14, paravirtualClock = 15, systemControlB = 16
        /// More than one vCPU: the running vCPU and the APs' local APICs (docs/SMP.md).
        case apLocalAPICs = 17
    }
}

/// Little-endian writer of one device's record bytes.
public struct DeviceStateWriter {
    var sink = ByteSink()
    public init() {}
    public var bytes: [UInt8] { sink.bytes }
    public mutating func u8(_ v: UInt8) { sink.u8(v) }
    public mutating func bool(_ v: Bool) { sink.u8(v ? 1 : 0) }
    public mutating func u16(_ v: UInt16) { sink.u16(v) }
    public mutating func u32(_ v: UInt32) { sink.u32(v) }
    public mutating func u64(_ v: UInt64) { sink.u64(v) }
    /// An optional u64: a presence byte, then the value when present.
    public mutating func optionalU64(_ v: UInt64?) { bool(v != nil); if let v { u64(v) } }
    /// Raw bytes of a length both sides know.
    public mutating func bytes(_ b: [UInt8]) { sink.raw(b) }
    /// A varint length, then the bytes.
    public mutating func lengthPrefixed(_ b: [UInt8]) { sink.lengthPrefixed(b) }
}

/// The checked reader of one device's record bytes: a short or malformed
/// record throws a `JournalError` naming the device and the offset.
public struct DeviceStateReader {
    var reader: ByteReader
    public init(_ record: DeviceStateRecord, device: String) {
        reader = ByteReader(record.bytes, name: "device state of \(device)")
    }
    public var atEnd: Bool { reader.atEnd }
    public mutating func u8() throws -> UInt8 { try reader.u8("byte") }
    public mutating func bool() throws -> Bool { try reader.u8("flag") != 0 }
    public mutating func u16() throws -> UInt16 { try reader.u16("u16") }
    public mutating func u32() throws -> UInt32 { try reader.u32("u32") }
    public mutating func u64() throws -> UInt64 { try reader.u64("u64") }
    public mutating func optionalU64() throws -> UInt64? { try bool() ? try u64() : nil }
    public mutating func bytes(_ n: Int) throws -> [UInt8] { try reader.bytes(n, "bytes") }
    public mutating func lengthPrefixed() throws -> [UInt8] { try reader.lengthPrefixed("bytes") }
    /// Throws unless every byte was read (a record longer than its layout).
    public func finish() throws {
        guard reader.atEnd else { throw reader.error("\(reader.remaining) bytes past the end of the layout") }
    }
}
