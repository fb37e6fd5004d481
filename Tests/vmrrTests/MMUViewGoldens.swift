import Foundation
import Testing
import VMRRBase
import VMRRGuest
import VMRRTestSupport

/// Goldens: each view's whole output on the real journal, read line by line against the
/// guest's header and the ELF's symbols before being pinned (pml4 0x10a000, pdpt_low
/// 0x109000, pd_low 0x108000, pt_low 0x107000, pdpt_high 0x106000, pd_high 0x105000,
/// pt_high 0x104000; the handler's tables 0x400000, 0x402000-0x403000, 0x406000-0x408000).
/// Nothing is normalised: journal memory has no host state (the RAM slot is placed at host
/// address 0, so an "hva" equals its GPA, and host frames are "n/a"), and the header's
/// host-MMU line comes from the recording.
extension MMUViewTests {
    static let goldens: [(args: String, what: String, text: String)] = [
        ("pt 0xffff800000001010", "pt: a higher-half 4 KiB NX page", """
        pt 0xffff800000001010: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor read, at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags        effective
          PML4E  0x000000000010a000    256  0x000000000010a800  0x0000000000106023  P RW A       RW kern x
          PDPTE  0x0000000000106000      0  0x0000000000106000  0x0000000000105023  P RW A       RW kern x
          PDE    0x0000000000105000      0  0x0000000000105000  0x0000000000104023  P RW A       RW kern x
          PTE    0x0000000000104000      1  0x0000000000104008  0x8000000000301063  P RW A D NX  RW kern NX
          => gpa 0x0000000000301010 (4K page 0x0000000000301000 + 0x10): RW kern NX
        """),
        ("pt 0x800000 --write", "pt: a write to an address never mapped", """
        pt 0x0000000000800000: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor write, at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags   effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A  RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A  RW kern x
          PDE    0x0000000000108000      4  0x0000000000108020  0x0000000000000000          -
          => #PF, error code 0x0002 (W) at PDE: PDE 4 is not present
        """),
        ("ept 0x40a123", "ept: fault 5's page", """
        ept 0x000000000040a123: EPT, 4 levels, EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: EPT (second stage, guest-physical -> host), built from 1 memory slots

          level      table               index  entry at            value               flags            effective
          EPT PML4E  0x0000007f00000000      0  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          EPT PDPTE  0x0000007f00001000      0  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          EPT PDE    0x0000007f00002000      2  0x0000007f00002010  0x00000000004000f7  R W X WB IPAT L  RWX
          => slot "ram0" [0x0-0x4000000): hva 0x000000000040a123, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); 2M page, RWX
        """),
        ("walk2d 0x1000", "walk2d: a 4 KiB guest page over 2 MiB EPT pages", """
        walk2d 0x0000000000001000: 4-level paging (CR3 0x000000000010a000; WP NXE) over EPT (4 levels), supervisor read, at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: two-dimensional walk (each guest-physical reference translated through EPT)

           #  reference     entry at            value               flags            effective
          guest PML4E at gpa 0x000000000010a000
           1  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
           2  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
           3  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x000000000010a000 (2M page of slot "ram0")
           4  PML4E[0]      0x000000000010a000  0x0000000000109023  P RW A           RW kern x
          guest PDPTE at gpa 0x0000000000109000
           5  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
           6  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
           7  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000109000 (2M page of slot "ram0")
           8  PDPTE[0]      0x0000000000109000  0x0000000000108023  P RW A           RW kern x
          guest PDE at gpa 0x0000000000108000
           9  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          10  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          11  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000108000 (2M page of slot "ram0")
          12  PDE[0]        0x0000000000108000  0x0000000000107023  P RW A           RW kern x
          guest PTE at gpa 0x0000000000107008
          13  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          14  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          15  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000107008 (2M page of slot "ram0")
          16  PTE[1]        0x0000000000107008  0x0000000000001023  P RW A           RW kern x
          data page at gpa 0x0000000000001000
          17  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          18  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          19  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000001000 (2M page of slot "ram0")
          => gpa 0x0000000000001000, hva 0x0000000000001000: guest 4K page over EPT 2M page, RW kern x
          a TLB miss costs 19 memory references = 4 guest + 3+3+3+3+3 nested
        """),
        ("shadow 0x10a000", "shadow: the PML4 frame, write-protected", """
        shadow 0x000000000010a000: shadow paging of 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags     effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A    RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A    RW kern x
          PDE    0x0000000000108000      0  0x0000000000108000  0x0000000000107023  P RW A    RW kern x
          PTE    0x0000000000107000    266  0x0000000000107850  0x000000000010a063  P RW A D  RW kern x
          guest: gpa 0x000000000010a000 (4K page 0x000000000010a000 + 0x0): RW kern x
          shadow  gva 0x000000000010a000 -> hva 0x000000000010a000  4K  PTE 0x000000000010a021  P A
          => hva 0x000000000010a000, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); ro kern x, slot "ram0" [0x0-0x4000000)
          => write-protected: the page holds guest page tables, so the shadow entry is read-only and guest writes to it exit to the hypervisor
        """),
        ("shadow 0x5fffff", "shadow: a guest 2 MiB page split around table frames", """
        shadow 0x00000000005fffff: shadow paging of 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags        effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A       RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A       RW kern x
          PDE    0x0000000000108000      2  0x0000000000108010  0x00000000004000e3  P RW A D PS  RW kern x
          guest: gpa 0x00000000005fffff (2M page 0x0000000000400000 + 0x1fffff): RW kern x
          shadow  gva 0x00000000005ff000 -> hva 0x00000000005ff000  4K  PTE 0x00000000005ff023  P RW A
          => hva 0x00000000005fffff, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); RW kern x, slot "ram0" [0x0-0x4000000)
          => 4K instead of the guest's 2M: the guest 2M page holds write-protected guest page tables
        """),
        ("shadow dump", "shadow dump", """
        shadow dump: shadow paging of 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          ---[ lower half ]---
          0x0000000000001000-0x0000000000104000  1036K  RW kern x       PTE  -> hva 0x0000000000001000  ram0
          0x0000000000104000-0x000000000010b000    28K  ro kern x   wp  PTE  -> hva 0x0000000000104000  ram0
          0x000000000010b000-0x0000000000200000   980K  RW kern x       PTE  -> hva 0x000000000010b000  ram0
          0x0000000000200000-0x0000000000400000     2M  RW kern x       PDE  -> hva 0x0000000000200000  ram0
          0x0000000000400000-0x0000000000401000     4K  ro kern x   wp  PTE  -> hva 0x0000000000400000  ram0
          0x0000000000401000-0x0000000000402000     4K  RW kern x       PTE  -> hva 0x0000000000401000  ram0
          0x0000000000402000-0x0000000000404000     8K  ro kern x   wp  PTE  -> hva 0x0000000000402000  ram0
          0x0000000000404000-0x0000000000406000     8K  RW kern x       PTE  -> hva 0x0000000000404000  ram0
          0x0000000000406000-0x0000000000409000    12K  ro kern x   wp  PTE  -> hva 0x0000000000406000  ram0
          0x0000000000409000-0x0000000000600000  2012K  RW kern x       PTE  -> hva 0x0000000000409000  ram0
          0x0000000000600000-0x0000000000601000     4K  RW kern x       PTE  -> hva 0x0000000000401000  ram0
          0x0000000040000000-0x0000000040002000     8K  RW kern x       PTE  -> hva 0x0000000000404000  ram0
          0x00007f0000000000-0x00007f0000001000     4K  RW kern x       PTE  -> hva 0x0000000000409000  ram0
          ---[ upper half ]---
          0xffff800000000000-0xffff800000004000    16K  RW kern NX      PTE  -> hva 0x0000000000300000  ram0
          0xffff800000005000-0xffff800000006000     4K  RW kern x       PTE  -> hva 0x000000000040a000  ram0
          0xffff800000200000-0xffff800000400000     2M  RW kern NX      PDE  -> hva 0x0000000000200000  ram0

        16 ranges; shadow tables need 14 pages (1 PML4, 3 PDPT, 4 PD, 6 PT) vs 3 EPT table pages for the same VM
        13 write-protected guest page-table frames: 0x104000 0x105000 0x106000 0x107000 0x108000 0x109000 0x10a000 0x400000 ... (+5 more)
        """),
        ("ptdump guest", "ptdump guest", """
        ptdump guest: 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          ---[ lower half ]---
          0x0000000000001000-0x0000000000200000  2044K  RW kern x     PTE  -> gpa 0x0000000000001000
          0x0000000000200000-0x0000000000600000     4M  RW kern x     PDE  -> gpa 0x0000000000200000
          0x0000000000600000-0x0000000000601000     4K  RW kern x     PTE  -> gpa 0x0000000000401000
          0x0000000040000000-0x0000000040002000     8K  RW kern x     PTE  -> gpa 0x0000000000404000
          0x00007f0000000000-0x00007f0000001000     4K  RW kern x     PTE  -> gpa 0x0000000000409000
          ---[ upper half ]---
          0xffff800000000000-0xffff800000004000    16K  RW kern NX    PTE  -> gpa 0x0000000000300000
          0xffff800000005000-0xffff800000006000     4K  RW kern x     PTE  -> gpa 0x000000000040a000
          0xffff800000200000-0xffff800000400000     2M  RW kern NX    PDE  -> gpa 0x0000000000200000

        8 ranges, 8224K mapped by 523 leaf entries in 13 table pages
        """),
        ("ptdump ept", "ptdump ept", """
        ptdump ept: EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: EPT (second stage, guest-physical -> host)

          0x0000000000000000-0x0000000004000000  64M  RWX  WB IPAT  EPT PDE  -> hva 0x0000000000000000  ram0

        1 range, 64M mapped by 32 leaf entries in 3 table pages; EPTP 0x0000007f0000005e
        """),
    ]

    /// `ptdump shadow` prints the same as `shadow dump` (checked in shadowDump()).
    @Test("each view's output on the paging journal matches its golden", arguments: MMUViewTests.goldens.map { $0.args })
    func golden(_ args: String) throws {
        let g = try #require(Self.goldens.first { $0.args == args })
        let out = try MMURun.offline(args.split(separator: " ").map(String.init))
        #expect(out == g.text + "\n", "\(g.what): vmrr mmu --no-kvm \(args) differs from its golden:\n\(out)")
    }
}
