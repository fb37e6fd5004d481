import Testing
@testable import VMRRMMU

/// Contexts the golden views run in.
enum GoldenContexts {
    static var main: MMUCommandContext { Fixture.context() }
    /// RAM whose host address is only 4 KiB congruent: 4 KiB EPT pages, the 24-reference walk.
    static var fourKiBEPT: MMUCommandContext { Fixture.context(slots: [
        MemorySlot(gpa: 0, size: 0x80_0000, hostAddress: 0x7F00_0000_1000, name: "ram"),
    ]) }
    static var earlier: MMUCommandContext {
        var b = Fixture.builder()
        b.map(0x40_1000, to: 0x10_1000, bits: [.present, .writable, .user])
        b.map(0x60_2000, to: 0x12_2000, bits: Fixture.userData)
        b.write(b.entryAddress(0x7FFF_FFFF_E000, level: 1), 0)
        return Fixture.context(b, label: "event 7")
    }
    static var legacy: MMUCommandContext {
        var b = TableBuilder(mode: .legacy32)
        b.map(0xC000_0000, to: 0x12_3440_0000, size: .size4M, bits: [.present, .writable])
        b.map(0x0804_8000, to: 0x0020_0000, bits: [.present, .user])
        var paging = b.context(cr4: .pageSizeExtensions, maxPhysAddrBits: 40)
        paging.cr0 |= CR0Flags.protectionEnable.rawValue
        return MMUCommandContext(memory: b.memory, paging: paging, slots: Fixture.slots,
                                 hostMMUModel: "paravirtual (shadow paging)", positionLabel: "")
    }
}

func runGolden(_ line: String, _ context: MMUCommandContext = GoldenContexts.main, other: MMUCommandContext? = nil,
               json: Bool = false) -> String {
    do {
        return try MMUCommands.run(line.split(separator: " ").map(String.init), context: context, other: other,
                                   json: json)
    } catch {
        return "error: \(error)"
    }
}

var goldenCases: [(name: String, line: String, context: MMUCommandContext, other: MMUCommandContext?, json: Bool)] { [
    ("ptUserWrite", "pt 0x401234 --user --write", GoldenContexts.main, nil, false),
    ("ptDirectMap", "pt 0xffff_8880_0000_1000", GoldenContexts.main, nil, false),
    ("ptNonCanonical", "pt 0x800000000000", GoldenContexts.main, nil, false),
    ("ptLegacy", "pt 0xc0123456", GoldenContexts.legacy, nil, false),
    ("ptLegacyUser", "pt 0x08048123 --user --fetch", GoldenContexts.legacy, nil, false),
    ("ept", "ept 0x401234", GoldenContexts.main, nil, false),
    ("npt", "ept 0xfffc1000 --npt", GoldenContexts.main, nil, false),
    ("eptHole", "ept 0x900000", GoldenContexts.main, nil, false),
    ("walk2d", "walk2d 0x401234 --user", GoldenContexts.fourKiBEPT, nil, false),
    ("shadowText", "shadow 0x401234", GoldenContexts.main, nil, false),
    ("shadowDirectMap", "shadow 0xffff888000003000", GoldenContexts.main, nil, false),
    ("shadowDump", "shadow dump", GoldenContexts.main, nil, false),
    ("ptdumpGuest", "ptdump", GoldenContexts.main, nil, false),
    ("ptdumpEPT", "ptdump ept", GoldenContexts.main, nil, false),
    ("ptdumpNPT", "ptdump npt", GoldenContexts.main, nil, false),
    ("ptdumpLegacy", "ptdump guest", GoldenContexts.legacy, nil, false),
    ("ptdiff", "ptdiff", GoldenContexts.main, GoldenContexts.earlier, false),
    ("eptHoleJSON", "ept 0x900000", GoldenContexts.main, nil, true),
] }

