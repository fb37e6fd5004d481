import Foundation
import Testing
import VMRRTestSupport

/// gdb's finish, frame selection, tbreak, display, clear, delete ranges and
/// info all-registers in `vmrr debug` on KVM, against a golden transcript
/// (the journal-only halves are VMRRDebuggerTests' goldens).
@Suite("gdb commands in the REPL on KVM", .enabled(if: DebugBinary.available, "needs the vmrr executable"),
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct GDBCommandSessionTests {
    static let lines = [
        "goto 501",
        "display/i $pc",
        "display $eax",
        "finish",
        "undisplay 1",
        "tbreak serial_puts",
        "break serial_put_dec",
        "info breakpoints",
        "c",
        "info breakpoints",
        "bt",
        "up",
        "p $pc",
        "info registers rip rsp rbp",
        "finish",
        "clear serial_put_dec",
        "tbreak serial_puts",
        "break serial_puts",
        "clear serial_puts",
        "break main",
        "tbreak serial_put_hex",
        "delete 7-8",
        "info breakpoints",
        "frame",
        "stepi",
        "p $sil",
        "info all-registers",
    ]

    @Test func finishFramesTbreakDisplayClearAndAllRegisters() throws {
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", Fixtures.journalPath("paging")],
                                    stdin: Self.lines.joined(separator: "\n") + "\n", timeout: 300)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(r.status == 0)
        let expected = """
            #    501  rip=0x000000000010005d  checkpoint   id=1
            => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
            1: x/i $pc
            => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
            2: $eax = 0x61 (97)
            Run till exit from #0  0x000000000010005d in serial_puts+45
            #    525  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x20 ' '
              +4 instructions after event 525
            => 0x1006d3 <main+499>:  leaq   (%rbx, %r13), %rdi
            Value returned is $rax = 0x20 (32)
            1: x/i $pc
            => 0x1006d3 <main+499>:  leaq   (%rbx, %r13), %rdi
            2: $eax = 0x20 (32)
            Temporary breakpoint 2 at 0x100030 <serial_puts>
            Breakpoint 3 at 0x100130 <serial_put_dec>
            Num  Type        Hits  What
            2    breakpoint  0     0x100030 <serial_puts> (temporary)
            3    breakpoint  0     0x100130 <serial_put_dec>
            Breakpoint 3, serial_put_dec at 0x100130
            #    525  rip=0x000000000010005d  io           out port=0x3f8 size=1 value=0x20 ' '
              +7 instructions after event 525
            => 0x100130 <serial_put_dec>:  movabsq $0xcccccccccccccccd, %r8
            2: $eax = 0x20 (32)
            Num  Type        Hits  What
            2    breakpoint  0     0x100030 <serial_puts> (temporary)
            3    breakpoint  1     0x100130 <serial_put_dec>
            #0  0x0000000000100130 in serial_put_dec
            #1  0x00000000001006e0 in main+512
            #2  0x0000000000100007 in _start+7
            (frame 1 is the return address at 0x7ffc8: serial_put_dec has not set up its frame at 0x100130)
            Backtrace stopped: rbp is 0 (the outermost frame, or code built without frame pointers)
            #1  0x00000000001006e0 in main+512
            = 0x1006e0 (1050336) <main+512>
            rip            0x1006e0           0x1006e0 <main+512>
            rsp            0x7ffd0            0x7ffd0
            rbp            0x7fff0            0x7fff0
            Run till exit from #1  0x00000000001006e0 in main+512
            Temporary breakpoint 2, serial_puts at 0x100030
            #    527  rip=0x00000000001001be  io           out port=0x3f8 size=1 value=0x34 '4'
              +7 instructions after event 527
            => 0x100030 <serial_puts>:  movzbl (%rdi), %esi
            2: $eax = 0x34 (52)
            Deleted breakpoint 3
            Temporary breakpoint 5 at 0x100030 <serial_puts>
            Breakpoint 6 at 0x100030 <serial_puts>
            Deleted breakpoints 5 6
            Breakpoint 7 at 0x1004e0 <main>
            Temporary breakpoint 8 at 0x100070 <serial_put_hex>
            No breakpoints or watchpoints.
            #0  0x0000000000100030 in serial_puts
            => 0x100033 <serial_puts+3>:  testb  %sil, %sil
            2: $eax = 0x34 (52)
            = 0x20 (32)
            rax            0x34               52
            rbx            0x5ca1ab1e00000005 6674804268077154309
            rcx            0x3fd              1021
            rdx            0x3f8              1016
            rsi            0x20               32
            rdi            0x102143           1057091
            rbp            0x7fff0            0x7fff0
            rsp            0x7ffc8            0x7ffc8
            r8             0x34               52
            r9             0x3f8              1016
            r10            0x0                0
            r11            0x0                0
            r12            0x5ca1ab1e00000006 6674804268077154310
            r13            0xa35e54e200000000 -6674804268077154304
            r14            0x1af2a71000102198 1941798076512477592
            r15            0x0                0
            rip            0x100033           0x100033 <serial_puts+3>
            eflags         0x46               [ PF ZF ]
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
            """ + "\n"
        #expect(r.stdout == expected)
        if r.stdout != expected {
            let a = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            if let k = zip(a, e).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                Issue.record("line \(k + 1): got |\(a[k])| expected |\(e[k])|")
            }
        }
    }

    func debug(_ journal: String, _ lines: [String]) throws -> String {
        // The header's image path is where it was recorded; name the committed ELF.
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", Fixtures.journalPath(journal), "--image", Fixtures.guest(journal)],
                                    stdin: lines.joined(separator: "\n") + "\n", timeout: 300)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        return r.stdout
    }

    /// The values print showed ("= 0x7ffa0 (524192)" gives 0x7ffa0), in order.
    static func printed(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("= 0x") }.map { String($0.split(separator: " ")[1]) }
    }

    /// The tsc fixture's recursion (mode recurse, the committed tsc.vmrr): every
    /// level returns to the same address with no exit between the returns.
    /// finish from level 10 runs past level 9's return there and stops at its
    /// own, with the stack pointer frame 1 had.
    @Test func finishRunsPastADeeperRecursiveReturn() throws {
        let out = try debug("tsc", ["break depth", "c", "c", "c", "delete", "p $rdi", "up", "p $sp", "down", "finish",
                                    "p $sp", "bt 3"])
        let values = Self.printed(out)
        try #require(values.count == 3, "\(out)")
        #expect(values[0] == "0xa", "stopped in depth(10): \(out)")
        #expect(values[2] == values[1], "finish ends with frame 1's stack pointer: \(out)")
        #expect(out.contains("Value returned is $rax = 0xa (10)"), "\(out)")
        #expect(out.contains("#0  0x0000000000100346 in depth+54\n#1  0x0000000000100346 in depth+54\n#2  "), "\(out)")
    }

    /// continue from a breakpoint that the same event interval runs again (the
    /// recursion's returns, no exit between them) stops at each later run of it.
    @Test func continueStopsAtEachRunOfAnAddressWithinOneInterval() throws {
        let out = try debug("tsc", ["break depth", "c", "c", "c", "delete", "break depth+54", "c", "p $sp", "c", "p $sp",
                                    "c", "p $sp"])
        let sps = Self.printed(out).compactMap { UInt64($0.dropFirst(2), radix: 16) }
        try #require(sps.count == 3, "\(out)")
        #expect(sps[1] == sps[0] + 0x20 && sps[2] == sps[1] + 0x20, "each return is one 32-byte frame up: \(out)")
    }
}
