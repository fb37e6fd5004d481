// The golden transcripts of gdb's frame, display and breakpoint commands on
// the journal-only target (GoldenTests.swift runs them; vmrrTests' GDBCommandSessionTests
// runs them on KVM).

let gdbCommandGoldens: [String: String] = [
    "frames": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) bt
        #0  0x000000000010005d in serial_puts+45
        #1  0x00000000001006d3 in main+499
        #2  0x0000000000100007 in _start+7
        (frame 1 is the return address at 0x7ffc8: serial_puts has not set up its frame at 0x10005d)
        Backtrace stopped: rbp is 0 (the outermost frame, or code built without frame pointers)
        (vmrr 501) up
        #1  0x00000000001006d3 in main+499
        (vmrr 501) info registers rip rsp rbp
        rip            0x1006d3           0x1006d3 <main+499>
        rsp            0x7ffd0            0x7ffd0
        rbp            0x7fff0            0x7fff0
        (vmrr 501) p $pc
        = 0x1006d3 (1050323) <main+499>
        (vmrr 501) p $sp
        = 0x7ffd0 (524240)
        (vmrr 501) p $fp
        = 0x7fff0 (524272)
        (vmrr 501) x/2i $pc
        => 0x1006d3 <main+499>:  leaq   (%rbx, %r13), %rdi
           0x1006d7 <main+503>:  addq   $1, %rbx
        (vmrr 501) frame
        #1  0x00000000001006d3 in main+499
        (vmrr 501) up
        #2  0x0000000000100007 in _start+7
        (vmrr 501)
        Initial frame selected; you cannot go up; the frame walk stops there: rbp is 0 (the outermost frame, or code built without frame pointers).
        (vmrr 501) frame 7
        No frame at level 7; the frame walk stops there: rbp is 0 (the outermost frame, or code built without frame pointers).
        (vmrr 501) down
        #1  0x00000000001006d3 in main+499
        (vmrr 501)
        #0  0x000000000010005d in serial_puts+45
        (vmrr 501) down
        Bottom (innermost) frame selected; you cannot go down.
        (vmrr 501) frame 1
        #1  0x00000000001006d3 in main+499
        (vmrr 501) f 0
        #0  0x000000000010005d in serial_puts+45
        (vmrr 501) up 9
        #2  0x0000000000100007 in _start+7
        (vmrr 501) ne
        #    502  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        (vmrr 502) frame
        #0  0x0000000000100052 in serial_puts+34
        (vmrr 502) goto 155
        #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
        => 0x100900 <isr_page_fault>:  pushq  $0xe
        (vmrr 155) up
        Initial frame selected; you cannot go up; the frame walk stops there: cannot read the frame at rbp 0x7fff0: memory at event 155 needs a replay on KVM; the nearest checkpoint is 0 at event 0: goto 0.
        """#,
    "subRegisters": #"""
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) p $rbx
        = 0x5ca1ab1e00000004 (6674804268077154308)
        (vmrr 501) p $ebx
        = 0x4 (4)
        (vmrr 501) p $bx
        = 0x4 (4)
        (vmrr 501) p $bl
        = 0x4 (4)
        (vmrr 501) p $bh
        = 0x0 (0)
        (vmrr 501) p $r12d
        = 0x6 (6)
        (vmrr 501) p $r12w
        = 0x6 (6)
        (vmrr 501) p $r12l
        = 0x6 (6)
        (vmrr 501) p $sil
        = 0x61 (97)
        (vmrr 501) p $dil
        = 0x36 (54)
        (vmrr 501) p $eip
        = 0x10005d (1048669) <serial_puts+45>
        (vmrr 501) p $r13d+1
        = 0x1 (1)
        (vmrr 501) info registers eax ax al ah r13d r13w r13l esp eip
        eax            0x61               97
        ax             0x61               97
        al             0x61               97
        ah             0x0                0
        r13d           0x0                0
        r13w           0x0                0
        r13l           0x0                0
        esp            0x7ffc8            524232
        eip            0x10005d           0x10005d <serial_puts+45>
        (vmrr 501) p $r8q
        unknown register '$r8q': did you mean '$r8'? (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp cr0-cr4 cr8 efer, and parts such as eax ax al ah r8d r8w r8l)
        (vmrr 501) p $spw
        unknown register '$spw': did you mean '$sp'? (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp cr0-cr4 cr8 efer, and parts such as eax ax al ah r8d r8w r8l)
        (vmrr 501) i r r8b
        info registers: unknown register 'r8b': did you mean 'r8'?: expected names such as rax, rip, eflags, cr3 or cs
        """#,
    "displays": #"""
        (vmrr 0) info display
        There are no auto-display expressions now.
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) display $rax
        1: $rax = 0x61 (97)
        (vmrr 501) display/x $rsi
        2: /x $rsi = 0x61
        (vmrr 501) display/i $pc
        3: x/i $pc
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) display/2xg $rsp
        4: x/2xg $rsp
        0x7ffc8:  0x00000000001006d3  0x0000000000000000
        (vmrr 501) display/c $rsi
        5: /c $rsi = 97 'a'
        (vmrr 501) display/t $rcx
        6: /t $rcx = 1111111101
        (vmrr 501) display $nosuch
        7: $nosuch = <error: unknown register '$nosuch' (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp cr0-cr4 cr8 efer, and parts such as eax ax al ah r8d r8w r8l)>
        (vmrr 501) info display
        Auto-display expressions now in effect:
        Num Enb Expression
        1:   y  $rax
        2:   y  /x $rsi
        3:   y  x/i $pc
        4:   y  x/2xg $rsp
        5:   y  /c $rsi
        6:   y  /t $rcx
        7:   y  $nosuch
        (vmrr 501) ne
        #    502  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        1: $rax = 0x61 (97)
        2: /x $rsi = 0x67
        3: x/i $pc
        (code from the guest image file: guest memory is not known at 502)
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        4: x/2xg $rsp
        <error: memory at event 502 needs a replay on KVM; the nearest checkpoint is 1 at event 501: goto 501>
        5: /c $rsi = 103 'g'
        6: /t $rcx = 1111111101
        7: $nosuch = <error: unknown register '$nosuch' (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp cr0-cr4 cr8 efer, and parts such as eax ax al ah r8d r8w r8l)>
        (vmrr 502) undisplay 2 6-7
        (vmrr 502) info display
        Auto-display expressions now in effect:
        Num Enb Expression
        1:   y  $rax
        3:   y  x/i $pc
        4:   y  x/2xg $rsp
        5:   y  /c $rsi
        (vmrr 502) display
        1: $rax = 0x61 (97)
        3: x/i $pc
        (code from the guest image file: guest memory is not known at 502)
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        4: x/2xg $rsp
        <error: memory at event 502 needs a replay on KVM; the nearest checkpoint is 1 at event 501: goto 501>
        5: /c $rsi = 103 'g'
        (vmrr 502) pe
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        1: $rax = 0x61 (97)
        3: x/i $pc
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        4: x/2xg $rsp
        0x7ffc8:  0x00000000001006d3  0x0000000000000000
        5: /c $rsi = 97 'a'
        (vmrr 501) undisplay 9
        undisplay: no display number 9
        (vmrr 501) undisplay
        (vmrr 501) info display
        There are no auto-display expressions now.
        (vmrr 501) display/
        display: missing the expression after the format: usage: display[/FMT] [EXPR]
        (vmrr 501) undisplay x
        undisplay: bad display number 'x': usage: undisplay [N...]
        """#,
    "gdbCommandsWithoutKVM": #"""
        (vmrr 0) finish
        finish needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) tbreak main
        an address breakpoint needs execution on KVM: /dev/kvm is absent (or --no-kvm was given); this session reads the journal only
        (vmrr 0) clear main
        No breakpoint at main.
        (vmrr 0) clear
        No breakpoint at 0x100000 <_start>.
        (vmrr 0) goto 501
        #    501  rip=0x000000000010005d  checkpoint   id=1
        => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
        (vmrr 501) info all-registers
        rax            0x61               97
        rbx            0x5ca1ab1e00000004 6674804268077154308
        rcx            0x3fd              1021
        rdx            0x3f8              1016
        rsi            0x61               97
        rdi            0x102136           1057078
        rbp            0x7fff0            0x7fff0
        rsp            0x7ffc8            0x7ffc8
        r8             0x3f8              1016
        r9             0x3f8              1016
        r10            0x0                0
        r11            0x0                0
        r12            0x5ca1ab1e00000006 6674804268077154310
        r13            0xa35e54e200000000 -6674804268077154304
        r14            0x1af2a71000102198 1941798076512477592
        r15            0x0                0
        rip            0x10005d           0x10005d <serial_puts+45>
        eflags         0x2                [ ]
        cs             0x8                8
        ss             0x10               16
        ds             0x10               16
        es             0x10               16
        fs             0x10               16
        gs             0x10               16
        fs_base        0x0                0
        gs_base        0x0                0
        k_gs_base      0x0                0
        cr0            0x80050033         [ PG AM WP NE ET MP PE ]
        cr2            0x7f0000000000     0x7f0000000000
        cr3            0x10a000           [ PDBR=0x10a000 ]
        cr4            0x620              [ OSXMMEXCPT OSFXSR PAE ]
        cr8            0x0                0
        efer           0xd01              [ NXE LMA LME SCE ]
        st0            0.0                (raw 0x00000000000000000000)
        st1            0.0                (raw 0x00000000000000000000)
        st2            0.0                (raw 0x00000000000000000000)
        st3            0.0                (raw 0x00000000000000000000)
        st4            0.0                (raw 0x00000000000000000000)
        st5            0.0                (raw 0x00000000000000000000)
        st6            0.0                (raw 0x00000000000000000000)
        st7            0.0                (raw 0x00000000000000000000)
        fctrl          0x37f              895
        fstat          0x0                0
        ftag           0xffff             65535
        fiseg          0x0                0
        fioff          0x0                0
        foseg          0x0                0
        fooff          0x0                0
        fop            0x0                0
        xmm0           {uint128 = 0x00000000000000000000000000000000}
        xmm1           {uint128 = 0x00000000000000000000000000000000}
        xmm2           {uint128 = 0x00000000000000000000000000000000}
        xmm3           {uint128 = 0x00000000000000000000000000000000}
        xmm4           {uint128 = 0x00000000000000000000000000000000}
        xmm5           {uint128 = 0x00000000000000000000000000000000}
        xmm6           {uint128 = 0x00000000000000000000000000000000}
        xmm7           {uint128 = 0x00000000000000000000000000000000}
        xmm8           {uint128 = 0x00000000000000000000000000000000}
        xmm9           {uint128 = 0x00000000000000000000000000000000}
        xmm10          {uint128 = 0x00000000000000000000000000000000}
        xmm11          {uint128 = 0x00000000000000000000000000000000}
        xmm12          {uint128 = 0x00000000000000000000000000000000}
        xmm13          {uint128 = 0x00000000000000000000000000000000}
        xmm14          {uint128 = 0x00000000000000000000000000000000}
        xmm15          {uint128 = 0x00000000000000000000000000000000}
        mxcsr          0x1f80             [ IM DM ZM OM UM PM ]
        (vmrr 501) ne
        #    502  rip=0x0000000000100052  io           in  port=0x3fd size=1 value=0x61
        => 0x100052 <serial_puts+34>:  inb    %dx, %al
        (vmrr 502) info all-registers
        rax            0x61               97
        rbx            0x5ca1ab1e00000004 6674804268077154308
        rcx            0x3fd              1021
        rdx            0x3fd              1021
        rsi            0x67               103
        rdi            0x102137           1057079
        rbp            0x7fff0            0x7fff0
        rsp            0x7ffc8            0x7ffc8
        r8             0x3f8              1016
        r9             0x3f8              1016
        r10            0x0                0
        r11            0x0                0
        r12            0x5ca1ab1e00000006 6674804268077154310
        r13            0xa35e54e200000000 -6674804268077154304
        r14            0x1af2a71000102198 1941798076512477592
        r15            0x0                0
        rip            0x100052           0x100052 <serial_puts+34>
        eflags         0x2                [ ]
        (the segment, control, x87 and SSE registers are not known at 502: a replay on KVM or a checkpoint has them)
        (vmrr 502) finish 2
        finish: unexpected '2': usage: finish
        (vmrr 502) up 0
        up: bad count '0': expected a number above 0: usage: up [N]
        (vmrr 502) frame x
        frame: bad frame number 'x': usage: frame [N]
        """#,
]
