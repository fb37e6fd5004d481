extension ACPITables {
    /// FADT flags (ACPI 6.0 table 5-35) vmrr sets.
    struct FADTFlags: OptionSet {
        let rawValue: UInt32
        /// WBINVD works.
        static let wbinvd = FADTFlags(rawValue: 1 << 0)
        /// C1 (HLT) is supported.
        static let processorC1 = FADTFlags(rawValue: 1 << 2)
        /// No fixed-hardware power button.
        static let powerButtonIsControlMethod = FADTFlags(rawValue: 1 << 4)
        /// No fixed-hardware sleep button.
        static let sleepButtonIsControlMethod = FADTFlags(rawValue: 1 << 5)
        /// The PM timer counts 32 bits (else 24).
        static let timerValueExtended = FADTFlags(rawValue: 1 << 8)
        /// RESET_REG and RESET_VALUE are valid.
        static let resetRegisterSupported = FADTFlags(rawValue: 1 << 10)
        /// Hardware-reduced ACPI: no PM1 blocks, no PM timer, no SCI.
        static let hardwareReduced = FADTFlags(rawValue: 1 << 20)
    }

    /// IA-PC boot architecture flags (FADT offset 109).
    struct BootArchitecture: OptionSet {
        let rawValue: UInt16
        /// Legacy (ISA) devices are present: PIC, PIT, RTC, COM1.
        static let legacyDevices = BootArchitecture(rawValue: 1 << 0)
        /// (Not set: no 8042 keyboard controller; vmrr answers port 0x64 only for its reset command.)
        static let has8042 = BootArchitecture(rawValue: 1 << 1)
        /// No VGA.
        static let vgaNotPresent = BootArchitecture(rawValue: 1 << 2)
        /// MSI is not supported (vmrr has no PCI devices that could use it).
        static let msiNotSupported = BootArchitecture(rawValue: 1 << 3)
    }

    /// The FADT's size for revision 6 (ACPI 6.0), header included.
    static let fadtSize = 276

    /// The FADT's body (ACPI 6.0, table 5-34), revision 6: FACS and DSDT
    /// (the 64-bit pointers only), the SCI, the PM1a event and control blocks
    /// and the PM timer when the platform has them (else hardware-reduced),
    /// no SMI command port (ACPI is on from boot), the reset register (port
    /// 0xCF9), the boot architecture flags, and vmrr's hypervisor vendor ID.
    static func fadtBody(platform: ACPIPlatform, facs: UInt64, dsdt: UInt64) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: fadtSize - headerSize)
        func put(_ offset: Int, _ bytes: [UInt8]) { b.replaceSubrange((offset - headerSize)..<(offset - headerSize + bytes.count), with: bytes) }
        func put(_ offset: Int, _ v: UInt64, _ n: Int) { put(offset, ACPIBytes.le(v, n)) }
        let desktop: UInt64 = 1
        // FIRMWARE_CTRL and DSDT (offsets 36, 40) stay 0: ACPI 6.0 says they
        // must when X_FIRMWARE_CTRL and X_DSDT are set (Linux lists the FACS twice otherwise).
        put(45, desktop, 1)
        var flags: FADTFlags = [.wbinvd, .processorC1, .powerButtonIsControlMethod, .sleepButtonIsControlMethod, .resetRegisterSupported]
        if platform.pmBlock {
            put(46, UInt64(Layout.sciIRQ), 2)
            put(56, UInt64(Layout.pm1aEventPort), 4)
            put(64, UInt64(Layout.pm1aControlPort), 4)
            put(76, UInt64(Layout.pmTimerPort), 4)
            put(88, UInt64(Layout.pm1EventLength), 1)
            put(89, UInt64(Layout.pm1ControlLength), 1)
            put(91, UInt64(Layout.pmTimerLength), 1)
            put(148, ACPIBytes.gas(space: .io, bitWidth: Layout.pm1EventLength * 8, address: UInt64(Layout.pm1aEventPort)))
            put(172, ACPIBytes.gas(space: .io, bitWidth: Layout.pm1ControlLength * 8, address: UInt64(Layout.pm1aControlPort)))
            put(208, ACPIBytes.gas(space: .io, bitWidth: Layout.pmTimerLength * 8, address: UInt64(Layout.pmTimerPort)))
            if Layout.pmTimerIs32Bit { flags.insert(.timerValueExtended) }
        } else {
            flags.insert(.hardwareReduced)
        }
        var boot: BootArchitecture = [.legacyDevices, .vgaNotPresent, .msiNotSupported]
        boot.remove(.has8042)
        put(109, UInt64(boot.rawValue), 2)
        put(112, UInt64(flags.rawValue), 4)
        let byteAccess: UInt8 = 1
        put(116, ACPIBytes.gas(space: .io, bitWidth: 8, address: UInt64(Layout.resetControlPort), accessSize: byteAccess))
        put(128, UInt64(Layout.acpiResetValue), 1)
        put(132, facs, 8); put(140, dsdt, 8)
        put(268, hypervisorVendor, 8)
        return b
    }
}
