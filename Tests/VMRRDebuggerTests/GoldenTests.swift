import Foundation
import Testing
import VMRRDebugger
import VMRRTestSupport

/// One golden case: the lines run on a fresh journal-only session over a fixture journal.
struct GoldenCase: CustomTestStringConvertible, Sendable {
    var name: String
    var journal: String
    var lines: [String]
    var testDescription: String { name }
}

/// Every command, as help names it (GrammarTests checks that none is missing).
let helpTopics = [
    "stepi", "next-event", "continue", "reverse-stepi", "prev-event", "reverse-continue", "goto", "break",
    "break-event", "watch", "info breakpoints", "delete", "info registers", "info sregs", "x", "xp", "disassemble",
    "info symbol", "print", "backtrace", "info events", "info checkpoints", "info exits", "info clock", "pt", "ept",
    "walk2d", "shadow", "ptdump", "ptdiff", "set disassembly-flavor", "help", "quit",
]

let goldenCases: [GoldenCase] = [
    GoldenCase(name: "help", journal: "demo", lines: ["help", "help info"] + helpTopics.map { "help " + $0 }
               + ["help si", "help i r", "help disas", "help reverse-c", "help nosuch", "help info nosuch"]),
    GoldenCase(name: "registersAtStart", journal: "paging", lines: ["info registers"]),
    GoldenCase(name: "registersNamed", journal: "paging", lines: [
        "goto 155", "info registers rip rsp eflags", "regs $pc rax", "i r cr3",
        "goto 501", "info registers cr0 cr3 efer cs fs_base"]),
    GoldenCase(name: "sregs", journal: "paging", lines: ["goto 501", "info sregs", "goto 155", "info sregs"]),
    GoldenCase(name: "examine", journal: "paging", lines: [
        "goto 501", "x/4xg $rsp", "x/8xb $rsp", "x/2xw $rsp", "x/3dh $rsp", "x", "x/2ug $rsp", "x/2ag $rsp",
        "x/2o $rsp", "x/tb $rsp", "x/6c 0x1021a0", "x/2s 0x103000", "x/3i $pc", "", "xp/2xg 0x10a000",
        "xp/xg 0x401000", "x/xg 0x600000", "x/xg 0xdead0000", "x/xg 0x8000000000000000"]),
    GoldenCase(name: "disassemble", journal: "paging", lines: [
        "goto 501", "disassemble", "disas main 4", "set disassembly-flavor intel", "disas $pc 3",
        "set disassembly-flavor att", "goto 155", "disas", "x/2i $pc"]),
    GoldenCase(name: "symbols", journal: "paging", lines: [
        "info symbol 0x100034", "info symbol main", "info symbol pml4+8", "info symbol 0x50", "print main+0x10",
        "print $rsp-8", "p/x isr_page_fault"]),
    GoldenCase(name: "backtrace", journal: "paging", lines: ["goto 501", "bt", "bt 1", "goto 802", "bt", "disas", "goto 155", "bt", "goto 0", "bt"]),
    GoldenCase(name: "eventsAround", journal: "paging", lines: [
        "info events", "goto 155", "info events", "info events page_fault",
        "info events io port=0x501", "info events io dir=out port=0x3f8", "info events mmio"]),
    GoldenCase(name: "exits", journal: "timer", lines: ["info exits"]),
    GoldenCase(name: "exitsDemo", journal: "demo", lines: ["info exits"]),
    GoldenCase(name: "clock", journal: "timer", lines: ["info clock"]),
    GoldenCase(name: "noClock", journal: "paging", lines: ["info clock"]),
    GoldenCase(name: "checkpoints", journal: "paging", lines: ["info checkpoints", "goto 501", "info checkpoints"]),
    GoldenCase(name: "breakEvents", journal: "paging", lines: [
        "break-event page_fault gva=0x40000000..0x7fffffffffff", "break-event io port=0x501 dir=out",
        "info breakpoints", "continue", "c", "", "", "c", "rc", "rc", "", "info breakpoints",
        "delete 2", "rc", "rc", "delete", "info breakpoints"]),
    GoldenCase(name: "interruptsAndClock", journal: "timer", lines: [
        "break-event interrupt vector=0x20", "break-event clock value=0x200000..0x300000", "c", "c", "c",
        "rc", "ne 3", "pe 2", "info breakpoints"]),
    GoldenCase(name: "motion", journal: "demo", lines: [
        "next-event", "ne 3", "", "prev-event 2", "pe", "pe 100", "pe", "goto end", "ne", "c", "goto start",
        "rc", "goto 100", "ne 1000", "goto 50", "break-event clock", "ne 100", "pe 100"]),
    GoldenCase(name: "mmu", journal: "paging", lines: [
        "goto 501", "pt 0x600000", "pt serial_puts --fetch", "pt 0xffff800000001000 --user --write", "ptdump",
        "goto 155", "pt", "ptdiff start 501", "ptdiff 0 802 guest", "ept 0x401000", "shadow 0x600000"]),
    GoldenCase(name: "badInput", journal: "paging", lines: [
        "stpi", "rev", "next", "info", "info foo", "frobnicate", "goto 99999", "goto -1", "goto ten",
        "goto 155+3", "si", "rsi 4", "b main", "b mian", "break 0x10z", "watch 0x1000", "watch -p 0x1000 0",
        "x/4q 0x1000", "x/0x 0x10", "x/4xg", "x/4xg $foo", "x/4xg $rsp", "xp/xg 0x100000000",
        "info registers rzz", "break-event foo", "break-event pagefault",
        "break-event io gva=1", "break-event io port=zz", "break-event io port", "break-event", "delete 7",
        "delete x", "disas nosuch", "stepi 0", "ne x", "continue 3", "pt", "pt 0x1000 --bogus", "ptdiff",
        "ptdiff 1 2 3", "set foo", "help nosuch", "ne"]),
]

/// Whether to print the transcripts instead of checking them (to regenerate the goldens).
let printGoldens = ProcessInfo.processInfo.environment["VMRR_PRINT_GOLDENS"] != nil

@Test(arguments: goldenCases)
func golden(_ c: GoldenCase) throws {
    let (session, out) = try Fixtures.session(c.journal)
    let actual = transcript(session, out, c.lines)
    if printGoldens {
        print("=====\(c.name)\n\(actual)=====END")
        return
    }
    let expected = try #require(goldens[c.name], "no golden for \(c.name)")
    #expect(actual == expected + "\n")
    if actual != expected + "\n" {
        // Show the first differing line to make the failure readable.
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = (expected + "\n").split(separator: "\n", omittingEmptySubsequences: false)
        if let k = zip(a, e).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("line \(k + 1): got |\(a[k])| expected |\(e[k])|")
        }
    }
}

