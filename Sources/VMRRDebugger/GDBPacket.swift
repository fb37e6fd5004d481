import VMRRBase
/// The gdb remote serial protocol's framing: `$payload#cs`, where cs is the
/// modulo-256 sum of the payload's bytes in two hex digits; `}` escapes `#`,
/// `$`, `}` and `*` (the byte XOR 0x20); `+` and `-` acknowledge; a bare
/// 0x03 byte asks a running target to stop. Pure logic, tested on bytes.
public enum GDBPacket {
    static let start = UInt8(ascii: "$")
    static let end = UInt8(ascii: "#")
    static let escape = UInt8(ascii: "}")
    static let runLength = UInt8(ascii: "*")
    static let escapeXor: UInt8 = 0x20
    static let ack = UInt8(ascii: "+")
    static let nack = UInt8(ascii: "-")
    /// Ctrl-C, sent outside any packet.
    static let interrupt: UInt8 = 3

    /// The modulo-256 sum of `bytes`.
    public static func checksum<S: Sequence>(_ bytes: S) -> UInt8 where S.Element == UInt8 {
        bytes.reduce(0) { $0 &+ $1 }
    }

    /// `payload` framed for the wire, with the bytes that need it escaped.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(payload.count + 4)
        for b in payload {
            if b == start || b == end || b == escape || b == runLength {
                body.append(escape); body.append(b ^ escapeXor)
            } else {
                body.append(b)
            }
        }
        let cs = checksum(body)
        return [start] + body + [end] + Array(hexByte(cs).utf8)
    }

    public static func frame(_ payload: String) -> [UInt8] { frame(Array(payload.utf8)) }

    /// Bytes as lowercase hex, two digits each.
    public static func hex(_ bytes: [UInt8]) -> String { hexBytes(bytes) }

    /// Hex text to bytes; nil when it is not an even number of hex digits.
    public static func unhex<S: StringProtocol>(_ s: S) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Splits the byte stream from gdb into packets, acknowledgements and
/// interrupts. Feed it bytes as they arrive; it never allocates more than
/// one packet's worth (packets longer than `maxPayload` are refused).
public struct GDBPacketDecoder {
    public enum Item: Equatable, Sendable {
        /// A complete packet with a correct checksum (payload unescaped).
        case packet([UInt8])
        /// A packet whose checksum did not match: answer `-`.
        case corrupt(reason: String)
        case ack, nack, interrupt
    }

    enum State { case idle, body, escaped, check1, check2 }
    var state = State.idle
    var body: [UInt8] = []
    var raw: [UInt8] = []
    var check: UInt8 = 0
    public let maxPayload: Int

    public init(maxPayload: Int = 1 << 16) { self.maxPayload = maxPayload }

    /// Consumes one byte; returns an item when one is complete.
    public mutating func feed(_ b: UInt8) -> Item? {
        switch state {
        case .idle:
            switch b {
            case GDBPacket.start: state = .body; body = []; raw = []
            case GDBPacket.ack: return .ack
            case GDBPacket.nack: return .nack
            case GDBPacket.interrupt: return .interrupt
            default: break   // noise between packets is ignored, as gdbserver does
            }
        case .body, .escaped:
            if b == GDBPacket.end && state == .body { state = .check1; return nil }
            raw.append(b)
            if state == .escaped {
                body.append(b ^ GDBPacket.escapeXor); state = .body
            } else if b == GDBPacket.escape {
                state = .escaped
            } else {
                body.append(b)
            }
            if body.count > maxPayload {
                state = .idle
                return .corrupt(reason: "packet longer than \(maxPayload) bytes")
            }
        case .check1:
            guard let n = GDBPacket.nibble(b) else { state = .idle; return .corrupt(reason: "bad checksum digit") }
            check = n << 4; state = .check2
        case .check2:
            state = .idle
            guard let n = GDBPacket.nibble(b) else { return .corrupt(reason: "bad checksum digit") }
            let want = check | n, got = GDBPacket.checksum(raw)
            guard want == got else {
                return .corrupt(reason: "checksum \(hexByte(want)) but the packet sums to \(hexByte(got))")
            }
            return .packet(body)
        }
        return nil
    }
}
