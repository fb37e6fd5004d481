/// Every guest-physical address, port and number of the vmrr guest protocol v1.
///
/// This is the one place these numbers live; docs/GUEST.md draws the same
/// table for people who write guests. All boot structures lie below 1 MiB and
/// none of them uses page 0, so a null-pointer access in a guest never hits a
/// boot structure. The guest image itself is loaded at or above 1 MiB.
///
/// Guest-physical memory map (default 64 MiB of RAM):
///
///     0x0000_0000 - 0x0000_0fff  page 0: unused, never written by vmrr
///     0x0000_1000 - 0x0000_1027  GDT (null, code 0x08, data 0x10, TSS 0x18 x2)
///     0x0000_2000 - 0x0000_2067  TSS (104 bytes, zeroed)
///     0x0000_3000 - 0x0000_3fff  PML4
///     0x0000_4000 - 0x0000_4fff  PDPT
///     0x0000_5000 - 0x0000_8fff  4 page directories (2 MiB pages, 0 - 4 GiB)
///     0x0000_9000 - 0x0000_9fff  command line, NUL-terminated
///     0x0002_0000 - 0x0007_ffff  boot stack (384 KiB, grows down from 0x8_0000)
///     0x0010_0000 -              guest image (PT_LOAD segments), then free RAM
///     0xc000_0000 - 0xffff_ffff  hole: never RAM (devices live here)
///     0xfeb0_0000                paravirtual clock (8-byte read)
///     0xfeb0_0008                paravirtual one-shot timer (8-byte write)
///     0x1_0000_0000 -            RAM beyond 3 GiB, when `--memory` exceeds 3 GiB
public enum Layout {
    // MARK: Sizes

    /// Size of a 4 KiB page.
    public static let pageSize: UInt64 = 4096
    /// Size of a 2 MiB large page, the unit of the boot identity map and of `--memory`.
    public static let largePageSize: UInt64 = 2 << 20
    /// Bytes mapped by the boot identity map: the first 4 GiB.
    public static let identityMapSize: UInt64 = 4 << 30

    // MARK: Boot structures (all below 1 MiB, none on page 0)

    /// The GDT: null, code (0x08), data (0x10), then the 16-byte TSS descriptor (0x18).
    public static let gdtAddress: UInt64 = 0x1000
    /// Number of 8-byte GDT slots used (the TSS descriptor takes two).
    public static let gdtEntryCount = 5
    /// The GDTR limit: the size of the table minus one.
    public static let gdtLimit = UInt16(gdtEntryCount * 8 - 1)

    /// A zeroed 64-bit TSS; TR points here and is marked busy.
    public static let tssAddress: UInt64 = 0x2000
    /// Size of a 64-bit TSS without an I/O permission bitmap.
    public static let tssSize: UInt64 = 104

    /// The PML4; CR3 holds this address.
    public static let pml4Address: UInt64 = 0x3000
    /// The single PDPT; its first four entries point at the page directories.
    public static let pdptAddress: UInt64 = 0x4000
    /// The first of 4 consecutive page directories; directory i maps GiB i.
    public static let pdAddress: UInt64 = 0x5000
    /// Number of page directories (one per GiB of the identity map).
    public static let pdCount = 4

    /// The command line, NUL-terminated; RSI points here when it is not empty.
    public static let commandLineAddress: UInt64 = 0x9000
    /// Longest command line in bytes (UTF-8), not counting the terminating NUL.
    public static let commandLineMax = 4095

    /// Lowest address of the boot stack.
    public static let bootStackBottom: UInt64 = 0x2_0000
    /// Initial RSP: one past the top of the boot stack, 16-byte aligned
    /// (as it is just before a `call`).
    public static let bootStackTop: UInt64 = 0x8_0000

    /// Every PT_LOAD segment must start at or above this address (1 MiB).
    public static let imageMinimumAddress: UInt64 = 1 << 20

    // MARK: RAM

    /// RAM size when `--memory` is not given: 64 MiB.
    public static let defaultMemorySize: UInt64 = 64 << 20
    /// Smallest allowed RAM size: 2 MiB.
    public static let minimumMemorySize: UInt64 = 2 << 20
    /// Largest allowed RAM size: 64 GiB.
    public static let maximumMemorySize: UInt64 = 64 << 30
    /// RAM sizes must be a multiple of this (2 MiB).
    public static let memorySizeGranularity: UInt64 = 2 << 20
    /// Start of the guest-physical hole below 4 GiB that is never RAM (3 GiB).
    /// RAM beyond this size continues at `highMemoryStart`.
    public static let memoryHoleStart: UInt64 = 0xC000_0000
    /// Where RAM beyond `memoryHoleStart` bytes continues (4 GiB).
    public static let highMemoryStart: UInt64 = 1 << 32

