import CKVM
import VMRRJournal

/// Conversions between KVM's register structs and vmrr's own model.
public enum RegisterConversion {
    static func regs(_ r: kvm_regs) -> GPRegisters {
        var g = GPRegisters()
        g.rip = r.rip; g.rflags = r.rflags
        g.rax = r.rax; g.rcx = r.rcx; g.rdx = r.rdx; g.rsi = r.rsi; g.rdi = r.rdi
        g.rsp = r.rsp; g.rbx = r.rbx; g.rbp = r.rbp
        g.r8 = r.r8; g.r9 = r.r9; g.r10 = r.r10; g.r11 = r.r11
        g.r12 = r.r12; g.r13 = r.r13; g.r14 = r.r14; g.r15 = r.r15
        return g
    }

    static func kvmRegs(_ g: GPRegisters) -> kvm_regs {
        var r = kvm_regs()
        r.rip = g.rip; r.rflags = g.rflags
        r.rax = g.rax; r.rcx = g.rcx; r.rdx = g.rdx; r.rsi = g.rsi; r.rdi = g.rdi
        r.rsp = g.rsp; r.rbx = g.rbx; r.rbp = g.rbp
        r.r8 = g.r8; r.r9 = g.r9; r.r10 = g.r10; r.r11 = g.r11
        r.r12 = g.r12; r.r13 = g.r13; r.r14 = g.r14; r.r15 = g.r15
        return r
    }

    static func segment(_ s: kvm_segment) -> SegmentRegister {
        SegmentRegister(base: s.base, limit: s.limit, selector: s.selector, type: s.type, present: s.present != 0,
                        dpl: s.dpl, db: s.db != 0, s: s.s != 0, l: s.l != 0, g: s.g != 0,
                        avl: s.avl != 0, unusable: s.unusable != 0)
    }

    static func kvmSegment(_ s: SegmentRegister) -> kvm_segment {
        var k = kvm_segment()
        k.base = s.base; k.limit = s.limit; k.selector = s.selector; k.type = s.type
        k.present = s.present ? 1 : 0; k.dpl = s.dpl; k.db = s.db ? 1 : 0; k.s = s.s ? 1 : 0
        k.l = s.l ? 1 : 0; k.g = s.g ? 1 : 0; k.avl = s.avl ? 1 : 0; k.unusable = s.unusable ? 1 : 0
        return k
    }

    static func sregs(_ s: kvm_sregs) -> SpecialRegisters {
        var r = SpecialRegisters()
        r.cs = segment(s.cs); r.ds = segment(s.ds); r.es = segment(s.es)
        r.fs = segment(s.fs); r.gs = segment(s.gs); r.ss = segment(s.ss)
        r.tr = segment(s.tr); r.ldt = segment(s.ldt)
        r.gdt = DescriptorTableRegister(base: s.gdt.base, limit: s.gdt.limit)
        r.idt = DescriptorTableRegister(base: s.idt.base, limit: s.idt.limit)
        r.cr0 = s.cr0; r.cr2 = s.cr2; r.cr3 = s.cr3; r.cr4 = s.cr4; r.cr8 = s.cr8
        r.efer = s.efer; r.apicBase = s.apic_base
        return r
    }

    static func apply(_ r: SpecialRegisters, to s: inout kvm_sregs) {
        s.cs = kvmSegment(r.cs); s.ds = kvmSegment(r.ds); s.es = kvmSegment(r.es)
        s.fs = kvmSegment(r.fs); s.gs = kvmSegment(r.gs); s.ss = kvmSegment(r.ss)
        s.tr = kvmSegment(r.tr); s.ldt = kvmSegment(r.ldt)
        s.gdt.base = r.gdt.base; s.gdt.limit = r.gdt.limit
        s.idt.base = r.idt.base; s.idt.limit = r.idt.limit
        s.cr0 = r.cr0; s.cr2 = r.cr2; s.cr3 = r.cr3; s.cr4 = r.cr4; s.cr8 = r.cr8
        s.efer = r.efer
        if r.apicBase != 0 { s.apic_base = r.apicBase }
    }
}
