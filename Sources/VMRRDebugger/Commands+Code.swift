import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
    // MARK: code

    func imageNote() -> String {
        "(code from the guest image file: guest memory is not known at \(target.position))"
    }

    /// Code at a guest-virtual address: from guest memory, else from the image file.
    func code(_ a: UInt64, count: Int) throws -> ([Instruction], Bool) {
        guard let d = disassembler else { throw DebugError("the Capstone disassembler could not be opened") }
        let want = min(count * Self.maxInstructionLength, 1 << 20)
        var bytes: [UInt8]
        var fromImage = false
        do {
            bytes = try target.readVirtual(a, count: want)
        } catch {
            let toPageEnd = Int(Self.pageSize - (a & (Self.pageSize - 1)))
            if toPageEnd < want, let b = try? target.readVirtual(a, count: toPageEnd) {
                bytes = b
            } else if let b = imageCode(a, count: want) {
                bytes = b
                fromImage = true
            } else {
                throw error
            }
        }
        return (d.disassemble(bytes, at: a, count: count, bits: cpuMode.bits), fromImage)
    }

    func physicalCode(_ a: UInt64, count: Int) throws -> ([Instruction], Bool) {
        guard let d = disassembler else { throw DebugError("the Capstone disassembler could not be opened") }
        let want = count * Self.maxInstructionLength
        var bytes: [UInt8]
        do { bytes = try target.readPhysical(a, count: want) } catch {
            let toPageEnd = Int(Self.pageSize - (a & (Self.pageSize - 1)))
            bytes = try target.readPhysical(a, count: toPageEnd)
        }
        return (d.disassemble(bytes, at: a, count: count, bits: cpuMode.bits), false)
    }

    /// The CPU's mode at the current position; 64-bit where the special
    /// registers are not known here (a journal-only target between checkpoints).
    var cpuMode: CPUMode { (try? target.specialRegisters()).map(CPUMode.init) ?? .long64 }

    static let maxInstructionLength = 15
    static let pageSize: UInt64 = 0x1000

    /// Up to `count` bytes of the image's loaded segments at a (link) address.
    func imageCode(_ a: UInt64, count: Int) -> [UInt8]? {
        guard let image else { return nil }
        for s in image.segments where a >= s.vaddr && a - s.vaddr < s.memsz {
            let off = a - s.vaddr
            let n = min(UInt64(max(count, 0)), s.memsz - off)
            return (0..<n).map { k in
                off + k < UInt64(s.fileBytes.count) ? s.fileBytes[s.fileBytes.startIndex + Int(off + k)] : 0
            }
        }
        return nil
    }

    /// "=> 0x100034 <main+18>:  mov    %rsp, %rbp", with call and jump targets symbolized.
    func instructionLine(_ i: Instruction, marked: Bool) -> String {
        (marked ? "=> " : "   ") + Render.address(i.address, symbolic(i.address)) + ":  " + annotated(i)
    }

    func annotated(_ i: Instruction) -> String {
        var text = i.text
        if let t = i.branchTarget, let s = symbolic(t) { text += " <\(s)>" }
        return text
    }

    func disassemble(_ e: AddressExpression?, count: Int?) throws {
        let rip = try? frameRegisters().rip
        let a: UInt64
        if let e { a = try evaluate(e) } else {
            guard let rip else { throw DebugError("disassemble: RIP is not known here: give an address") }
            a = rip
        }
        if count == nil, let f = function(containing: a), f.size <= Self.maxFunctionDump {
            let (insns, fromImage) = try code(f.start, count: Int(f.size))
            if fromImage { out.line(imageNote()) }
            out.line("Dump of assembler code for function \(f.name):")
            for i in insns where i.address < f.start + f.size {
                out.line((i.address == rip ? "=> " : "   ") + hex(i.address, digits: 16) + " <+\(i.address - f.start)>:  "
                         + annotated(i))
            }
            out.line("End of assembler dump.")
            return
        }
        let (insns, fromImage) = try code(a, count: count ?? Self.defaultDisassemblyCount)
        if fromImage { out.line(imageNote()) }
        for i in insns { out.line(instructionLine(i, marked: i.address == rip)) }
    }

    static let maxFunctionDump: UInt64 = 0x4000
    static let defaultDisassemblyCount = 10

    static let pushRBP: [UInt8] = [0x55]
    static let movRSPToRBP: [[UInt8]] = [[0x48, 0x89, 0xe5], [0x48, 0x8b, 0xec]]
    static let ret: [UInt8] = [0xc3]
    static let prologueLimit = 64

    /// Where the return address is when `rip` is in `f` before its frame is
    /// set up (or at its ret); nil when RBP is the frame pointer of `f`.
    /// Decodes `f` from its start to `rip`, as far as its prologue goes.
    func returnSlot(_ f: (name: String, start: UInt64, size: UInt64), rip: UInt64, rsp: UInt64) -> UInt64? {
        guard let (insns, _) = try? code(f.start, count: Self.prologueLimit) else { return nil }
        if insns.first(where: { $0.address == rip })?.bytes == Self.ret { return rsp }
        var pushed = false
        for i in insns {
            if i.address >= rip { break }
            if i.bytes == Self.pushRBP { pushed = true }
            if Self.movRSPToRBP.contains(i.bytes) { return nil }
        }
        return pushed ? rsp &+ 8 : rsp
    }
}