    /// The guest-physical ranges backed by RAM for a machine of `memorySize`
    /// bytes: `[0, min(size, 3 GiB))`, and `[4 GiB, 4 GiB + size - 3 GiB)`
    /// when the size exceeds 3 GiB. The executor creates one memory slot per range.
    public static func ramRanges(memorySize: UInt64) -> [Range<UInt64>] {
        if memorySize <= memoryHoleStart { return [0..<memorySize] }
        return [0..<memoryHoleStart, highMemoryStart..<(highMemoryStart + memorySize - memoryHoleStart)]
    }

    // MARK: Segment selectors

    /// The 64-bit code segment (CS).
    public static let codeSelector: UInt16 = 0x08
    /// The flat data segment (DS, ES, FS, GS, SS).
    public static let dataSelector: UInt16 = 0x10
    /// The TSS (TR).
    public static let tssSelector: UInt16 = 0x18

    // MARK: COM1, a 16550 UART

    /// First port of COM1; the registers follow at the offsets below.
    public static let com1Base: UInt16 = 0x3F8
    /// Number of COM1 ports (0x3F8 - 0x3FF).
    public static let com1PortCount: UInt16 = 8
    /// Offset of THR (write: transmit a byte) and RBR (read: next input byte).
    public static let uartTHR: UInt16 = 0
    /// Same register as `uartTHR`, read side.
    public static let uartRBR: UInt16 = 0
    /// Interrupt enable register (writes ignored, reads 0).
    public static let uartIER: UInt16 = 1
    /// Interrupt identification register (reads `uartIIRNoInterrupt`).
    public static let uartIIR: UInt16 = 2
    /// Line control register (writes ignored, reads 0).
    public static let uartLCR: UInt16 = 3
    /// Modem control register (writes ignored, reads 0).
    public static let uartMCR: UInt16 = 4
    /// Line status register; see `LineStatus`.
    public static let uartLSR: UInt16 = 5
    /// Modem status register (reads 0).
    public static let uartMSR: UInt16 = 6
    /// Scratch register (writes ignored, reads 0).
    public static let uartSCR: UInt16 = 7
    /// What an IIR read returns: bit 0 set, "no interrupt pending".
    public static let uartIIRNoInterrupt: UInt8 = 0x01

    /// Bits of the 16550 line status register.
    public struct LineStatus: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Data ready: an input byte can be read from RBR.
        public static let dataReady = LineStatus(rawValue: 1 << 0)
        /// Transmit holding register empty: a byte may be written to THR.
        public static let thrEmpty = LineStatus(rawValue: 1 << 5)
        /// Transmitter empty.
        public static let transmitterEmpty = LineStatus(rawValue: 1 << 6)
    }

    /// The byte RBR delivers once when console input ends (ASCII EOT, ^D);
    /// after it, LSR never reports data ready again.
    public static let eotByte: UInt8 = 0x04

    // MARK: Other devices

    /// Writing V to this port ends the run with exit status V & 0xFF.
    public static let debugExitPort: UInt16 = 0x501
    /// An 8-byte read returns nanoseconds since boot.
    public static let clockGPA: UInt64 = 0xFEB0_0000
    /// An 8-byte write of a clock deadline in ns arms the one-shot timer; 0 disarms.
    public static let timerGPA: UInt64 = 0xFEB0_0008
    /// First byte of the paravirtual device page.
    public static let paravirtPageGPA: UInt64 = 0xFEB0_0000
    /// The vector the timer injects.
    public static let timerVector: UInt8 = 0x20

    // MARK: Exit statuses

    /// Exit status of a run that ended in a triple fault: 128 + 2.
    public static let shutdownExitStatus: Int32 = 130
    /// Exit status of a run that ended with HLT, interrupts disabled, no timer armed.
    public static let haltExitStatus: Int32 = 0

    // MARK: Other entry state

    /// IA32_APIC_BASE at entry: its architectural reset value
    /// (base 0xFEE0_0000, bootstrap processor, enabled).
    public static let apicBaseAtEntry: UInt64 = 0xFEE0_0000 | apicBaseBSP | apicBaseEnable
    /// IA32_APIC_BASE bit 8: this is the bootstrap processor.
    public static let apicBaseBSP: UInt64 = 1 << 8
    /// IA32_APIC_BASE bit 11: the local APIC is enabled.
    public static let apicBaseEnable: UInt64 = 1 << 11
}
