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
    "finish", "up", "down", "frame", "info all-registers", "display", "undisplay", "info display", "tbreak", "clear",
    "info threads", "thread",
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
    GoldenCase(name: "frames", journal: "paging", lines: [
        "goto 501", "bt", "up", "info registers rip rsp rbp", "p $pc", "p $sp", "p $fp", "x/2i $pc", "frame",
        "up", "", "frame 7", "down", "", "down", "frame 1", "f 0", "up 9", "ne", "frame", "goto 155",
        "up"]),
    GoldenCase(name: "subRegisters", journal: "paging", lines: [
        "goto 501", "p $rbx", "p $ebx", "p $bx", "p $bl", "p $bh", "p $r12d", "p $r12w", "p $r12l", "p $sil",
        "p $dil", "p $eip", "p $r13d+1", "info registers eax ax al ah r13d r13w r13l esp eip", "p $r8q", "p $spw",
        "i r r8b"]),
    GoldenCase(name: "displays", journal: "paging", lines: [
        "info display", "goto 501", "display $rax", "display/x $rsi", "display/i $pc", "display/2xg $rsp",
        "display/c $rsi", "display/t $rcx", "display $nosuch", "info display", "ne", "undisplay 2 6-7",
        "info display", "display", "pe", "undisplay 9", "undisplay", "info display", "display/", "undisplay x"]),
    GoldenCase(name: "gdbCommandsWithoutKVM", journal: "paging", lines: [
        "finish", "tbreak main", "clear main", "clear", "goto 501", "info all-registers", "ne",
        "info all-registers", "finish 2", "up 0", "frame x"]),
    GoldenCase(name: "badInput", journal: "paging", lines: [
        "stpi", "rev", "next", "info", "info foo", "frobnicate", "goto 99999", "goto -1", "goto ten",
        "goto 155+3", "si", "rsi 4", "b main", "b mian", "break 0x10z", "watch 0x1000", "watch -p 0x1000 0",
        "x/4q 0x1000", "x/0x 0x10", "x/4xg", "x/4xg $foo", "x/4xg $rsp", "xp/xg 0x100000000",
        "info registers rzz", "break-event foo", "break-event pagefault",
        "break-event io gva=1", "break-event io port=zz", "break-event io port", "break-event", "delete 7",
        "delete x", "disas nosuch", "stepi 0", "ne x", "continue 3", "pt", "pt 0x1000 --bogus", "ptdiff",
        "ptdiff 1 2 3", "set foo", "help nosuch", "ne"]),
    // One thread per vCPU; each vCPU has its own page tables (CR3), so the MMU views follow the thread.
    GoldenCase(name: "threads", journal: "smp2", lines: [
        "info threads", "thread", "thread 2", "info registers rip", "goto 130", "info threads", "i r rip rdx",
        "ne", "thread 1", "i r rip", "pe 2", "goto 501", "info threads", "i r cr3", "pt 0x8000000000",
        "thread 2", "i r cr3 rip", "pt 0x8000000000", "x/xg 0x8000000000", "thread 3", "thread 0", "thread x",
        "thread 1 2", "help thread"]),
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

/// Every transcript, by case name (the two halves live in their own files).
let goldens: [String: String] = inspectionGoldens.merging(executionGoldens) { first, _ in first }
    .merging(gdbCommandGoldens) { first, _ in first }
    .merging(threadGoldens) { first, _ in first }
