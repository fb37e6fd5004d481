// The golden transcripts of moving through the history: events, exits, the
// clock, checkpoints, event breakpoints, motion, the MMU commands and bad
// input (GoldenTests.swift runs them).

let executionGoldens: [String: String] = [
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
        info: missing what to show: expected one of breakpoints, registers, sregs, symbol, events, checkpoints, exits, clock, all-registers, display, threads
        (vmrr 0) info foo
        unknown info command 'foo': expected one of breakpoints, registers, sregs, symbol, events, checkpoints, exits, clock, all-registers, display, threads
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
        unknown register '$foo' (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp cr0-cr4 cr8 efer, and parts such as eax ax al ah r8d r8w r8l)
        (vmrr 0) x/4xg $rsp
        0x80000:  0x0000000000000000  0x0000000000000000
        0x80010:  0x0000000000000000  0x0000000000000000
        (vmrr 0) xp/xg 0x100000000
        cannot read 8 bytes at guest-physical 0x100000000: outside guest memory (0x4000000 bytes)
        (vmrr 0) info registers rzz
        info registers: unknown register 'rzz': expected names such as rax, rip, eflags, cr3 or cs
        (vmrr 0) break-event foo
        break-event: unknown event kind 'foo' (kinds: io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist, nmi, warm_reset, preempt)
        (vmrr 0) break-event pagefault
        break-event: unknown event kind 'pagefault': did you mean 'page_fault'? (kinds: io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist, nmi, warm_reset, preempt)
        (vmrr 0) break-event io gva=1
        break-event: gva= does not apply to io events: it filters page_fault events
        (vmrr 0) break-event io port=zz
        break-event: bad port 'zz': expected a number or a range LOW..HIGH, e.g. port=0x3f8 or port=0x4000..0x8000
        (vmrr 0) break-event io port
        break-event: bad filter 'port': expected KEY=VALUE such as port=0x3f8, gva=0x4000..0x8000, gpa=ADDR[..ADDR], vector=0x20, msr=0x1b, value=N[..M], dir=in|out|read|write
        (vmrr 0) break-event
        break-event: missing event kind: usage: break-event KIND [FILTER...], KIND one of io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end, msr, assist, nmi, warm_reset, preempt
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