/// Pinned outputs: generated, inspected for correctness and layout, then pasted here.
let goldens: [String: String] = [
    "ptUserWrite": #"""
        pt 0x0000000000401234: 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), user write, at event 42
        recording host MMU: EPT | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags    effective
          PML4E  0x0000000000001000      0  0x0000000000001000  0x0000000000002007  P RW US  RW user x
          PDPTE  0x0000000000002000      0  0x0000000000002000  0x0000000000003007  P RW US  RW user x
          PDE    0x0000000000003000      2  0x0000000000003010  0x0000000000004007  P RW US  RW user x
          PTE    0x0000000000004000      1  0x0000000000004008  0x0000000000101005  P US     ro user x
          => #PF, error code 0x0007 (P W U) at PTE: user write to a read-only page (R/W=0 at PTE)
        """#,
    "ptDirectMap": #"""
        pt 0xffff888000001000: 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), supervisor read, at event 42
        recording host MMU: EPT | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags         effective
          PML4E  0x0000000000001000    273  0x0000000000001888  0x0000000000009007  P RW US       RW user x
          PDPTE  0x0000000000009000      0  0x0000000000009000  0x000000000000a007  P RW US       RW user x
          PDE    0x000000000000a000      0  0x000000000000a000  0x8000000000000183  P RW PS G NX  RW kern NX
          => gpa 0x0000000000001000 (2M page 0x0000000000000000 + 0x1000): RW kern NX, global
        """#,
    "ptNonCanonical": #"""
        pt 0x0000800000000000: 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), supervisor read, at event 42
        recording host MMU: EPT | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          => #GP(0): 0x0000800000000000 is not canonical for 4-level paging: bits 63:47 must all equal bit 47; the CPU raises #GP(0) (#SS for stack accesses), not #PF
        """#,
    "ptLegacy": #"""
        pt 0xc0123456: 32-bit paging (CR3 0x00001000; WP PSE), supervisor read
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table       index  entry at    value       flags    effective
          PDE    0x00001000    768  0x00001c00  0x34424083  P RW PS  RW kern x
          => gpa 0x0000001234523456 (4M page 0x0000001234400000 + 0x123456): RW kern x
        """#,
    "ptLegacyUser": #"""
        pt 0x08048123: 32-bit paging (CR3 0x00001000; WP PSE), user fetch
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table       index  entry at    value       flags    effective
          PDE    0x00001000     32  0x00001080  0x00002007  P RW US  RW user x
          PTE    0x00002000     72  0x00002120  0x00200005  P US     ro user x
          => gpa 0x0000000000200123 (4K page 0x0000000000200000 + 0x123): ro user x
        """#,
    "ept": #"""
        ept 0x0000000000401234: EPT, 4 levels, EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at event 42
        recording host MMU: EPT | this view: EPT (second stage, guest-physical -> host), built from 2 memory slots

          level      table               index  entry at            value               flags            effective
          EPT PML4E  0x0000007f00000000      0  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          EPT PDPTE  0x0000007f00001000      0  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          EPT PDE    0x0000007f00002000      2  0x0000007f00002010  0x00007f00004000f7  R W X WB IPAT L  RWX
          => slot "ram" [0x0-0x800000): hva 0x00007f0000401234, host frame 0x23456 (hpa 0x0000000023456234); 2M page, RWX
        """#,
    "npt": #"""
        npt 0x00000000fffc1000: NPT, 4 levels, nCR3 0x0000007f00000000, at event 42
        recording host MMU: EPT | this view: NPT (second stage, guest-physical -> host), built from 2 memory slots

          level      table               index  entry at            value               flags    effective
          NPT PML4E  0x0000007f00000000      0  0x0000007f00000000  0x0000007f00001007  P RW US  RWX
          NPT PDPTE  0x0000007f00001000      3  0x0000007f00001018  0x0000007f00003007  P RW US  RWX
          NPT PDE    0x0000007f00003000    511  0x0000007f00003ff8  0x0000007f00004007  P RW US  RWX
          NPT PTE    0x0000007f00004000    449  0x0000007f00004e08  0x00007f1000001005  P US     R-X
          => slot "rom" [0xfffc0000-0x100000000) read-only: hva 0x00007f1000001000, host frame n/a: page not present; 4K page, R-X
        """#,
    "eptHole": #"""
        ept 0x0000000000900000: EPT, 4 levels, EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at event 42
        recording host MMU: EPT | this view: EPT (second stage, guest-physical -> host), built from 2 memory slots

          level      table               index  entry at            value               flags  effective
          EPT PML4E  0x0000007f00000000      0  0x0000007f00000000  0x0000007f00001007  R W X  RWX
          EPT PDPTE  0x0000007f00001000      0  0x0000007f00001000  0x0000007f00002007  R W X  RWX
          EPT PDE    0x0000007f00002000      4  0x0000007f00002020  0x0000000000000000         -
          => EPT violation: EPT PDE 4 is not present (no memory slot: KVM exits for MMIO)
        """#,
    "walk2d": #"""
        walk2d 0x0000000000401234: 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP) over EPT (4 levels), user read, at event 42
        recording host MMU: EPT | this view: two-dimensional walk (each guest-physical reference translated through EPT)

           #  reference     entry at            value               flags          effective
          guest PML4E at gpa 0x0000000000001000
           1  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X          RWX
           2  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X          RWX
           3  EPT PDE[0]    0x0000007f00002000  0x0000007f00003007  R W X          RWX
           4  EPT PTE[1]    0x0000007f00003008  0x00007f0000002077  R W X WB IPAT  RWX
                -> hva 0x00007f0000002000 (4K page of slot "ram")
           5  PML4E[0]      0x0000000000001000  0x0000000000002007  P RW US        RW user x
          guest PDPTE at gpa 0x0000000000002000
           6  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X          RWX
           7  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X          RWX
           8  EPT PDE[0]    0x0000007f00002000  0x0000007f00003007  R W X          RWX
           9  EPT PTE[2]    0x0000007f00003010  0x00007f0000003077  R W X WB IPAT  RWX
                -> hva 0x00007f0000003000 (4K page of slot "ram")
          10  PDPTE[0]      0x0000000000002000  0x0000000000003007  P RW US        RW user x
          guest PDE at gpa 0x0000000000003010
          11  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X          RWX
          12  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X          RWX
          13  EPT PDE[0]    0x0000007f00002000  0x0000007f00003007  R W X          RWX
          14  EPT PTE[3]    0x0000007f00003018  0x00007f0000004077  R W X WB IPAT  RWX
                -> hva 0x00007f0000004010 (4K page of slot "ram")
          15  PDE[2]        0x0000000000003010  0x0000000000004007  P RW US        RW user x
          guest PTE at gpa 0x0000000000004008
          16  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X          RWX
          17  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X          RWX
          18  EPT PDE[0]    0x0000007f00002000  0x0000007f00003007  R W X          RWX
          19  EPT PTE[4]    0x0000007f00003020  0x00007f0000005077  R W X WB IPAT  RWX
                -> hva 0x00007f0000005008 (4K page of slot "ram")
          20  PTE[1]        0x0000000000004008  0x0000000000101005  P US           ro user x
          data page at gpa 0x0000000000101234
          21  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X          RWX
          22  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X          RWX
          23  EPT PDE[0]    0x0000007f00002000  0x0000007f00003007  R W X          RWX
          24  EPT PTE[257]  0x0000007f00003808  0x00007f0000102077  R W X WB IPAT  RWX
                -> hva 0x00007f0000102234 (4K page of slot "ram")
          => gpa 0x0000000000101234, hva 0x00007f0000102234: guest 4K page over EPT 4K page, ro user x
          a TLB miss costs 24 memory references = 4 guest + 4+4+4+4+4 nested
        """#,
    "shadowText": #"""
        shadow 0x0000000000401234: shadow paging of 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), at event 42
        recording host MMU: EPT | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags    effective
          PML4E  0x0000000000001000      0  0x0000000000001000  0x0000000000002007  P RW US  RW user x
          PDPTE  0x0000000000002000      0  0x0000000000002000  0x0000000000003007  P RW US  RW user x
          PDE    0x0000000000003000      2  0x0000000000003010  0x0000000000004007  P RW US  RW user x
          PTE    0x0000000000004000      1  0x0000000000004008  0x0000000000101005  P US     ro user x
          guest: gpa 0x0000000000101234 (4K page 0x0000000000101000 + 0x234): ro user x
          shadow  gva 0x0000000000401000 -> hva 0x00007f0000101000  4K  PTE 0x00007f0000101025  P US A
          => hva 0x00007f0000101234, host frame 0x12345 (hpa 0x0000000012345000); ro user x, slot "ram" [0x0-0x800000)
        """#,
    "shadowDirectMap": #"""
        shadow 0xffff888000003000: shadow paging of 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), at event 42
        recording host MMU: EPT | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags         effective
          PML4E  0x0000000000001000    273  0x0000000000001888  0x0000000000009007  P RW US       RW user x
          PDPTE  0x0000000000009000      0  0x0000000000009000  0x000000000000a007  P RW US       RW user x
          PDE    0x000000000000a000      0  0x000000000000a000  0x8000000000000183  P RW PS G NX  RW kern NX
          guest: gpa 0x0000000000003000 (2M page 0x0000000000000000 + 0x3000): RW kern NX, global
          shadow  gva 0xffff888000003000 -> hva 0x00007f0000003000  4K  PTE 0x80007f0000003021  P A NX
          => hva 0x00007f0000003000, host frame n/a: page not present; ro kern NX, slot "ram" [0x0-0x800000)
          => write-protected: the page holds guest page tables, so the shadow entry is read-only and guest writes to it exit to the hypervisor
          => 4K instead of the guest's 2M: the guest 2M page holds write-protected guest page tables
        """#,
    "shadowDump": #"""
        shadow dump: shadow paging of 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), at event 42
        recording host MMU: EPT | this view: shadow page tables (guest-virtual -> host)

          ---[ lower half ]---
          0x0000000000400000-0x0000000000403000    12K  ro user x       PTE  -> hva 0x00007f0000100000  ram
          0x0000000000600000-0x0000000000602000     8K  RW user NX      PTE  -> hva 0x00007f0000120000  ram
          0x00007fffffffe000-0x00007ffffffff000     4K  RW user NX      PTE  -> hva 0x00007f0000130000  ram
          ---[ upper half ]---
          0xffff888000000000-0xffff888000001000     4K  RW kern NX      PTE  -> hva 0x00007f0000000000  ram
          0xffff888000001000-0xffff88800000d000    48K  ro kern NX  wp  PTE  -> hva 0x00007f0000001000  ram
          0xffff88800000d000-0xffff888000200000  1996K  RW kern NX      PTE  -> hva 0x00007f000000d000  ram
          0xffff888000200000-0xffff888000800000     6M  RW kern NX      PDE  -> hva 0x00007f0000200000  ram
          0xffffffff80000000-0xffffffff80200000     2M  ro kern x       PDE  -> hva 0x00007f0000600000  ram

        8 ranges; shadow tables need 13 pages (1 PML4, 4 PDPT, 4 PD, 4 PT) vs 5 EPT table pages for the same VM
        12 write-protected guest page-table frames: 0x1000 0x2000 0x3000 0x4000 0x5000 0x6000 0x7000 0x8000 ... (+4 more)
        """#,
    "ptdumpGuest": #"""
        ptdump guest: 4-level paging (CR3 0x0000000000001000; WP NXE SMEP SMAP), at event 42
        recording host MMU: EPT | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          ---[ lower half ]---
          0x0000000000400000-0x0000000000403000  12K  ro user x      PTE  -> gpa 0x0000000000100000
          0x0000000000600000-0x0000000000602000   8K  RW user NX     PTE  -> gpa 0x0000000000120000
          0x00007fffffffe000-0x00007ffffffff000   4K  RW user NX     PTE  -> gpa 0x0000000000130000
          ---[ upper half ]---
          0xffff888000000000-0xffff888000800000   8M  RW kern NX  G  PDE  -> gpa 0x0000000000000000
          0xffffffff80000000-0xffffffff80200000   2M  ro kern x   G  PDE  -> gpa 0x0000000000600000

        5 ranges, 10264K mapped by 11 leaf entries in 12 table pages
        """#,
    "ptdumpEPT": #"""
        ptdump ept: EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at event 42
        recording host MMU: EPT | this view: EPT (second stage, guest-physical -> host)

          0x0000000000000000-0x0000000000800000    8M  RWX  WB IPAT  EPT PDE  -> hva 0x00007f0000000000  ram
          0x00000000fffc0000-0x0000000100000000  256K  R-X  WB IPAT  EPT PTE  -> hva 0x00007f1000000000  rom

        2 ranges, 8448K mapped by 68 leaf entries in 5 table pages; EPTP 0x0000007f0000005e
        """#,
    "ptdumpNPT": #"""
        ptdump npt: nCR3 0x0000007f00000000, at event 42
        recording host MMU: EPT | this view: NPT (second stage, guest-physical -> host)

          0x0000000000000000-0x0000000000800000    8M  RWX    NPT PDE  -> hva 0x00007f0000000000  ram
          0x00000000fffc0000-0x0000000100000000  256K  R-X    NPT PTE  -> hva 0x00007f1000000000  rom

        2 ranges, 8448K mapped by 68 leaf entries in 5 table pages; nCR3 0x0000007f00000000
        """#,
    "ptdumpLegacy": #"""
        ptdump guest: 32-bit paging (CR3 0x00001000; WP PSE)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          0x08048000-0x08049000  4K  ro user x    PTE  -> gpa 0x0000000000200000
          0xc0000000-0xc0400000  4M  RW kern x    PDE  -> gpa 0x0000001234400000

        2 ranges, 4100K mapped by 2 leaf entries in 2 table pages
        """#,
    "ptdiff": #"""
        ptdiff guest: event 7 -> event 42
        recording host MMU: EPT | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          ~  0x0000000000401000-0x0000000000402000  4K  ro user x     PTE  -> gpa 0x0000000000101000
             was                                    4K  RW user x     PTE  -> gpa 0x0000000000101000
          -  0x0000000000602000-0x0000000000603000  4K  RW user NX    PTE  -> gpa 0x0000000000122000
          +  0x00007fffffffe000-0x00007ffffffff000  4K  RW user NX    PTE  -> gpa 0x0000000000130000

        1 added, 1 removed, 1 changed
        """#,
    "eptHoleJSON": #"""
        {
          "command": "ept",
          "position": "event 42",
          "hostMMU": "EPT",
          "view": "ept",
          "result": {
            "pointer": 545460846686,
            "walk": {
              "gpa": 9437184,
              "format": "EPT",
              "steps": [
                {
                  "level": "EPT PML4E",
                  "table": 545460846592,
                  "index": 0,
                  "entryAddress": 545460846592,
                  "value": 545460850695,
                  "flags": [
                    "R",
                    "W",
                    "X"
                  ],
                  "permissions": {
                    "read": true,
                    "write": true,
                    "execute": true,
                    "user": false
                  }
                },
                {
                  "level": "EPT PDPTE",
                  "table": 545460850688,
                  "index": 0,
                  "entryAddress": 545460850688,
                  "value": 545460854791,
                  "flags": [
                    "R",
                    "W",
                    "X"
                  ],
                  "permissions": {
                    "read": true,
                    "write": true,
                    "execute": true,
                    "user": false
                  }
                },
                {
                  "level": "EPT PDE",
                  "table": 545460854784,
                  "index": 4,
                  "entryAddress": 545460854816,
                  "value": 0,
                  "flags": [],
                  "permissions": {
                    "read": false,
                    "write": false,
                    "execute": false,
                    "user": false
                  }
                }
              ],
              "outcome": {
                "result": "violation",
                "level": "PDE",
                "reason": "EPT violation: EPT PDE 4 is not present (no memory slot: KVM exits for MMIO)"
              }
            }
          }
        }
        """#,
]

@Suite("Golden views")
struct GoldenViewTests {
    @Test(arguments: goldenCases.map(\.name))
    func view(_ name: String) {
        let c = goldenCases.first { $0.name == name }!
        let actual = runGolden(c.line, c.context, other: c.other, json: c.json)
        let expected = goldens[name]
        #expect(expected != nil, "no golden for \(name)")
        if let expected, actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
            Issue.record("\(name) differs at line \(first + 1):\n  got:  \(first < a.count ? String(a[first]) : "<end>")\n  want: \(first < e.count ? String(e[first]) : "<end>")")
        }
    }

    @Test func walk2dJSONNumbersEveryReference() {
        let json = runGolden("walk2d 0x401234 --user", GoldenContexts.fourKiBEPT, json: true)
        #expect(json.contains("\"referenceCount\": 24"))
        for n in 1...24 { #expect(json.contains("\"number\": \(n),")) }
        #expect(!json.contains("\"number\": 25,"))
        #expect(json.hasPrefix("{") && json.hasSuffix("}"))
    }

    /// x86 mappings that are present are readable: the dumps' JSON says so,
    /// as pt's does (the text leaves R implied).
    @Test func dumpJSONMarksPresentMappingsReadable() {
        for line in ["ptdump", "shadow dump"] {
            let json = runGolden(line, GoldenContexts.main, json: true)
            #expect(json.contains("\"read\": true"), "\(line)")
            #expect(!json.contains("\"read\": false"), "\(line)")
        }
    }

    @Test func everyHeaderNamesBothModels() {
        for c in goldenCases where !c.json && !c.line.hasPrefix("pt x") {
            let out = runGolden(c.line, c.context, other: c.other)
            let second = out.split(separator: "\n").dropFirst().first ?? ""
            #expect(second.hasPrefix("recording host MMU: \(c.context.hostMMUModel) | this view: "), "\(c.name)")
        }
    }
}
