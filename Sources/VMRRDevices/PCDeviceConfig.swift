import VMRRGuest

/// What the PC devices answer from.
public struct PCDeviceConfig: Sendable {
    /// RAM size, for fw_cfg key 3 and the CMOS memory registers.
    public var memorySize: UInt64
    /// vCPUs, for fw_cfg keys 5 and 0xF: always the real count, 1.
    public var vcpuCount: UInt16 = 1
    /// The command line fw_cfg keys 0x14/0x15 carry.
    public var commandLine: String
    /// Unix time (seconds) the RTC shows at guest clock 0.
    public var rtcEpoch: UInt64
    /// Whether the guest's CPUID offers x2APIC (CPUID.1:ECX[21]); without
    /// it, setting IA32_APIC_BASE.EXTD raises #GP, as on such a CPU.
    public var x2apicAvailable = true

    public init(memorySize: UInt64 = Layout.defaultMemorySize, commandLine: String = "",
                rtcEpoch: UInt64 = Layout.virtualClockEpoch) {
        self.memorySize = memorySize; self.commandLine = commandLine; self.rtcEpoch = rtcEpoch
    }
}
