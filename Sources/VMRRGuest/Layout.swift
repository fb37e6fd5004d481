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
///     0x000e_0000 - 0x000f_ffff  ACPI tables, RSDP first (multiboot and Linux guests)
///     0x0010_0000 -              guest image (PT_LOAD segments), then free RAM
///     0xc000_0000 - 0xffff_ffff  hole: never RAM (devices live here)
///     0xfeb0_0000                paravirtual clock (8-byte read)
///     0xfeb0_0008                paravirtual one-shot timer (8-byte write)
///     0xfee0_0000 - 0xfee0_0fff  local APIC (xAPIC MMIO)
///     0xff00_0000 - 0xff00_ffff  pc-testdev memory (RAM-like MMIO)
///
/// A multiboot guest (see "Multiboot v1" below) uses 0x9000 - 0x1ffff for the
/// multiboot information instead of the command line, and no page tables.
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

    /// Where a vmrr-protocol image's segments start when they do not need to
    /// be lower (1 MiB). Segments may lie below it where they leave vmrr's
    /// boot structures free (`vmrrBootStructures`); a multiboot image's may lie
    /// anywhere, vmrr's structures moving clear of it (`lowStructureWindow`).
    public static let imageMinimumAddress: UInt64 = 1 << 20

    /// What a vmrr-protocol image may not overlap: the GDT, TSS and page
    /// tables, the command line page, the boot stack.
    public static let vmrrBootStructures: [(range: Range<UInt64>, what: String)] = [
        (gdtAddress..<(pdAddress + UInt64(pdCount) * pageSize), "vmrr's GDT, TSS and boot page tables"),
        (commandLineAddress..<(commandLineAddress + pageSize), "vmrr's command line page"),
        (bootStackBottom..<bootStackTop, "vmrr's boot stack"),
    ]

    /// The window vmrr's low multiboot structures (GDT, TSS, multiboot
    /// information) may move within when the image covers their usual
    /// place: page 1 up to the end of conventional memory (page 0 is never written).
    public static let lowStructureWindow: Range<UInt64> = pageSize..<conventionalMemoryEnd
    /// The ACPI tables (RSDP first) start here when the image leaves it free,
    /// in the BIOS area a kernel searches for the RSDP.
    public static let acpiTablesAddress: UInt64 = 0xE_0000
    /// The window the ACPI tables may move within: where a kernel searches for the RSDP (0xE0000 - 0xFFFFF).
    public static let acpiSearchWindow: Range<UInt64> = 0xE_0000..<0x10_0000
    /// The RSDP's alignment (a kernel searches on 16-byte boundaries).
    public static let acpiRSDPAlignment: UInt64 = 16

    // MARK: RAM

    /// RAM size when `--memory` is not given: 64 MiB.
    public static let defaultMemorySize: UInt64 = 64 << 20
    /// Smallest allowed RAM size: 2 MiB.
    public static let minimumMemorySize: UInt64 = 2 << 20
    /// Largest allowed RAM size: 64 GiB.
    public static let maximumMemorySize: UInt64 = 64 << 30
    /// The architectural limit of guest-physical addresses (52 bits).
    public static let physicalAddressLimit: UInt64 = 1 << 52
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
    /// Whether a journal header's RAM size is one vmrr can have recorded:
    /// `minimumMemorySize` to `maximumMemorySize` in `memorySizeGranularity` steps.
    public static func isValidMemorySize(_ bytes: UInt64) -> Bool {
        bytes >= minimumMemorySize && bytes <= maximumMemorySize && bytes % memorySizeGranularity == 0
    }

    /// The one-line refusal of a header's RAM size that `isValidMemorySize` rejects.
    public static func memorySizeRefusal(_ bytes: UInt64, journal: String) -> String {
        "\(journal): header asks for \(bytes) bytes of RAM; vmrr allows \(minimumMemorySize >> 20) MiB to \(maximumMemorySize >> 30) GiB in 2 MiB steps"
    }

    /// The guest-physical RAM ranges for `memorySize` bytes (a valid size:
    /// `isValidMemorySize`; larger ones are cut at the architectural 2^52).
    public static func ramRanges(memorySize: UInt64) -> [Range<UInt64>] {
        if memorySize <= memoryHoleStart { return [0..<memorySize] }
        let high = min(memorySize - memoryHoleStart, physicalAddressLimit - highMemoryStart)
        return [0..<memoryHoleStart, highMemoryStart..<(highMemoryStart + high)]
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

    // MARK: Multiboot v1 (docs/GUEST.md, "Multiboot")
    //
    // A multiboot guest uses the same RAM map. Below 1 MiB, vmrr writes a GDT
    // (at `gdtAddress`), a zeroed TSS (at `tssAddress`) and the multiboot
    // information area (`multibootInfoAddress` to `multibootInfoAreaEnd`);
    // the image loads at or above 1 MiB and modules follow it, page-aligned.

    /// The multiboot v1 header's magic, its first field.
    public static let multibootHeaderMagic: UInt32 = 0x1BAD_B002
    /// EAX at a multiboot entry: the boot loader's magic.
    public static let multibootBootloaderMagic: UInt32 = 0x2BAD_B002
    /// Multiboot 2's header magic: recognised only to refuse it by name.
    public static let multiboot2HeaderMagic: UInt32 = 0xE852_50D6
    /// The v1 header lies, 4-byte aligned, entirely within the image's first 8 KiB.
    public static let multibootSearchLimit = 8192
    /// Alignment of the v1 header in the file.
    public static let multibootHeaderAlignment = 4
    /// Multiboot 2 headers are 8-byte aligned within the first 32 KiB.
    public static let multiboot2SearchLimit = 32768

    /// The multiboot information structure (EBX at entry); the memory map,
    /// module list, command lines and boot loader name follow it.
    public static let multibootInfoAddress: UInt64 = 0x9000
    /// End (exclusive) of the multiboot information area: everything the
    /// structure points at lies in `[multibootInfoAddress, multibootInfoAreaEnd)`.
    public static let multibootInfoAreaEnd: UInt64 = 0x2_0000
    /// Number of GDT slots at a multiboot entry: null, 32-bit code 0x08,
    /// data 0x10, 32-bit TSS 0x18.
    public static let multibootGDTEntryCount = 4
    /// The GDTR limit at a multiboot entry.
    public static let multibootGDTLimit = UInt16(multibootGDTEntryCount * 8 - 1)
    /// Size of a 32-bit TSS without an I/O permission bitmap.
    public static let tss32Size: UInt64 = 104
    /// Boot modules start page-aligned at or after the end of the image.
    public static let multibootModuleAlignment: UInt64 = pageSize
    /// The `boot_loader_name` vmrr passes.
    public static let multibootLoaderName = "vmrr"

    /// End of conventional memory (640 KiB): `mem_lower` is this in KiB.
    public static let conventionalMemoryEnd: UInt64 = 0xA_0000
    /// 640 KiB - 1 MiB (VGA window, option ROMs, BIOS): reported reserved.
    public static let legacyHoleEnd: UInt64 = 1 << 20

    // MARK: PC devices (docs/GUEST.md, "PC devices"), for every boot protocol

    /// QEMU's isa-debug-exit as the KVM unit tests configure it: a write of V
    /// to any of these ports ends the run with status `((V << 1) | 1) & 0xFF`.
    public static let isaDebugExitPorts: ClosedRange<UInt16> = 0xF4...0xF7

    /// fw_cfg selector register (16-bit write); a write resets the data offset.
    public static let fwCfgSelectorPort: UInt16 = 0x510
    /// fw_cfg data register: byte reads that advance through the selected item.
    public static let fwCfgDataPort: UInt16 = 0x511
    /// fw_cfg keys vmrr answers (QEMU's legacy numbering).
    public enum FwCfgKey {
        /// "QEMU" (4 bytes).
        public static let signature: UInt16 = 0x00
        /// Interface ID, u32: bit 0, the traditional port interface (no DMA).
        public static let id: UInt16 = 0x01
        /// RAM size in bytes, u64.
        public static let ramSize: UInt16 = 0x03
        /// Number of vCPUs, u16.
        public static let cpuCount: UInt16 = 0x05
        /// Maximum number of vCPUs, u16.
        public static let maxCPUs: UInt16 = 0x0F
        /// Command line size including its NUL, u32.
        public static let commandLineSize: UInt16 = 0x14
        /// Command line bytes, NUL-terminated.
        public static let commandLineData: UInt16 = 0x15
    }

    /// QEMU pc-testdev: a 32-bit scratch register readable back, byte lanes 0xE0-0xE3.
    public static let testDevScratchPorts: ClosedRange<UInt16> = 0xE0...0xE3
    /// QEMU pc-testdev: the page-flush port (writes accepted and ignored).
    public static let testDevFlushPort: UInt16 = 0xE4
    /// QEMU pc-testdev: RAM-like MMIO (reads return what was written).
    public static let testDevMemoryGPA: UInt64 = 0xFF00_0000
    /// Size of the pc-testdev MMIO area: 64 KiB.
    public static let testDevMemorySize: UInt64 = 0x1_0000

    /// PCI configuration mechanism 1: the 32-bit address register.
    public static let pciConfigAddressPort: UInt16 = 0xCF8
    /// PCI configuration mechanism 1: the data window 0xCFC-0xCFF (no device: all ones).
    public static let pciConfigDataPorts: ClosedRange<UInt16> = 0xCFC...0xCFF
    /// The reset control register (byte): a write with `resetControlCPUReset` resets.
    public static let resetControlPort: UInt16 = 0xCF9
    /// Reset control register bit 2: reset the CPU.
    public static let resetControlCPUReset: UInt8 = 1 << 2
    /// The keyboard controller's command/status port.
    public static let keyboardControllerPort: UInt16 = 0x64
    /// Keyboard controller command: pulse the reset line.
    public static let keyboardControllerReset: UInt8 = 0xFE

    /// CMOS RTC index register (bit 7 masks NMI and is ignored).
    public static let cmosIndexPort: UInt16 = 0x70
    /// CMOS RTC data register.
    public static let cmosDataPort: UInt16 = 0x71
    /// The RTC's time at boot with `--clock virtual`: 2025-01-01 00:00:00 UTC.
    public static let virtualClockEpoch: UInt64 = 1_735_689_600

    /// The 8259A PIC pair: master command/data, slave command/data.
    public static let picMasterCommandPort: UInt16 = 0x20
    public static let picMasterDataPort: UInt16 = 0x21
    public static let picSlaveCommandPort: UInt16 = 0xA0
    public static let picSlaveDataPort: UInt16 = 0xA1
    /// The edge/level control registers (ELCR) of the two PICs.
    public static let elcrMasterPort: UInt16 = 0x4D0
    public static let elcrSlavePort: UInt16 = 0x4D1
    /// IRQs 0, 1 and 2 are always edge-triggered, as are IRQs 8 and 13.
    public static let elcrMasterWritable: UInt8 = 0xF8
    public static let elcrSlaveWritable: UInt8 = 0xDE
    /// The 8254 PIT: counters 0-2, then the control word.
    public static let pitCounterPorts: ClosedRange<UInt16> = 0x40...0x42
    public static let pitControlPort: UInt16 = 0x43
    /// System control port B: PIT channel 2 gate, speaker, refresh toggle, OUT2.
    public static let systemControlPort: UInt16 = 0x61
    /// ISA IRQ lines of the legacy devices.
    public static let pitIRQ = 0
    public static let com1IRQ = 4
    /// pc-testdev's interrupt lines: a write of V to port 0x2000 + n sets ISA IRQ n to V.
    public static let testDevIRQPorts: ClosedRange<UInt16> = 0x2000...0x2017

    /// The local APIC's MMIO page (xAPIC mode).
    public static let apicGPA: UInt64 = 0xFEE0_0000
    /// What the APIC version register reads: version 0x14, 6 LVT entries.
    public static let apicVersion: UInt32 = 0x0005_0014

    // MARK: PC platform (issue 14): I/O APIC, HPET, ACPI PM, PCI host bridge, resets
    //
    // The one table of the platform's addresses, ports and interrupt wiring;
    // the ACPI tables (MADT, FADT, HPET) and the device models both read it.

    /// The I/O APIC's MMIO window (IOREGSEL at +0x00, IOWIN at +0x10, EOI at +0x40).
    public static let ioapicGPA: UInt64 = 0xFEC0_0000
    /// Size of the I/O APIC's MMIO window (one page is decoded).
    public static let ioapicSize: UInt64 = 0x1000
    /// The I/O APIC's ID (IOAPICID bits 27:24, the MADT's I/O APIC ID).
    public static let ioapicID: UInt8 = 0
    /// IOAPICVER version (bits 7:0): 0x20, an I/O APIC with the EOI register.
    public static let ioapicVersion: UInt8 = 0x20
    /// Redirection entries (pins) of the I/O APIC: 24, GSIs 0-23.
    public static let ioapicPinCount = 24
    /// The GSI of the I/O APIC's first pin (the MADT's GSI base).
    public static let ioapicGSIBase: UInt32 = 0

    /// ISA IRQ to GSI wiring: identity, except the PIT (IRQ 0), which
    /// reaches GSI 2 (an interrupt source override in the MADT: bus 0,
    /// source 0, GSI 2, flags 0 = conforming edge/high). The SCI is GSI 9,
    /// level-triggered, active high (an override: source 9, GSI 9, flags 0xD).
    public static let pitGSI: UInt32 = 2
    /// COM1 (ISA IRQ 4): GSI 4, edge, active high.
    public static let com1GSI: UInt32 = 4
    /// The ACPI SCI: ISA IRQ 9 = GSI 9 (FADT SCI_INT), level, active high.
    public static let sciIRQ = 9
    public static let sciGSI: UInt32 = 9
    /// MADT interrupt source override flags for the SCI: active high (1), level (3 << 2).
    public static let sciOverrideFlags: UInt16 = 0x000D
    /// The HPET's timers route to GSI 2 and 8 in legacy replacement mode
    /// (timer 0 in place of the PIT, timer 1 in place of the RTC); otherwise
    /// each timer's `Tn_INT_ROUTE_CNF` picks a GSI among those in
    /// `hpetRoutableGSIs` (bits set in its `Tn_INT_ROUTE_CAP`).
    public static let hpetLegacyTimer0GSI: UInt32 = 2
    public static let hpetLegacyTimer1GSI: UInt32 = 8
    /// GSIs an HPET comparator may be routed to (Tn_INT_ROUTE_CAP): 16-23.
    public static let hpetRoutableGSIs: UInt32 = 0x00FF_0000

    /// The HPET's register block (IA-PC HPET 1.0a), 1 KiB decoded.
    public static let hpetGPA: UInt64 = 0xFED0_0000
    public static let hpetSize: UInt64 = 0x400
    /// Comparators (timers) of the HPET.
    public static let hpetTimerCount = 3
    /// The main counter's period in femtoseconds: 10 000 000 fs = 10 ns (100 MHz).
    public static let hpetPeriodFemtoseconds: UInt32 = 10_000_000
    /// The HPET's vendor ID in GCAP_ID (bits 31:16): Intel, as on QEMU.
    public static let hpetVendorID: UInt16 = 0x8086
    /// The HPET block number (the ACPI HPET table's sequence number).
    public static let hpetNumber: UInt8 = 0
    /// The minimum clock tick in periodic mode (the ACPI HPET table's field).
    public static let hpetMinimumTick: UInt16 = 100

    /// The ACPI PM register block in port space (QEMU's PIIX4/ICH9 layout):
    /// PM1a_EVT_BLK (4 bytes: status then enable), PM1a_CNT_BLK (2 bytes),
    /// PM_TMR_BLK (4 bytes). No PM1b blocks, no GPE block, no SMI_CMD:
    /// ACPI is enabled from boot (SCI_EN reads 1).
    public static let acpiPMBase: UInt16 = 0x600
    public static let pm1aEventPort: UInt16 = 0x600
    public static let pm1EventLength: UInt8 = 4
    public static let pm1aControlPort: UInt16 = 0x604
    public static let pm1ControlLength: UInt8 = 2
    public static let pmTimerPort: UInt16 = 0x608
    public static let pmTimerLength: UInt8 = 4
    /// The PM timer's frequency in Hz.
    public static let pmTimerFrequency: UInt64 = 3_579_545
    /// Whether the PM timer counts 32 bits (FADT flags bit 8, TMR_VAL_EXT).
    /// vmrr's is 24 bits, like the PIIX4's; the FADT leaves TMR_VAL_EXT clear.
    public static let pmTimerIs32Bit = false

    /// The FADT's reset register: system I/O port 0xCF9, value 0x06
    /// (`resetControlCPUReset` with the full-reset bit).
    public static let acpiResetValue: UInt8 = 0x06

    /// PCI host bridge at 00:00.0 (an i440FX).
    public static let pciHostVendorID: UInt16 = 0x8086
    public static let pciHostDeviceID: UInt16 = 0x1237
    /// Class code 0x06 (bridge), subclass 0x00 (host bridge), prog-if 0.
    public static let pciHostClass: UInt16 = 0x0600
    /// Revision ID of the i440FX as QEMU presents it.
    public static let pciHostRevision: UInt8 = 0x02

    /// System control port A: bit 0 fast reset (0->1 resets), bit 1 A20 gate.
    public static let systemControlPortA: UInt16 = 0x92
    public static let portAFastReset: UInt8 = 1 << 0
    public static let portAA20: UInt8 = 1 << 1

    /// CMOS register 0x0F: the shutdown status byte read after an INIT.
    public static let cmosShutdownStatus: UInt8 = 0x0F
    /// Shutdown code 0x0A: jump through the 40:67 warm-reset vector (no EOI).
    public static let shutdownJumpNoEOI: UInt8 = 0x0A
    /// Shutdown code 0x05: EOI the PIC, then jump through 40:67.
    public static let shutdownJumpWithEOI: UInt8 = 0x05
    /// The local APIC timer's input clock: one tick per ns (1 GHz, as QEMU's
    /// APIC bus), before the divide configuration.
    public static let apicTimerTickNanoseconds: UInt64 = 1
    /// Reset values of LVT LINT0 and LINT1 as firmware leaves them (virtual
    /// wire mode): LINT0 ExtINT, unmasked (the PIC's INTR); LINT1 NMI.
    public static let apicLINT0AtEntry: UInt32 = 0x700
    public static let apicLINT1AtEntry: UInt32 = 0x400

    /// Where the warm-reset vector lives: offset (16 bits) at 0x467, segment at 0x469.
    public static let warmResetVectorGPA: UInt64 = 0x467
    /// The data segment a BIOS jumps through 40:67 with (DS = 0x40, the BIOS data area).
    public static let biosDataSegment: UInt16 = 0x40

    // MARK: Other entry state

    /// IA32_APIC_BASE at entry: its architectural reset value
    /// (base 0xFEE0_0000, bootstrap processor, enabled).
    public static let apicBaseAtEntry: UInt64 = 0xFEE0_0000 | apicBaseBSP | apicBaseEnable
    /// IA32_APIC_BASE bit 8: this is the bootstrap processor.
    public static let apicBaseBSP: UInt64 = 1 << 8
    /// IA32_APIC_BASE bit 11: the local APIC is enabled.
    public static let apicBaseEnable: UInt64 = 1 << 11

    /// Model-specific registers vmrr answers itself (docs/GUEST.md, "MSRs").
    public enum MSR {
        /// IA32_APIC_BASE.
        public static let apicBase: UInt32 = 0x1B
        /// The x2APIC register MSRs: 0x800 + (xAPIC offset >> 4).
        public static let x2apicFirst: UInt32 = 0x800
        public static let x2apicLast: UInt32 = 0x8FF
    }

    // MARK: Linux x86 boot protocol (docs/GUEST.md section 13)

    /// Where vmrr puts the zero page (struct boot_params, one page).
    public static let linuxZeroPageAddress: UInt64 = 0x1_0000
    /// Where vmrr puts the kernel command line (after the zero page).
    public static let linuxCommandLineAddress: UInt64 = 0x1_1000
    /// Room for the command line, NUL included; the kernel's cmdline_size may lower it.
    public static let linuxCommandLineArea: UInt64 = 0x1000
    /// Where a bzImage's protected-mode kernel is loaded (code32_start): 1 MiB.
    public static let linuxKernelLoadAddress: UInt64 = 1 << 20
    /// Offset of the 64-bit entry (startup_64) from the protected-mode kernel's start.
    public static let linuxEntry64Offset: UInt64 = 0x200
    /// The kernel's boot code segment selector (__BOOT_CS).
    public static let linuxBootCodeSelector: UInt16 = 0x10
    /// The kernel's boot data segment selector (__BOOT_DS).
    public static let linuxBootDataSelector: UInt16 = 0x18
    /// The TSS selector of vmrr's Linux boot GDT.
    public static let linuxTSSSelector: UInt16 = 0x20
    /// Entries in the Linux boot GDT: null, null, code, data, and a 2-entry 64-bit TSS.
    public static let linuxGDTEntryCount = 6
    public static let linuxGDTLimit = UInt16(linuxGDTEntryCount * 8 - 1)
    /// The "HdrS" magic at offset 0x202 of a bzImage, as a little-endian word.
    public static let linuxHeaderMagic: UInt32 = 0x5372_6448
    /// The oldest boot protocol vmrr loads: 2.06 (cmdline_size).
    public static let linuxMinimumProtocol: UInt16 = 0x0206
    /// type_of_loader: 0xFF, "undefined" (no assigned boot loader ID).
    public static let linuxLoaderType: UInt8 = 0xFF
}
