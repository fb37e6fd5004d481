// The golden transcripts of the inspection commands: help, registers,
// memory, disassembly, symbols and the backtrace (GoldenTests.swift runs them).

let inspectionGoldens: [String: String] = [
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
          finish, fin           Run until the selected frame's function returns, and show the value returned.

        Breakpoints and watchpoints:
          break, b, br           Stop where the guest executes the instruction at an address.
          break-event            Stop at journal events of a kind, narrowed by filters.
          watch                  Stop where memory is written, forward or backward.
          info breakpoints, i b  List the breakpoints and watchpoints with their hit counts.
          delete, d              Delete breakpoints by number, or all of them.
          tbreak                 Set a breakpoint that is deleted when it is first hit.
          clear                  Delete the breakpoints at an address (default: the selected frame's pc).

        Registers, memory and code:
          info registers, regs, i r  Show the general registers, or the named ones.
          info sregs                 Show CR0, CR2, CR3, CR4, EFER, the segments, GDT and IDT, with decoded flags.
          x                          Examine guest-virtual memory, as gdb's x does.
          xp                         Examine guest-physical memory (the formats of x).
          disassemble, disas         Disassemble guest code with symbols; => marks RIP.
          info symbol                Name the symbol an address belongs to.
          print, p                   Evaluate an address expression (numbers, symbols, $registers, + and -).
          backtrace, bt, where       Walk the frame-pointer chain from the current position (at most N frames).
          up                         Select the frame N levels up the stack, towards the callers (default 1).
          down                       Select the frame N levels down the stack, towards frame 0 (default 1).
          frame, f                   Select frame N (as backtrace numbers them), or show the selected frame.
          info all-registers         Show every register: segment bases, control registers, x87 and SSE too.
          display                    Show an expression after every stop, or every display now.
          undisplay                  Delete displays by number, or all of them.
          info display               List the expressions shown after every stop.
          info threads               List the vCPUs as threads (thread N is vCPU N-1), each at its rip.
          thread                     Select thread N (vCPU N-1), or show the selected thread.

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
          info all-registers              Show every register: segment bases, control registers, x87 and SSE too.
          info display                    List the expressions shown after every stop.
          info threads                    List the vCPUs as threads (thread N is vCPU N-1), each at its rip.
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
          stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist, nmi, warm_reset,
          preempt. FILTER: port=0x3f8, gva=0x4000..0x8000, gpa=ADDR[..ADDR], vector=0x20, msr=0x1b,
          value=N[..M], dir=in|out|read|write. Stops forward (continue, next-event) and backward
          (reverse-continue, prev-event), without KVM too. Example: break-event io port=0x3f8 dir=out
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
        (vmrr 0) help finish
        finish  (alias: fin)
          Run until the selected frame's function returns, and show the value returned. Stops where the caller
          continues after the call (the return address of the frame above, found by the frame-pointer walk
          backtrace does), with the stack pointer back above the frame, so a recursive call's return does not
          stop it; prints rax as the value returned. Another breakpoint or the end of the recording stops it
          first. Uses one execution breakpoint while it runs; needs execution on KVM.
        (vmrr 0) help up
        up [N]
          Select the frame N levels up the stack, towards the callers (default 1). info registers, print
          $pc/$sp/$fp, x and finish then use the selected frame's pc, stack pointer (the frame's canonical
          frame address) and frame pointer, as gdb does for caller frames; the other registers keep their
          current values. Any motion selects frame 0 again.
        (vmrr 0) help down
        down [N]
          Select the frame N levels down the stack, towards frame 0 (default 1).
        (vmrr 0) help frame
        frame [N]  (alias: f)
          Select frame N (as backtrace numbers them), or show the selected frame.
        (vmrr 0) help info all-registers
        info all-registers
          Show every register: segment bases, control registers, x87 and SSE too. The x87 and SSE registers,
          and the kernel GS base, are shown where the target has the vCPU's full state (on KVM, and at
          checkpoints without it).
        (vmrr 0) help display
        display[/FMT] [EXPR]
          Show an expression after every stop, or every display now. FMT as print takes it (x d u o t a c)
          shows the value; a format with a count, a size, i or s examines memory as x does: display/i $pc,
          display/4xg $rsp.
        (vmrr 0) help undisplay
        undisplay [N...]
          Delete displays by number, or all of them.
        (vmrr 0) help info display
        info display
          List the expressions shown after every stop.
        (vmrr 0) help tbreak
        tbreak ADDR|SYMBOL[+OFF]
          Set a breakpoint that is deleted when it is first hit. ADDR as break takes it. Needs execution on
          KVM.
        (vmrr 0) help clear
        clear [ADDR|SYMBOL[+OFF]]
          Delete the breakpoints at an address (default: the selected frame's pc).
        (vmrr 0) help info threads
        info threads
          List the vCPUs as threads (thread N is vCPU N-1), each at its rip. * marks the selected thread,
          whose registers, memory and MMU views (its own CR3) the other commands show; (running) marks the
          vCPU the recording runs at this position.
        (vmrr 0) help thread
        thread [N]
          Select thread N (vCPU N-1), or show the selected thread. Breakpoints and watchpoints stop on any
          vCPU. After a motion the selected thread is the vCPU that runs where it stopped, as in gdb.
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
        help: unknown info command 'nosuch': expected one of breakpoints, registers, sregs, symbol, events, checkpoints, exits, clock, all-registers, display, threads
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
]