let goldens: [String: String] = [
    "help": #"""
        (vmrr 0) help
        vmrr debug: gdb-like commands over a recorded execution. A position is EVENT+INSTRUCTIONS,
        shown in the prompt: (vmrr 155) is right after event 155.

        Moving through the recording (forward and backward):
          stepi, si             Step N guest instructions forward (default 1).
          next-event, ne        Go forward N journal events (default 1).
          continue, c, cont     Run forward to the next breakpoint or watchpoint, or to the end.
          reverse-stepi, rsi    Step N guest instructions backward (default 1).
          prev-event, pe        Go back N journal events (default 1).
          reverse-continue, rc  Run backward to the most recent breakpoint or watchpoint hit, or to the start.
          goto                  Jump to a position in the recording.

        Breakpoints and watchpoints:
          break, b, br           Stop where the guest executes the instruction at an address.
          break-event            Stop at journal events of a kind, narrowed by filters.
          watch                  Stop where memory is written, forward or backward.
          info breakpoints, i b  List the breakpoints and watchpoints with their hit counts.
          delete, d              Delete breakpoints by number, or all of them.

        Registers, memory and code:
          info registers, regs, i r  Show the general registers, or the named ones.
          info sregs                 Show CR0, CR2, CR3, CR4, EFER, the segments, GDT and IDT, with decoded flags.
          x                          Examine guest-virtual memory, as gdb's x does.
          xp                         Examine guest-physical memory (the formats of x).
          disassemble, disas         Disassemble guest code with symbols; => marks RIP.
          info symbol                Name the symbol an address belongs to.
          print, p                   Evaluate an address expression (numbers, symbols, $registers, + and -).
          backtrace, bt, where       Walk the frame-pointer chain from the current position (at most N frames).

        The journal:
          info events       List the journal events around the current position.
          info checkpoints  List the positions where memory and special registers are known.
          info exits        Histogram of the VM exits by kind, port and address over the whole journal.
          info clock        List the paravirtual clock reads with the time between them.

        Address translation (the MMU views):
          pt      Walk the guest page tables for an address.
          ept     Walk a guest-physical address through the EPT (or NPT).
          walk2d  The two-dimensional walk a TLB miss costs.
          shadow  The shadow page-table entry a shadow-paging host would install.
          ptdump  The mappings of one view as merged ranges.
          ptdiff  Mappings added, removed or changed between positions A and B (default: here).

        The session:
          set disassembly-flavor  Choose the disassembly syntax (AT&T by default, as gdb).
          help, h                 List the commands, or describe one.
          quit, q, exit           Leave the debugger (Ctrl-D too).

        help COMMAND describes one. Unique prefixes work (cont, disas). An empty line repeats the last
        stepping command. Ctrl-C stops a running command; Ctrl-D or quit leaves.
        (vmrr 0) help info
        info: show something about the recording or the current position:
          info breakpoints                List the breakpoints and watchpoints with their hit counts.
          info registers [NAME...]        Show the general registers, or the named ones.
          info sregs                      Show CR0, CR2, CR3, CR4, EFER, the segments, GDT and IDT, with decoded flags.
          info symbol ADDR                Name the symbol an address belongs to.
          info events [KIND [FILTER...]]  List the journal events around the current position.
          info checkpoints                List the positions where memory and special registers are known.
          info exits                      Histogram of the VM exits by kind, port and address over the whole journal.
          info clock                      List the paravirtual clock reads with the time between them.
        (vmrr 0) help stepi
        stepi [N]  (alias: si)
          Step N guest instructions forward (default 1). Single-steps the vCPU on KVM and stops early at a
          breakpoint or a watchpoint, or at the end of the recording. Needs execution on KVM.
        (vmrr 0) help next-event
        next-event [N]  (alias: ne)
          Go forward N journal events (default 1). Moves to the state right after the N-th next event: a VM
          exit, an injected interrupt, a page fault, a checkpoint. Stops early at an event breakpoint. Works
          without KVM.
        (vmrr 0) help continue
        continue  (alias: c, cont)
          Run forward to the next breakpoint or watchpoint, or to the end. Ctrl-C stops it at a consistent
          position. Without KVM only event breakpoints (break-event) can stop it.
        (vmrr 0) help reverse-stepi
        reverse-stepi [N]  (alias: rsi)
          Step N guest instructions backward (default 1). Restores the nearest checkpoint before the target
          position and executes forward to it, so the result is exact. Needs execution on KVM.
        (vmrr 0) help prev-event
        prev-event [N]  (alias: pe)
          Go back N journal events (default 1). Stops early at an event breakpoint. Works without KVM.
        (vmrr 0) help reverse-continue
        reverse-continue  (alias: rc)
          Run backward to the most recent breakpoint or watchpoint hit, or to the start. Ctrl-C stops it at a
          consistent position. Without KVM only event breakpoints (break-event) can stop it.
        (vmrr 0) help goto
        goto EVENT[+INSN]|start|end
          Jump to a position in the recording. EVENT is an event index as info events and vmrr dump show it;
          +INSN counts guest instructions single-stepped after that event (needs KVM). start is event 0, end
          the last event. Example: goto 155
        (vmrr 0) help break
        break ADDR|SYMBOL[+OFF]  (alias: b, br)
          Stop where the guest executes the instruction at an address. ADDR is an expression: 0x100034, main,
          main+0x12, *0x100034, $rip+4. Uses one of KVM's four hardware execution breakpoints; needs execution
          on KVM.
        (vmrr 0) help break-event
        break-event KIND [FILTER...]
          Stop at journal events of a kind, narrowed by filters. KIND: io, mmio, hlt, shutdown, page_fault,
          stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist. FILTER:
          port=0x3f8, gva=0x4000..0x8000, gpa=ADDR[..ADDR], vector=0x20, msr=0x1b, value=N[..M],
          dir=in|out|read|write. Stops forward (continue, next-event) and backward (reverse-continue,
          prev-event), without KVM too. Example: break-event io port=0x3f8 dir=out
        (vmrr 0) help watch
        watch [-p] ADDR [LEN]
          Stop where memory is written, forward or backward. Watches LEN bytes (default 8, within one page) at
          a guest-virtual address, translated to guest-physical at the current position; -p takes a
          guest-physical address. Needs execution on KVM.
        (vmrr 0) help info breakpoints
        info breakpoints  (alias: i b)
          List the breakpoints and watchpoints with their hit counts.
        (vmrr 0) help delete
        delete [N...]  (alias: d)
          Delete breakpoints by number, or all of them.
        (vmrr 0) help info registers
        info registers [NAME...]  (alias: regs, i r)
          Show the general registers, or the named ones. NAME: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip
          eflags (also rflags, pc, sp, fp), and cr0 cr2 cr3 cr4 cr8 efer where the special registers are
          known. The general registers are known at every event.
        (vmrr 0) help info sregs
        info sregs
          Show CR0, CR2, CR3, CR4, EFER, the segments, GDT and IDT, with decoded flags. Without KVM they are
          known at checkpoints only (info checkpoints).
        (vmrr 0) help x
        x/FMT ADDR
          Examine guest-virtual memory, as gdb's x does. FMT is a count, a format letter (x hex, d signed, u
          unsigned, o octal, t binary, a address, c char, s string, i instruction) and a size letter (b byte,
          h 2 bytes, w 4 bytes, g 8 bytes): x/4xg $rsp, x/s 0x1021a0, x/5i $pc. The format and size are
          remembered; x without an address goes on after the last one shown. Without KVM memory is known at
          checkpoints only.
        (vmrr 0) help xp
        xp/FMT GPA
          Examine guest-physical memory (the formats of x).
        (vmrr 0) help disassemble
        disassemble [ADDR [N]]  (alias: disas)
          Disassemble guest code with symbols; => marks RIP. Without ADDR: the function around RIP. With ADDR:
          the function that contains it, or N instructions from ADDR. AT&T syntax (set disassembly-flavor
          intel switches). Where memory is not known, code is read from the guest image file.
        (vmrr 0) help info symbol
        info symbol ADDR
          Name the symbol an address belongs to.
        (vmrr 0) help print
        print EXPR  (alias: p)
          Evaluate an address expression (numbers, symbols, $registers, + and -).
        (vmrr 0) help backtrace
        backtrace [N]  (alias: bt, where)
          Walk the frame-pointer chain from the current position (at most N frames). Follows RBP: the saved
          RBP at [rbp], the return address at [rbp+8], each return address symbolized. Needs memory (a
          checkpoint, without KVM) and a guest built with frame pointers; says where and why the walk stops.
        (vmrr 0) help info events
        info events [KIND [FILTER...]]
          List the journal events around the current position. With KIND and filters (as break-event takes
          them): the matching events nearest to the position, and how many match in all. => marks the current
          event.
        (vmrr 0) help info checkpoints
        info checkpoints
          List the positions where memory and special registers are known.
        (vmrr 0) help info exits
        info exits
          Histogram of the VM exits by kind, port and address over the whole journal.
        (vmrr 0) help info clock
        info clock
          List the paravirtual clock reads with the time between them.
        (vmrr 0) help pt
        pt GVA [--user|--implicit] [--write|--fetch]
          Walk the guest page tables for GVA, showing every level (table, index, entry, flags, effective
          rights) and the GPA or the #PF error code. Default access: supervisor read; --user, --implicit,
          --write, --fetch choose another.
        (vmrr 0) help ept
        ept GPA [--npt]
          Walk GPA through the EPT (or NPT) that vmrr's memory slots amount to, ending at the host virtual
          address and host frame.
        (vmrr 0) help walk2d
        walk2d GVA [--npt] [--user|--implicit] [--write|--fetch]
          The two-dimensional walk a TLB miss costs: every guest table reference translated through the EPT,
          memory references numbered 1..N.
        (vmrr 0) help shadow
        shadow GVA | shadow dump
          The shadow page-table entry a shadow-paging hypervisor would install for GVA. shadow dump: the whole
          shadow table as ranges, with the pages it needs.
        (vmrr 0) help ptdump
        ptdump [guest|ept|npt|shadow]
          The mappings of one view as merged ranges (start-end size flags level target).
        (vmrr 0) help ptdiff
        ptdiff A [B] [guest|ept|npt|shadow]
          Mappings added, removed or changed between positions A and B (default: here). A and B are positions
          as goto takes them. Example: ptdiff start end
        (vmrr 0) help set disassembly-flavor
        set disassembly-flavor att|intel
          Choose the disassembly syntax (AT&T by default, as gdb).
        (vmrr 0) help help
        help [COMMAND]  (alias: h)
          List the commands, or describe one.
        (vmrr 0) help quit
        quit  (alias: q, exit)
          Leave the debugger (Ctrl-D too).
        (vmrr 0) help si
        stepi [N]  (alias: si)
          Step N guest instructions forward (default 1). Single-steps the vCPU on KVM and stops early at a
          breakpoint or a watchpoint, or at the end of the recording. Needs execution on KVM.
        (vmrr 0) help i r
        info registers [NAME...]  (alias: regs, i r)
          Show the general registers, or the named ones. NAME: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip
          eflags (also rflags, pc, sp, fp), and cr0 cr2 cr3 cr4 cr8 efer where the special registers are
          known. The general registers are known at every event.
        (vmrr 0) help disas
        disassemble [ADDR [N]]  (alias: disas)
          Disassemble guest code with symbols; => marks RIP. Without ADDR: the function around RIP. With ADDR:
          the function that contains it, or N instructions from ADDR. AT&T syntax (set disassembly-flavor
          intel switches). Where memory is not known, code is read from the guest image file.
        (vmrr 0) help reverse-c
        reverse-continue  (alias: rc)
          Run backward to the most recent breakpoint or watchpoint hit, or to the start. Ctrl-C stops it at a
          consistent position. Without KVM only event breakpoints (break-event) can stop it.
        (vmrr 0) help nosuch
        help: unknown command 'nosuch': help lists the commands
        (vmrr 0) help info nosuch
        help: unknown info command 'nosuch': expected one of breakpoints, registers, sregs, symbol, events, checkpoints, exits, clock
        """#,
    "registersAtStart": #"""
        (vmrr 0) info registers
        rax            0x0                0
        rbx            0x0                0
        rcx            0x0                0
        rdx            0x0                0
        rsi            0x0                0
        rdi            0x4000000          67108864
        rbp            0x0                0x0
        rsp            0x80000            0x80000
        r8             0x0                0
        r9             0x0                0
        r10            0x0                0
        r11            0x0                0
        r12            0x0                0
        r13            0x0                0
        r14            0x0                0
        r15            0x0                0
        rip            0x100000           0x100000 <_start>
        eflags         0x2                [ ]
        cs             0x8                8
        ss             0x10               16
        ds             0x10               16
        es             0x10               16
        fs             0x10               16
        gs             0x10               16
        fs_base        0x0                0
        gs_base        0x0                0
        """#,
    "registersNamed": #"""
        (vmrr 0) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) info registers rip rsp eflags
        rip            0x100900           0x100900 <isr_page_fault>
        rsp            0x7ffa0            0x7ffa0
        eflags         0x46               [ PF ZF ]
        (vmrr 155) regs $pc rax
        rip            0x100900           0x100900 <isr_page_fault>
        rax            0x600000           6291456
        (vmrr 155) i r cr3
        special registers at event 155 need a replay on KVM; the nearest checkpoint is 0 at event 0: goto 0
        (vmrr 155) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) info registers cr0 cr3 efer cs fs_base
        cr0            0x80050033         [ PG AM WP NE ET MP PE ]
        cr3            0x10a000           [ PDBR=0x10a000 ]
        efer           0xd01              [ NXE LMA LME SCE ]
        cs             0x8                8
        fs_base        0x0                0
        """#,
    "sregs": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) info sregs
        cr0            0x80050033         [ PG AM WP NE ET MP PE ]
        cr2            0x7f0000000000     0x7f0000000000
        cr3            0x10a000           [ PDBR=0x10a000 ]
        cr4            0x620              [ OSXMMEXCPT OSFXSR PAE ]
        cr8            0x0                0
        efer           0xd01              [ NXE LMA LME SCE ]
        apic_base      0xfee00900         [ EN BSP base=0xfee00000 ]
        gdt            0x1000             limit 0x27
        idt            0x10c000           limit 0xfff

        seg  selector  base    limit       type                              dpl  attributes
        cs   0x8       0x0     0xffffffff  0xb code, execute/read, accessed  0    P S L G
        ss   0x10      0x0     0xffffffff  0x3 data, read/write, accessed    0    P S DB G
        ds   0x10      0x0     0xffffffff  0x3 data, read/write, accessed    0    P S DB G
        es   0x10      0x0     0xffffffff  0x3 data, read/write, accessed    0    P S DB G
        fs   0x10      0x0     0xffffffff  0x3 data, read/write, accessed    0    P S DB G
        gs   0x10      0x0     0xffffffff  0x3 data, read/write, accessed    0    P S DB G
        tr   0x18      0x2000  0x67        0xb 64-bit TSS (busy)             0    P
        ldt  0x0       0x0     0x0         0x2 LDT                           0    unusable
        (vmrr 501) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) info sregs
        special registers at event 155 need a replay on KVM; the nearest checkpoint is 0 at event 0: goto 0
        """#,
    "examine": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) x/4xg $rsp
        0x7ffc8:  0x00000000001006d3  0x0000000000000000
        0x7ffd8:  0x0000000000000000  0x0000000000000000
        (vmrr 501) x/8xb $rsp
        0x7ffc8:  0xd3  0x06  0x10  0x00  0x00  0x00  0x00  0x00
        (vmrr 501) x/2xw $rsp
        0x7ffc8:  0x001006d3  0x00000000
        (vmrr 501) x/3dh $rsp
        0x7ffc8:  1747  16  0
        (vmrr 501) x
        0x7ffce:  0
        (vmrr 501) x/2ug $rsp
        0x7ffc8:  1050323  0
        (vmrr 501) x/2ag $rsp
        0x7ffc8:  0x1006d3 <main+499>  0x0
        (vmrr 501) x/2o $rsp
        0x7ffc8:  04003323  0
        (vmrr 501) x/tb $rsp
        0x7ffc8:  11010011
        (vmrr 501) x/6c 0x1021a0
        0x1021a0 <fault_gvas>:  0 '\000'  0 '\000'  96 '`'  0 '\000'  0 '\000'  0 '\000'
        (vmrr 501) x/2s 0x103000
        0x103000 <vmrr_guest_protocol_version>:  "\001"
        0x103002 <vmrr_guest_protocol_version+2>:  ""
        (vmrr 501) x/3i $pc
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
           0x100060 <serial_puts+48>:  testb  %sil, %sil
           0x100063 <serial_puts+51>:  jne    0x100048 <serial_puts+24>
        (vmrr 501)
           0x100065 <serial_puts+53>:  retq
           0x100066:  nopw   %cs:(%rax, %rax)
           0x100070 <serial_put_hex>:  pushq  %rbp
        (vmrr 501) xp/2xg 0x10a000
        0x10a000:  0x0000000000109023  0x0000000000000000
        (vmrr 501) xp/xg 0x401000
        0x401000:  0x5ca1ab1e00000001
        (vmrr 501) x/xg 0x600000
        0x600000:  0x5ca1ab1e00000001
        (vmrr 501) x/xg 0xdead0000
        cannot read memory at 0xdead0000: PDPTE 3 is not present (#PF, error code 0x0000)
        (vmrr 501) x/xg 0x8000000000000000
        cannot read memory at 0x8000000000000000: 0x8000000000000000 is not canonical for 4-level paging: bits 63:47 must all equal bit 47; the CPU raises #GP(0) (#SS for stack accesses), not #PF
        """#,
    "disassemble": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) disassemble
        Dump of assembler code for function serial_puts:
           0x0000000000100030 <+0>:  movzbl (%rdi), %esi
           0x0000000000100033 <+3>:  testb  %sil, %sil
           0x0000000000100036 <+6>:  je     0x100065 <serial_puts+53>
           0x0000000000100038 <+8>:  movl   $0x3fd, %ecx
           0x000000000010003d <+13>:  movl   $0x3f8, %r8d
           0x0000000000100043 <+19>:  nopl   (%rax, %rax)
           0x0000000000100048 <+24>:  addq   $1, %rdi
           0x000000000010004c <+28>:  nopl   (%rax)
           0x0000000000100050 <+32>:  movl   %ecx, %edx
           0x0000000000100052 <+34>:  inb    %dx, %al
           0x0000000000100053 <+35>:  testb  $0x20, %al
           0x0000000000100055 <+37>:  je     0x100050 <serial_puts+32>
           0x0000000000100057 <+39>:  movl   %esi, %eax
           0x0000000000100059 <+41>:  movl   %r8d, %edx
           0x000000000010005c <+44>:  outb   %al, %dx
        => 0x000000000010005d <+45>:  movzbl (%rdi), %esi
           0x0000000000100060 <+48>:  testb  %sil, %sil
           0x0000000000100063 <+51>:  jne    0x100048 <serial_puts+24>
           0x0000000000100065 <+53>:  retq
        End of assembler dump.
        (vmrr 501) disas main 4
           0x1004e0 <main>:  movl   $0x109000, %eax
           0x1004e5 <main+5>:  pushq  %rbp
           0x1004e6 <main+6>:  orq    $3, %rax
           0x1004ea <main+10>:  movq   %rax, 0x9b0f(%rip)
        (vmrr 501) set disassembly-flavor intel
        (vmrr 501) disas $pc 3
        => 0x10005d <serial_puts+45>:  movzx  esi, byte ptr [rdi]
           0x100060 <serial_puts+48>:  test   sil, sil
           0x100063 <serial_puts+51>:  jne    0x100048 <serial_puts+24>
        (vmrr 501) set disassembly-flavor att
        (vmrr 501) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) disas
        (code from the guest image file: guest memory is not known at 155)
        Dump of assembler code for function isr_page_fault:
        => 0x0000000000100900 <+0>:  pushq  $0xe
           0x0000000000100902 <+2>:  jmp    0x101820 <isr_common>
           0x0000000000100907 <+7>:  nopw   (%rax, %rax)
        End of assembler dump.
        (vmrr 155) x/2i $pc
        (code from the guest image file: guest memory is not known at 155)
        => 0x100900 <isr_page_fault>:  pushq  $0xe
           0x100902 <isr_page_fault+2>:  jmp    0x101820 <isr_common>
        """#,
    "symbols": #"""
        (vmrr 0) info symbol 0x100034
        serial_puts + 4
        (vmrr 0) info symbol main
        main
        (vmrr 0) info symbol pml4+8
        pml4 + 8
        (vmrr 0) info symbol 0x50
        No symbol matches 0x50.
        (vmrr 0) print main+0x10
        = 0x1004f0 (1049840) <main+16>
        (vmrr 0) print $rsp-8
        = 0x7fff8 (524280)
        (vmrr 0) p/x isr_page_fault
        = 0x100900 (1050880) <isr_page_fault>
        """#,
    "backtrace": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) bt
        #0  0x000000000010005d in serial_puts+45
        #1  0x00000000001006d3 in main+499
        #2  0x0000000000100007 in _start+7
        (frame 1 is the return address at 0x7ffc8: serial_puts has not set up its frame at 0x10005d)
        Backtrace stopped: rbp is 0 (the outermost frame, or code built without frame pointers)
        (vmrr 501) bt 1
        #0  0x000000000010005d in serial_puts+45
        (More stack frames follow...)
        (vmrr 501) goto 802
        #    802  rip=0x0000000000100218  checkpoint   id=2
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 802) bt
        #0  0x0000000000100218 in vmrr_exit+8
        #1  0x000000000010000f in _start+15
        (frame 1 is the return address at 0x7fff8: vmrr_exit has not set up its frame at 0x100218)
        Backtrace stopped: rbp is 0 (the outermost frame, or code built without frame pointers)
        (vmrr 802) disas
        Dump of assembler code for function vmrr_exit:
           0x0000000000100210 <+0>:  movl   $0x501, %edx
           0x0000000000100215 <+5>:  movl   %edi, %eax
           0x0000000000100217 <+7>:  outb   %al, %dx
        => 0x0000000000100218 <+8>:  nopl   (%rax, %rax)
           0x0000000000100220 <+16>:  cli
           0x0000000000100221 <+17>:  hlt
           0x0000000000100222 <+18>:  jmp    0x100220 <vmrr_exit+16>
        End of assembler dump.
        (vmrr 802) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) bt
        #0  0x0000000000100900 in isr_page_fault
        Backtrace stopped: cannot read the frame at rbp 0x7fff0: memory at event 155 needs a replay on KVM; the nearest checkpoint is 0 at event 0: goto 0
        (vmrr 155) goto 0
        #      0  rip=0x0000000000100000  checkpoint   id=0
        => 0x100000 <_start>:  xorl   %ebp, %ebp
        (vmrr 0) bt
        #0  0x0000000000100000 in _start
        Backtrace stopped: rbp is 0 (the outermost frame, or code built without frame pointers)
        """#,
    "eventsAround": #"""
        (vmrr 0) info events
        => #      0  rip=0x0000000000100000  checkpoint   id=0
           #      1  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #      2  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x70 'p'
           #      3  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #      4  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x61 'a'
           #      5  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #      6  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x67 'g'
           #      7  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #      8  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x69 'i'
           #      9  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #     10  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6e 'n'
        (vmrr 0) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) info events
           #    150  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6f 'o'
           #    151  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #    152  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6b 'k'
           #    153  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #    154  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0xa '\n'
        => #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
           #    156  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #    157  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x70 'p'
           #    158  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
           #    159  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x61 'a'
           #    160  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        (vmrr 155) info events page_fault
        5 events match page_fault:
        => #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
           #    266  rip=0x0000000000100900  page_fault   gva=0x40000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
           #    381  rip=0x0000000000100900  page_fault   gva=0x40001008 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
           #    496  rip=0x0000000000100900  page_fault   gva=0x7f0000000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
           #    620  rip=0x0000000000100900  page_fault   gva=0xffff800000005000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        (vmrr 155) info events io port=0x501
        1 event matches io port=0x501:
        => (event 155)
           #    801  rip=0x0000000000100218  io           out port=0x501 size=1 value=0x0
        (vmrr 155) info events io dir=out port=0x3f8
        397 events match io port=0x3f8 dir=out; the 10 nearest to event 155:
           #    146  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x66 'f'
           #    148  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x20 ' '
           #    150  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6f 'o'
           #    152  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6b 'k'
           #    154  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0xa '\n'
        => (event 155)
           #    157  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x70 'p'
           #    159  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x61 'a'
           #    161  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x67 'g'
           #    163  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x69 'i'
           #    165  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6e 'n'
        (vmrr 155) info events mmio
        No events match mmio.
        """#,
    "exits": #"""
        (vmrr 0) info exits
        673 exits in 687 events:
          io                633  94.1%
            out port 0x3f8  316  47.0%
            in  port 0x3fd  316  47.0%
            out port 0x501    1   0.1%
          clock              20   3.0%
          hlt                10   1.5%
          timer              10   1.5%
        Other events: interrupt 10, checkpoint 3, end 1
        """#,
    "exitsDemo": #"""
        (vmrr 0) info exits
        293 exits in 296 events:
          io                291  99.3%
            out port 0x3f8  145  49.5%
            in  port 0x3fd  145  49.5%
            out port 0x501    1   0.3%
          clock               2   0.7%
        Other events: checkpoint 2, end 1
        """#,
    "clock": #"""
        (vmrr 0) info clock
        20 clock reads (virtual clock):
          event  rip             ns     delta
             37  0x1001f0     37000
             41  0x1001f0   1038000  +1001000
             98  0x1001f0   1095000    +57000
            102  0x1001f0   2096000  +1001000
            159  0x1001f0   2153000    +57000
            163  0x1001f0   3154000  +1001000
            220  0x1001f0   3211000    +57000
            224  0x1001f0   4212000  +1001000
            281  0x1001f0   4269000    +57000
            285  0x1001f0   5270000  +1001000
            342  0x1001f0   5327000    +57000
            346  0x1001f0   6328000  +1001000
            403  0x1001f0   6385000    +57000
            407  0x1001f0   7386000  +1001000
            464  0x1001f0   7443000    +57000
            468  0x1001f0   8444000  +1001000
            526  0x1001f0   8501000    +57000
            530  0x1001f0   9502000  +1001000
            587  0x1001f0   9559000    +57000
            591  0x1001f0  10560000  +1001000
        """#,
    "noClock": #"""
        (vmrr 0) info clock
        No clock reads in this journal (virtual clock).
        """#,
    "checkpoints": #"""
        (vmrr 0) info checkpoints
        Checkpoints in the journal:
            id  event  memory
        =>   0      0  full image
             1    501  pages written since checkpoint 0
             2    802  pages written since checkpoint 1
        Without KVM, memory, special registers and the MMU views are known at these events only.
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) info checkpoints
        Checkpoints in the journal:
            id  event  memory
             0      0  full image
        =>   1    501  pages written since checkpoint 0
             2    802  pages written since checkpoint 1
        Without KVM, memory, special registers and the MMU views are known at these events only.
        """#,
    "breakEvents": #"""
        (vmrr 0) break-event page_fault gva=0x40000000..0x7fffffffffff
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        (vmrr 0) break-event io port=0x501 dir=out
        Event breakpoint 2: io port=0x501 dir=out
        (vmrr 0) info breakpoints
        Num  Type   Hits  What
        1    event  0     page_fault gva=0x40000000..0x7fffffffffff
        2    event  0     io port=0x501 dir=out
        (vmrr 0) continue
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        #    266  rip=0x0000000000100900  page_fault   gva=0x40000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 266) c
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        #    381  rip=0x0000000000100900  page_fault   gva=0x40001008 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 381)
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        #    496  rip=0x0000000000100900  page_fault   gva=0x7f0000000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 496)
        Event breakpoint 2: io port=0x501 dir=out
        #    801  rip=0x0000000000100218  io           out port=0x501 size=1 value=0x0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 801) c
        Reached the end of the recorded history.
        #    803  rip=0x0000000000100218  end          reason=debug-exit status=0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 803) rc
        Event breakpoint 2: io port=0x501 dir=out
        #    801  rip=0x0000000000100218  io           out port=0x501 size=1 value=0x0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 801) rc
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        #    496  rip=0x0000000000100900  page_fault   gva=0x7f0000000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 496)
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        #    381  rip=0x0000000000100900  page_fault   gva=0x40001008 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 381) info breakpoints
        Num  Type   Hits  What
        1    event  5     page_fault gva=0x40000000..0x7fffffffffff
        2    event  2     io port=0x501 dir=out
        (vmrr 381) delete 2
        (vmrr 381) rc
        Event breakpoint 1: page_fault gva=0x40000000..0x7fffffffffff
        #    266  rip=0x0000000000100900  page_fault   gva=0x40000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 266) rc
        No more reverse-execution history.
        #      0  rip=0x0000000000100000  checkpoint   id=0
        => 0x100000 <_start>:  xorl   %ebp, %ebp
        (vmrr 0) delete
        (vmrr 0) info breakpoints
        No breakpoints or watchpoints.
        """#,
    "interruptsAndClock": #"""
        (vmrr 0) break-event interrupt vector=0x20
        Event breakpoint 1: interrupt vector=0x20
        (vmrr 0) break-event clock value=0x200000..0x300000
        Event breakpoint 2: clock value=0x200000..0x300000
        (vmrr 0) c
        Event breakpoint 1: interrupt vector=0x20
        #     40  rip=0x0000000000100333  interrupt    vector=0x20
        => 0x100333 <main+51>:  cli
        (vmrr 40) c
        Event breakpoint 1: interrupt vector=0x20
        #    101  rip=0x0000000000100333  interrupt    vector=0x20
        => 0x100333 <main+51>:  cli
        (vmrr 101) c
        Event breakpoint 2: clock value=0x200000..0x300000
        #    159  rip=0x00000000001001f0  clock        ns=2153000
        => 0x1001f0 <clock_ns>:  movabsq 0xfeb00000, %rax
        (vmrr 159) rc
        Event breakpoint 1: interrupt vector=0x20
        #    101  rip=0x0000000000100333  interrupt    vector=0x20
        => 0x100333 <main+51>:  cli
        (vmrr 101) ne 3
        #    104  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x74 't'
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 104) pe 2
        #    102  rip=0x00000000001001f0  clock        ns=2096000
        => 0x1001f0 <clock_ns>:  movabsq 0xfeb00000, %rax
        (vmrr 102) info breakpoints
        Num  Type   Hits  What
        1    event  3     interrupt vector=0x20
        2    event  1     clock value=0x200000..0x300000
        """#,
    "motion": #"""
        (vmrr 0) next-event
        #      1  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        (vmrr 1) ne 3
        #      4  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6d 'm'
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 4)
        #      7  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        (vmrr 7) prev-event 2
        #      5  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        (vmrr 5) pe
        #      4  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x6d 'm'
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 4) pe 100
        No more reverse-execution history.
        #      0  rip=0x0000000000100000  checkpoint   id=0
        => 0x100000 <_start>:  xorl   %ebp, %ebp
        (vmrr 0) pe
        No more reverse-execution history.
        #      0  rip=0x0000000000100000  checkpoint   id=0
        => 0x100000 <_start>:  xorl   %ebp, %ebp
        (vmrr 0) goto end
        #    295  rip=0x0000000000100218  end          reason=debug-exit status=0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 295) ne
        Reached the end of the recorded history.
        #    295  rip=0x0000000000100218  end          reason=debug-exit status=0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 295) c
        Reached the end of the recorded history.
        #    295  rip=0x0000000000100218  end          reason=debug-exit status=0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 295) goto start
        #      0  rip=0x0000000000100000  checkpoint   id=0
        => 0x100000 <_start>:  xorl   %ebp, %ebp
        (vmrr 0) rc
        No more reverse-execution history.
        #      0  rip=0x0000000000100000  checkpoint   id=0
        => 0x100000 <_start>:  xorl   %ebp, %ebp
        (vmrr 0) goto 100
        #    100  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0xa '\n'
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 100) ne 1000
        Reached the end of the recorded history.
        #    295  rip=0x0000000000100218  end          reason=debug-exit status=0
        => 0x100218 <vmrr_exit+8>:  nopl   (%rax, %rax)
        (vmrr 295) goto 50
        #     50  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x72 'r'
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 50) break-event clock
        Event breakpoint 1: clock
        (vmrr 50) ne 100
        Event breakpoint 1: clock
        #    101  rip=0x00000000001001f0  clock        ns=101000
        => 0x1001f0 <clock_ns>:  movabsq 0xfeb00000, %rax
        (vmrr 101) pe 100
        #      1  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        """#,
    "mmu": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) pt 0x600000
        pt 0x0000000000600000: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor read, at checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags     effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A    RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A    RW kern x
          PDE    0x0000000000108000      3  0x0000000000108018  0x0000000000400023  P RW A    RW kern x
          PTE    0x0000000000400000      0  0x0000000000400000  0x0000000000401063  P RW A D  RW kern x
          => gpa 0x0000000000401000 (4K page 0x0000000000401000 + 0x0): RW kern x
        (vmrr 501) pt serial_puts --fetch
        pt 0x0000000000100030: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor fetch, at checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags   effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A  RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A  RW kern x
          PDE    0x0000000000108000      0  0x0000000000108000  0x0000000000107023  P RW A  RW kern x
          PTE    0x0000000000107000    256  0x0000000000107800  0x0000000000100023  P RW A  RW kern x
          => gpa 0x0000000000100030 (4K page 0x0000000000100000 + 0x30): RW kern x
        (vmrr 501) pt 0xffff800000001000 --user --write
        pt 0xffff800000001000: 4-level paging (CR3 0x000000000010a000; WP NXE), user write, at checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags        effective
          PML4E  0x000000000010a000    256  0x000000000010a800  0x0000000000106023  P RW A       RW kern x
          PDPTE  0x0000000000106000      0  0x0000000000106000  0x0000000000105023  P RW A       RW kern x
          PDE    0x0000000000105000      0  0x0000000000105000  0x0000000000104023  P RW A       RW kern x
          PTE    0x0000000000104000      1  0x0000000000104008  0x8000000000301063  P RW A D NX  RW kern NX
          => #PF, error code 0x0007 (P W U) at PTE: user write of a supervisor page (U/S=0 at PML4E)
        (vmrr 501) ptdump
        ptdump guest: 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          ---[ lower half ]---
          0x0000000000001000-0x0000000000200000  2044K  RW kern x     PTE  -> gpa 0x0000000000001000
          0x0000000000200000-0x0000000000600000     4M  RW kern x     PDE  -> gpa 0x0000000000200000
          0x0000000000600000-0x0000000000601000     4K  RW kern x     PTE  -> gpa 0x0000000000401000
          0x0000000040000000-0x0000000040002000     8K  RW kern x     PTE  -> gpa 0x0000000000404000
          0x00007f0000000000-0x00007f0000001000     4K  RW kern x     PTE  -> gpa 0x0000000000409000
          ---[ upper half ]---
          0xffff800000000000-0xffff800000004000    16K  RW kern NX    PTE  -> gpa 0x0000000000300000
          0xffff800000200000-0xffff800000400000     2M  RW kern NX    PDE  -> gpa 0x0000000000200000

        7 ranges, 8220K mapped by 522 leaf entries in 13 table pages
        (vmrr 501) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) pt
        page fault at event 155: gva 0x600000, error code 0x2
        pt 0x0000000000600000: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor write, at checkpoint 0 (event 0), the nearest at or before 155: replaying to the exact position needs /dev/kvm
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags  effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000000000         -
          => #PF, error code 0x0002 (W) at PML4E: PML4E 0 is not present
        (vmrr 155) ptdiff start 501
        ptdiff guest: checkpoint 0 (event 0) -> checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          -  0x0000000000000000-0x0000000000001000        4K  RW kern x     PDE  -> gpa 0x0000000000000000
          ~  0x0000000000001000-0x0000000000200000     2044K  RW kern x     PTE  -> gpa 0x0000000000001000
             was                                       2044K  RW kern x     PDE  -> gpa 0x0000000000001000
          ~  0x0000000000600000-0x0000000000601000        4K  RW kern x     PTE  -> gpa 0x0000000000401000
             was                                          4K  RW kern x     PDE  -> gpa 0x0000000000600000
          -  0x0000000000601000-0x0000000040000000  1042428K  RW kern x     PDE  -> gpa 0x0000000000601000
          ~  0x0000000040000000-0x0000000040002000        8K  RW kern x     PTE  -> gpa 0x0000000000404000
             was                                          8K  RW kern x     PDE  -> gpa 0x0000000040000000
          -  0x0000000040002000-0x0000000100000000  3145720K  RW kern x     PDE  -> gpa 0x0000000040002000
          +  0x00007f0000000000-0x00007f0000001000        4K  RW kern x     PTE  -> gpa 0x0000000000409000
          +  0xffff800000000000-0xffff800000004000       16K  RW kern NX    PTE  -> gpa 0x0000000000300000
          +  0xffff800000200000-0xffff800000400000        2M  RW kern NX    PDE  -> gpa 0x0000000000200000

        3 added, 3 removed, 3 changed
        (vmrr 155) ptdiff 0 802 guest
        ptdiff guest: checkpoint 0 (event 0) -> checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          -  0x0000000000000000-0x0000000000001000        4K  RW kern x     PDE  -> gpa 0x0000000000000000
          ~  0x0000000000001000-0x0000000000200000     2044K  RW kern x     PTE  -> gpa 0x0000000000001000
             was                                       2044K  RW kern x     PDE  -> gpa 0x0000000000001000
          ~  0x0000000000600000-0x0000000000601000        4K  RW kern x     PTE  -> gpa 0x0000000000401000
             was                                          4K  RW kern x     PDE  -> gpa 0x0000000000600000
          -  0x0000000000601000-0x0000000040000000  1042428K  RW kern x     PDE  -> gpa 0x0000000000601000
          ~  0x0000000040000000-0x0000000040002000        8K  RW kern x     PTE  -> gpa 0x0000000000404000
             was                                          8K  RW kern x     PDE  -> gpa 0x0000000040000000
          -  0x0000000040002000-0x0000000100000000  3145720K  RW kern x     PDE  -> gpa 0x0000000040002000
          +  0x00007f0000000000-0x00007f0000001000        4K  RW kern x     PTE  -> gpa 0x0000000000409000
          +  0xffff800000000000-0xffff800000004000       16K  RW kern NX    PTE  -> gpa 0x0000000000300000
          +  0xffff800000005000-0xffff800000006000        4K  RW kern x     PTE  -> gpa 0x000000000040a000
          +  0xffff800000200000-0xffff800000400000        2M  RW kern NX    PDE  -> gpa 0x0000000000200000

        4 added, 3 removed, 3 changed
        (vmrr 155) ept 0x401000
        ept 0x0000000000401000: EPT, 4 levels, EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at checkpoint 0 (event 0), the nearest at or before 155: replaying to the exact position needs /dev/kvm
        recording host MMU: paravirtual (shadow paging) | this view: EPT (second stage, guest-physical -> host), built from 1 memory slots

          level      table               index  entry at            value               flags            effective
          EPT PML4E  0x0000007f00000000      0  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          EPT PDPTE  0x0000007f00001000      0  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          EPT PDE    0x0000007f00002000      2  0x0000007f00002010  0x00000000004000f7  R W X WB IPAT L  RWX
          => slot "ram0" [0x0-0x4000000): hva 0x0000000000401000, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); 2M page, RWX
        (vmrr 155) shadow 0x600000
        shadow 0x0000000000600000: shadow paging of 4-level paging (CR3 0x0000000000003000; WP NXE), at checkpoint 0 (event 0), the nearest at or before 155: replaying to the exact position needs /dev/kvm
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags    effective
          PML4E  0x0000000000003000      0  0x0000000000003000  0x0000000000004003  P RW     RW kern x
          PDPTE  0x0000000000004000      0  0x0000000000004000  0x0000000000005003  P RW     RW kern x
          PDE    0x0000000000005000      3  0x0000000000005018  0x0000000000600083  P RW PS  RW kern x
          guest: gpa 0x0000000000600000 (2M page 0x0000000000600000 + 0x0): RW kern x
          shadow  gva 0x0000000000600000 -> hva 0x0000000000600000  2M  PDE 0x00000000006000a3  P RW A PS
          => hva 0x0000000000600000, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); RW kern x, slot "ram0" [0x0-0x4000000)
        """#,
    "badInput": #"""
        (vmrr 0) stpi
        unknown command 'stpi': did you mean 'stepi'?
        (vmrr 0) rev
        ambiguous command 'rev': reverse-continue, reverse-stepi
        (vmrr 0) next
        'next': vmrr steps by instruction and by event, not by source line: use stepi (si) or next-event (ne)
        (vmrr 0) info
        info: missing what to show: expected one of breakpoints, registers, sregs, symbol, events, checkpoints, exits, clock
        (vmrr 0) info foo
        unknown info command 'foo': expected one of breakpoints, registers, sregs, symbol, events, checkpoints, exits, clock
        (vmrr 0) frobnicate
        unknown command 'frobnicate': help lists the commands
        (vmrr 0) goto 99999
        goto 99999: no such event: the journal has events 0 to 803
        (vmrr 0) goto -1
        goto: bad position '-1': expected EVENT, EVENT+INSTRUCTIONS, start or end, e.g. 155 or 155+3
        (vmrr 0) goto ten
        goto: bad position 'ten': expected EVENT, EVENT+INSTRUCTIONS, start or end, e.g. 155 or 155+3
        (vmrr 0) goto 155+3
        goto 155+3 needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) si
        stepi needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) rsi 4
        reverse-stepi needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) b main
        an address breakpoint needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) b mian
        no symbol 'mian' in the guest image: did you mean 'main'?
        (vmrr 0) break 0x10z
        break: bad address '0x10z': '0x10z' is not a number: expected an address such as 0x100034, 4096, main, main+0x12 or $rsp+8
        (vmrr 0) watch 0x1000
        a watchpoint needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) watch -p 0x1000 0
        watch: bad length '0': expected 1 to 4096 bytes: usage: watch [-p] ADDR [LEN]
        (vmrr 0) x/4q 0x1000
        x/4q: unknown format letter 'q': expected /[COUNT][FORMAT][SIZE] with FORMAT one of x d u o t a c s i and SIZE one of b h w g, e.g. x/4xg $rsp
        (vmrr 0) x/0x 0x10
        x/0x: bad count '0': expected /[COUNT][FORMAT][SIZE] with FORMAT one of x d u o t a c s i and SIZE one of b h w g, e.g. x/4xg $rsp
        (vmrr 0) x/4xg
        x: missing address: usage: x/FMT ADDR, e.g. x/4xg 0x1000
        (vmrr 0) x/4xg $foo
        unknown register '$foo' (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp cr0-cr4 cr8 efer)
        (vmrr 0) x/4xg $rsp
        0x80000:  0x0000000000000000  0x0000000000000000
        0x80010:  0x0000000000000000  0x0000000000000000
        (vmrr 0) xp/xg 0x100000000
        cannot read 8 bytes at guest-physical 0x100000000: outside guest memory (0x4000000 bytes)
        (vmrr 0) info registers rzz
        info registers: unknown register 'rzz': expected names such as rax, rip, eflags, cr3 or cs
        (vmrr 0) break-event foo
        break-event: unknown event kind 'foo' (kinds: io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist)
        (vmrr 0) break-event pagefault
        break-event: unknown event kind 'pagefault': did you mean 'page_fault'? (kinds: io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist)
        (vmrr 0) break-event io gva=1
        break-event: gva= does not apply to io events: it filters page_fault events
        (vmrr 0) break-event io port=zz
        break-event: bad port 'zz': expected a number or a range LOW..HIGH, e.g. port=0x3f8 or port=0x4000..0x8000
        (vmrr 0) break-event io port
        break-event: bad filter 'port': expected KEY=VALUE such as port=0x3f8, gva=0x4000..0x8000, gpa=ADDR[..ADDR], vector=0x20, msr=0x1b, value=N[..M], dir=in|out|read|write
        (vmrr 0) break-event
        break-event: missing event kind: usage: break-event KIND [FILTER...], KIND one of io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist
        (vmrr 0) delete 7
        no breakpoint number 7
        (vmrr 0) delete x
        delete: bad breakpoint number 'x': usage: delete [N...]
        (vmrr 0) disas nosuch
        no symbol 'nosuch' in the guest image
        (vmrr 0) stepi 0
        stepi: bad count '0': expected a number above 0: usage: stepi [N]
        (vmrr 0) ne x
        next-event: bad count 'x': expected a number above 0: usage: next-event [N]
        (vmrr 0) continue 3
        continue: unexpected '3': usage: continue
        (vmrr 0) pt
        pt: missing address: usage: pt GVA [--user|--implicit] [--write|--fetch]
        (vmrr 0) pt 0x1000 --bogus
        pt: unknown option '--bogus': usage: pt GVA [--user|--implicit] [--write|--fetch]
        (vmrr 0) ptdiff
        ptdiff: missing the earlier position: usage: ptdiff A [B] [guest|ept|npt|shadow]
        (vmrr 0) ptdiff 1 2 3
        ptdiff: bad position or view '3': expected a position, or guest, ept, npt or shadow: usage: ptdiff A [B] [guest|ept|npt|shadow]
        (vmrr 0) set foo
        set: unknown setting 'foo': usage: set disassembly-flavor att|intel
        (vmrr 0) help nosuch
        help: unknown command 'nosuch': help lists the commands
        (vmrr 0) ne
        #      1  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        """#,
]
