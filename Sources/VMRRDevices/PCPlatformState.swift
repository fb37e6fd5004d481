import VMRRJournal

/// A device whose whole state goes into checkpoints (docs/JOURNAL.md,
/// "Checkpoint device state"), in its own tagged, versioned record.
protocol CheckpointedDevice: AnyObject {
    func saveState(_ s: inout DeviceStateWriter)
    func restoreState(_ r: inout DeviceStateReader) throws
}

extension PICPair: CheckpointedDevice {}
extension PIT8254: CheckpointedDevice {}
extension UART16550: CheckpointedDevice {}
extension CMOSRTC: CheckpointedDevice {}
extension LocalAPIC: CheckpointedDevice {}
extension IOAPIC: CheckpointedDevice {}
extension HPET: CheckpointedDevice {}
extension ACPIPM: CheckpointedDevice {}
extension PCIHost: CheckpointedDevice {}
extension SystemControlPortA: CheckpointedDevice {}
extension SystemControlPort: CheckpointedDevice {}
extension PCTestDev: CheckpointedDevice {}
extension PCTestDevMemory: CheckpointedDevice {}
extension FwCfg: CheckpointedDevice {}
extension ResetPorts: CheckpointedDevice {}
extension ParavirtualClock: CheckpointedDevice {}

extension PCPlatform {
    /// Every device with its record tag and layout version (bump a
    /// device's version whenever its `saveState` layout changes).
    var checkpointedDevices: [(tag: DeviceStateRecord.Tag, version: UInt8, name: String, device: CheckpointedDevice)] {
        [(.pic, 1, "the PIC pair", pic), (.pit, 2, "the PIT", pit), (.uart, 1, "COM1", uart),
         (.cmos, 1, "the CMOS RTC", cmos), (.localAPIC, 1, "the local APIC", apic), (.ioapic, 1, "the I/O APIC", ioapic),
         (.hpet, 1, "the HPET", hpet), (.acpiPM, 1, "the ACPI PM registers", acpiPM), (.pciHost, 1, "the PCI host bridge", pciHost),
         (.systemControl, 1, "port 0x92", portA), (.systemControlB, 1, "port 0x61", systemControl),
         (.testDev, 1, "pc-testdev", testDev), (.testDevMemory, 1, "pc-testdev memory", testDevMemory),
         (.fwCfg, 1, "fw_cfg", fwCfg), (.resetPorts, 1, "the reset ports", resetPorts),
         (.paravirtualClock, 1, "the paravirtual timer", paravirtualClock)]
            + (aps.isEmpty ? [] : [(.apLocalAPICs, 1, "the APs' local APICs", APICsOfAPs(platform: self))])
    }

    /// Device state for checkpoints (VMRRJournal's `DeviceState`): the
    /// timer deadline, the EOT flag, the clock, and COM1's LCR and MCR, which
    /// a replay needs to tell console output from divisor and loopback
    /// writes (`ConsoleFilter`); then every device's own record.
    public var deviceState: DeviceState {
        let records = checkpointedDevices.map { d -> DeviceStateRecord in
            var w = DeviceStateWriter()
            d.device.saveState(&w)
            return DeviceStateRecord(tag: d.tag.rawValue, version: d.version, bytes: w.bytes)
        }
        return DeviceState(timerDeadline: timerDeadline, deliveredEOT: deliveredEOT, clock: clock.now(),
                           uartLCR: uart.lcr, uartMCR: uart.mcr, devices: records)
    }

    /// `deviceState`, encoded as a checkpoint stores it.
    public func encodeState() -> [UInt8] { deviceState.encoded() }

    /// Restores every device from a checkpoint's state: each record this
    /// vmrr knows (tag and version) replaces that device's state; devices
    /// without a record keep theirs. A record whose bytes do not fit its
    /// layout throws a one-line error naming the device. The guest clock is
    /// the caller's (the state's `clock` says where it stood).
    public func restore(_ state: DeviceState) throws {
        for d in checkpointedDevices {
            guard let record = state.record(d.tag) else { continue }
            guard record.version == d.version else {
                throw JournalError(path: "device state of \(d.name)", offset: nil,
                                   reason: "record version \(record.version); this vmrr reads version \(d.version)")
            }
            var r = DeviceStateReader(record, device: d.name)
            try d.device.restoreState(&r)
            try r.finish()
        }
    }
}
