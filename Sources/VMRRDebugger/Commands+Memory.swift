import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
    // MARK: memory

    func examine(_ f: ExamineFormat?, _ e: AddressExpression?, physical: Bool) throws {
        let command = physical ? "xp" : "x"
        let letter = f?.letter ?? examineLetter
        var size = examineSize
        if let s = f?.size { size = s } else if f?.letter == "a" { size = 8 } else if f?.letter == "c" { size = 1 }
        if letter == "a" { size = 8 }
        let count = f?.count ?? 1
        let start: UInt64
        if let e {
            start = try evaluate(e)
        } else if let next = examineNext, next.physical == physical {
            start = next.address
        } else {
            throw DebugError("\(command): missing address: usage: \(command)/FMT \(physical ? "GPA" : "ADDR"), "
                             + "e.g. \(command)/4xg 0x1000")
        }
        examineLetter = letter
        if letter != "s", letter != "i" { examineSize = size }

        func read(_ a: UInt64, _ n: Int) throws -> [UInt8] {
            physical ? try target.readPhysical(a, count: n) : try target.readVirtual(a, count: n)
        }
        func label(_ a: UInt64) -> String {
            physical ? hex(a) + ":" : Render.address(a, symbolic(a)) + ":"
        }

        switch letter {
        case "i":
            let (insns, fromImage) = try physical ? physicalCode(start, count: count) : code(start, count: count)
            if fromImage { out.line(imageNote()) }
            let rip = try? frameRegisters().rip
            for i in insns { out.line(instructionLine(i, marked: !physical && i.address == rip)) }
            examineNext = ((insns.last.map { $0.address &+ UInt64($0.length) }) ?? start, physical)
        case "s":
            var a = start
            for _ in 0..<count {
                var bytes: [UInt8] = []
                var cut = false
                var failure: (any Error)?
                while true {
                    let b: UInt8
                    do { b = try read(a &+ UInt64(bytes.count), 1)[0] } catch { failure = error; break }
                    if b == 0 { break }
                    bytes.append(b)
                    if bytes.count == Self.stringLimit { cut = true; break }
                }
                if let failure, bytes.isEmpty { throw failure }
                out.line(label(a) + "  " + Self.quoted(bytes) + (cut ? "..." : ""))
                if let failure { throw failure }
                a = a &+ UInt64(bytes.count) &+ (cut ? 0 : 1)
            }
            examineNext = (a, physical)
        default:
            let perLine = letter == "a" ? 2 : size >= 8 ? 2 : size == 4 ? 4 : 8
            var a = start
            var left = count
            while left > 0 {
                let n = min(left, perLine)
                let bytes = try read(a, n * size)
                var cells: [String] = []
                for k in 0..<n {
                    var v: UInt64 = 0
                    for j in (0..<size).reversed() { v = v << 8 | UInt64(bytes[k * size + j]) }
                    cells.append(format(v, letter: letter, size: size))
                }
                out.line(label(a) + "  " + cells.joined(separator: "  "))
                a = a &+ UInt64(n * size)
                left -= n
            }
            examineNext = (a, physical)
        }
    }

    static let stringLimit = 200

    func format(_ v: UInt64, letter: Character, size: Int) -> String {
        let bits = size * 8
        switch letter {
        case "d":
            let shift = UInt64(64 - bits)
            return String(Int64(bitPattern: v << shift) >> Int64(shift))
        case "u": return String(v)
        case "o": return v == 0 ? "0" : "0" + String(v, radix: 8)
        case "t":
            let b = String(v, radix: 2)
            return String(repeating: "0", count: max(0, bits - b.count)) + b
        case "a": return Render.address(v, symbolic(v))
        case "c":
            let byte = UInt8(truncatingIfNeeded: v)
            return "\(Int8(bitPattern: byte)) " + Self.quotedChar(byte)
        default:
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, size * 2 - h.count)) + h
        }
    }

    static func escaped(_ b: UInt8, quote: Character) -> String {
        switch b {
        case 0x0a: return "\\n"
        case 0x09: return "\\t"
        case 0x0d: return "\\r"
        case 0x5c: return "\\\\"
        case UInt8(ascii: "\"") where quote == "\"": return "\\\""
        case UInt8(ascii: "'") where quote == "'": return "\\'"
        case 0x20..<0x7f: return String(Character(Unicode.Scalar(b)))
        default:
            let o = String(b, radix: 8)
            return "\\" + String(repeating: "0", count: max(0, 3 - o.count)) + o
        }
    }

    static func quoted(_ bytes: [UInt8]) -> String {
        "\"" + bytes.map { escaped($0, quote: "\"") }.joined() + "\""
    }

    static func quotedChar(_ b: UInt8) -> String { "'" + escaped(b, quote: "'") + "'" }
}
