import CCapstone
import VMRRMMU

/// One decoded x86 instruction.
struct Instruction: Equatable {
    var address: UInt64
    var bytes: [UInt8]
    var mnemonic: String
    var operands: String
    /// False for bytes Capstone could not decode (shown as `(bad)`, one byte).
    var valid: Bool = true

    var length: Int { bytes.count }

    /// The direct target of a call or jump (`call 0x100010`), for annotating it with a symbol.
    var branchTarget: UInt64? {
        guard valid, mnemonic.hasPrefix("j") || mnemonic.hasPrefix("call") || mnemonic.hasPrefix("loop") else {
            return nil
        }
        let op = operands.hasPrefix("$") ? String(operands.dropFirst()) : operands
        return op.hasPrefix("0x") ? parseNumber(op) : nil
    }

    /// `mov    %rsp, %rbp`: the mnemonic padded as objdump and gdb pad it.
    var text: String {
        guard !operands.isEmpty else { return mnemonic }
        return mnemonic + String(repeating: " ", count: max(1, 7 - mnemonic.count)) + operands
    }
}

/// Capstone for x86, owned: the handle is closed in deinit. It decodes in
/// the width it is asked for (16, 32 or 64 bits: `CPUMode.bits`).
final class Disassembler {
    enum Syntax: String, Equatable, Sendable {
        case att, intel
    }

    private var handle: csh = 0
    private(set) var syntax: Syntax
    private var bits = 64

    init?(syntax: Syntax = .att) {
        guard cs_open(CS_ARCH_X86, CS_MODE_64, &handle) == CS_ERR_OK else { return nil }
        self.syntax = .intel
        setSyntax(syntax)
    }

    deinit { cs_close(&handle) }

    func setSyntax(_ s: Syntax) {
        let value = s == .att ? CS_OPT_SYNTAX_ATT : CS_OPT_SYNTAX_INTEL
        if cs_option(handle, CS_OPT_SYNTAX, Int(value.rawValue)) == CS_ERR_OK { syntax = s }
    }

    /// Decodes up to `count` instructions from `bytes` at `address`. Undecodable
    /// bytes become one-byte `(bad)` entries, so the listing goes on after them.
    func disassemble(_ bytes: [UInt8], at address: UInt64, count: Int, bits: Int = 64) -> [Instruction] {
        if bits != self.bits {
            let mode = bits == 16 ? CS_MODE_16 : bits == 32 ? CS_MODE_32 : CS_MODE_64
            if cs_option(handle, CS_OPT_MODE, Int(mode.rawValue)) == CS_ERR_OK { self.bits = bits }
        }
        var out: [Instruction] = []
        var offset = 0
        while out.count < count, offset < bytes.count {
            var insn: UnsafeMutablePointer<cs_insn>?
            let want = count - out.count
            // The slice is alive for the whole call, so the base pointer is valid.
            let n = bytes[offset...].withUnsafeBufferPointer { buf in
                cs_disasm(handle, buf.baseAddress, buf.count, address &+ UInt64(offset), want, &insn)
            }
            if n > 0, let insn {
                for k in 0..<n {
                    // `insn` holds `n` entries that Capstone allocated; freed below.
                    let i = insn[k]
                    let size = Int(i.size)
                    let raw = withUnsafeBytes(of: i.bytes) { Array($0.prefix(size)) }
                    out.append(Instruction(address: i.address, bytes: raw,
                                           mnemonic: Self.string(i.mnemonic), operands: Self.string(i.op_str)))
                    offset += size
                }
                cs_free(insn, n)
            } else {
                let b = bytes[offset]
                out.append(Instruction(address: address &+ UInt64(offset), bytes: [b], mnemonic: "(bad)",
                                       operands: "", valid: false))
                offset += 1
            }
        }
        return out
    }

    /// A C `char[N]` tuple as a String, up to its NUL.
    private static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
