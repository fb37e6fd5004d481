import Glibc
@testable import VMRRKVM
import VMRRJournal

/// A VM with one vCPU in 64-bit long mode and a few bytes of code placed by
/// the test: the smallest guest that exercises KVM_RUN and every exit vmrr
/// decodes. Guest RAM is one slot at guest-physical 0; page tables map the
/// first GiB identically with 2 MiB pages, so any address below 1 GiB that
/// no slot backs (`mmioAddress`) is MMIO, and anything at or above 1 GiB
/// (`unmappedAddress`) faults. The IDT is empty (limit 0): any exception
/// the guest takes becomes a triple fault.
final class TinyGuest {
    /// Guest RAM: 2 MiB at guest-physical 0, memory slot 0.
    static let ramSize: UInt64 = 0x20_0000
    static let slot: UInt32 = 0
    /// The page tables: PML4, PDPT, PD (one page each).
    static let pml4: UInt64 = 0x1000
    static let pdpt: UInt64 = 0x2000
    static let pageDirectory: UInt64 = 0x3000
    /// Where the test's code goes, and the stack top.
    static let codeAddress: UInt64 = 0x1_0000
    static let stackTop: UInt64 = 0x8_0000
    /// A guest-physical page the test's code may write (to see it in the dirty log).
    static let dataAddress: UInt64 = 0x5_0000
    /// Identity-mapped, with no memory slot: accesses are MMIO exits.
    static let mmioAddress: UInt64 = 0x1000_0000
    /// Not mapped by the page tables: an access is a page fault.
    static let unmappedAddress: UInt64 = 0x4000_0000

    /// Page-table entry bits.
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let pageSize: UInt64 = 1 << 7
    static let twoMiB: UInt64 = 0x20_0000

    /// The long-mode entry state that works on this host (docs: host facts).
    static let cr0: UInt64 = 0x8005_0033   // PE MP ET NE WP AM PG
    static let cr4: UInt64 = 0x620         // PAE OSFXSR OSXMMEXCPT
    static let efer: UInt64 = 0xd01        // SCE LME LMA NXE
    static let codeSelector: UInt16 = 0x08
    static let dataSelector: UInt16 = 0x10
    static let codeType: UInt8 = 11        // execute/read, accessed
    static let dataType: UInt8 = 3         // read/write, accessed
    static let rflagsReserved: UInt64 = 0x2

    let system: KVMSystem
    let vm: VirtualMachine
    let vcpu: VCPU
    let ram: GuestRAM

    /// Builds the VM and places `code` at `codeAddress`, with RIP there.
    init(code: [UInt8], dirtyLog: Bool = false) throws {
        system = try KVMSystem()
        vm = try system.createVM()
        ram = try GuestRAM(size: Self.ramSize)
        try vm.setUserMemoryRegion(slot: Self.slot, guestPhysical: 0, size: Self.ramSize,
                                   hostAddress: ram.hostAddress(ofRange: 0), flags: dirtyLog ? [.logDirtyPages] : [])
        vcpu = try vm.createVCPU()
        try vcpu.setCPUID(try system.supportedCPUID())
        writePageTables()
        precondition(ram.write(Self.codeAddress, code))
        try vcpu.setSpecialRegisters(Self.longModeState())
        var regs = GPRegisters()
        regs.rip = Self.codeAddress
        regs.rsp = Self.stackTop
        regs.rflags = Self.rflagsReserved
        try vcpu.setRegisters(regs)
    }

    /// PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = 2 MiB page i: the first GiB, identity-mapped.
    func writePageTables() {
        func put(_ gpa: UInt64, _ value: UInt64) {
            precondition(ram.write(gpa, (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }))
        }
        put(Self.pml4, Self.pdpt | Self.present | Self.writable)
        put(Self.pdpt, Self.pageDirectory | Self.present | Self.writable)
        for i: UInt64 in 0..<512 { put(Self.pageDirectory + 8 * i, i * Self.twoMiB | Self.present | Self.writable | Self.pageSize) }
    }

    static func longModeState() -> SpecialRegisters {
        var s = SpecialRegisters()
        s.cs = SegmentRegister(base: 0, limit: 0xffff_ffff, selector: codeSelector, type: codeType, present: true,
                               dpl: 0, db: false, s: true, l: true, g: true)
        let data = SegmentRegister(base: 0, limit: 0xffff_ffff, selector: dataSelector, type: dataType, present: true,
                                   dpl: 0, db: true, s: true, l: false, g: true)
        s.ds = data; s.es = data; s.fs = data; s.gs = data; s.ss = data
        s.tr = SegmentRegister(base: 0, limit: 0x67, selector: 0, type: 11, present: true, dpl: 0, db: false, s: false, l: false, g: false)
        s.ldt.unusable = true
        s.gdt = DescriptorTableRegister(base: 0, limit: 0)
        s.idt = DescriptorTableRegister(base: 0, limit: 0)
        s.cr0 = cr0; s.cr3 = pml4; s.cr4 = cr4; s.efer = efer
        return s
    }

    /// Runs until an exit other than `interrupted`, at most `limit` runs.
    func runToExit(limit: Int = 16) throws -> VMExit {
        for _ in 0..<limit {
            let exit = try vcpu.run()
            if exit != .interrupted { return exit }
        }
        return .interrupted
    }
}

/// x86-64 machine code for the tiny guests, spelled out byte by byte.
enum Code {
    static let hlt: [UInt8] = [0xf4]
    static let nop: [UInt8] = [0x90]
    static let int3: [UInt8] = [0xcc]
    static let rdmsr: [UInt8] = [0x0f, 0x32]
    /// mov al, imm8
    static func movAL(_ v: UInt8) -> [UInt8] { [0xb0, v] }
    /// out imm8, al
    static func outAL(_ port: UInt8) -> [UInt8] { [0xe6, port] }
    /// in al, imm8
    static func inAL(_ port: UInt8) -> [UInt8] { [0xe4, port] }
    /// mov ecx, imm32
    static func movECX(_ v: UInt32) -> [UInt8] { [0xb9] + le(UInt64(v), 4) }
    /// mov edx, imm32 (dx is the port of `rep outsb`)
    static func movEDX(_ v: UInt32) -> [UInt8] { [0xba] + le(UInt64(v), 4) }
    /// mov rbx, imm64
    static func movRBX(_ v: UInt64) -> [UInt8] { [0x48, 0xbb] + le(v, 8) }
    /// mov rsi, imm64
    static func movRSI(_ v: UInt64) -> [UInt8] { [0x48, 0xbe] + le(v, 8) }
    /// mov dword [rbx], imm32
    static func storeToRBX(_ v: UInt32) -> [UInt8] { [0xc7, 0x03] + le(UInt64(v), 4) }
    /// mov eax, dword [rbx]
    static let loadFromRBX: [UInt8] = [0x8b, 0x03]
    /// rep outsb: ECX bytes from [RSI] to port DX
    static let repOutsb: [UInt8] = [0xf3, 0x6e]

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}

/// Probed once for every suite of this target.
let kvmAvailable = KVMSystem.isAvailable
