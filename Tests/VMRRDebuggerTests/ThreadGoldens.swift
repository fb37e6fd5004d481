// The golden transcript of the threads commands on the smp guest's
// two-vCPU journal (GoldenTests.swift runs it).

let threadGoldens: [String: String] = [
    "threads": #"""
        (vmrr 0) info threads
          Id Target Id        Frame
        * 1  vCPU 0 (running) 0x40000c
          2  vCPU 1           (vCPU 1 has not run by event 0 (its registers are known from its first event on))
        (vmrr 0) thread
        [Current thread is 1 (vCPU 0)]
        (vmrr 0) thread 2
        [Switching to thread 2 (vCPU 1)]
        (vmrr 0) info registers rip
        vCPU 1 has not run by event 0 (its registers are known from its first event on)
        (vmrr 0) goto 130
        #    130  rip=0x0000000000000000  switch       to vcpu=1
        (vmrr 130) info threads
          Id Target Id        Frame
          1  vCPU 0           0x400538
        * 2  vCPU 1 (running) 0x0
        (vmrr 130) i r rip rdx
        rip            0x0                0x0
        rdx            0x600              1536
        (vmrr 130) ne
        #    131  rip=0x000000000040019d  mmio         read  gpa=0xfee00020 size=4 value=0x1000000
        (vmrr 131) thread 1
        [Switching to thread 1 (vCPU 0)]
        (vmrr 131) i r rip
        rip            0x400538           0x400538
        (vmrr 131) pe 2
        #    129  rip=0x0000000000400538  io           in  port=0x80 size=1 value=0xff
        (vmrr 129) goto 501
        #    501  rip=0x0000000000400152  checkpoint   id=1
        => 0x400152:  movl   0x45eb8(%rip), %eax
        (vmrr 501) info threads
          Id Target Id        Frame
        * 1  vCPU 0 (running) 0x400152
          2  vCPU 1           0x400150
        (vmrr 501) i r cr3
        cr3            0x43e000           [ PDBR=0x43e000 ]
        (vmrr 501) pt 0x8000000000
        pt 0x0000008000000000: 4-level paging (CR3 0x000000000043e000), supervisor read, at checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags     effective
          PML4E  0x000000000043e000      1  0x000000000043e008  0x0000000000436023  P RW A    RW kern x
          PDPTE  0x0000000000436000      0  0x0000000000436000  0x000000000042e023  P RW A    RW kern x
          PDE    0x000000000042e000      0  0x000000000042e000  0x0000000000426023  P RW A    RW kern x
          PTE    0x0000000000426000      0  0x0000000000426000  0x000000000041e063  P RW A D  RW kern x
          => gpa 0x000000000041e000 (4K page 0x000000000041e000 + 0x0): RW kern x
        (vmrr 501) thread 2
        [Switching to thread 2 (vCPU 1)]
        => 0x400150:  inb    $0x80, %al
        (vmrr 501) i r cr3 rip
        cr3            0x43f000           [ PDBR=0x43f000 ]
        rip            0x400150           0x400150
        (vmrr 501) pt 0x8000000000
        pt 0x0000008000000000: 4-level paging (CR3 0x000000000043f000), supervisor read, at checkpoint 1 (event 501)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags     effective
          PML4E  0x000000000043f000      1  0x000000000043f008  0x0000000000437023  P RW A    RW kern x
          PDPTE  0x0000000000437000      0  0x0000000000437000  0x000000000042f023  P RW A    RW kern x
          PDE    0x000000000042f000      0  0x000000000042f000  0x0000000000427023  P RW A    RW kern x
          PTE    0x0000000000427000      0  0x0000000000427000  0x000000000041f063  P RW A D  RW kern x
          => gpa 0x000000000041f000 (4K page 0x000000000041f000 + 0x0): RW kern x
        (vmrr 501) x/xg 0x8000000000
        0x8000000000:  0x000000005e9c0001
        (vmrr 501) thread 3
        thread 3: no such thread: the journal has 2 vCPUs (threads 1 to 2)
        (vmrr 501) thread 0
        thread: bad thread number '0': threads are numbered from 1: usage: thread [N]
        (vmrr 501) thread x
        thread: bad thread number 'x': threads are numbered from 1: usage: thread [N]
        (vmrr 501) thread 1 2
        thread: unexpected '2': usage: thread [N]
        (vmrr 501) help thread
        thread [N]
          Select thread N (vCPU N-1), or show the selected thread. Breakpoints and watchpoints stop on any
          vCPU. After a motion the selected thread is the vCPU that runs where it stopped, as in gdb.
        """#,
]
