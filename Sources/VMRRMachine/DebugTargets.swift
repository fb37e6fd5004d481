import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRReplay

/// The one place that decides how a journal is opened for inspection: on
/// KVM when it is usable and wanted, else from the journal alone.
public enum DebugTargets {
    /// Whether this process can replay on KVM (`/dev/kvm` opens read-write).
    public static var kvmUsable: Bool { KVMSystem.isAvailable }

    /// A `KVMTarget` replaying `reader` when `useKVM` and KVM is usable,
    /// else a `JournalTarget` that says why it cannot execute.
    public static func open(reader: JournalReader, options: ReplayOptions, useKVM: Bool) throws -> DebugTarget {
        // No position exists in a journal without events (a recorder killed right after the header).
        guard reader.eventCount > 0 else { throw DebugError("\(reader.path): the journal has no events") }
        guard useKVM, kvmUsable else { return try journalOnly(reader: reader, kvmRefused: !useKVM) }
        return try KVMTarget(reader: reader, options: options)
    }

    /// A journal-only target; `kvmRefused` when the user asked for no KVM.
    public static func journalOnly(reader: JournalReader, kvmRefused: Bool) throws -> JournalTarget {
        guard Layout.isValidMemorySize(reader.header.memorySize) else {
            throw DebugError(Layout.memorySizeRefusal(reader.header.memorySize, journal: reader.path))
        }
        let why = kvmRefused ? "--no-kvm was given" : "\(KVMSystem.devicePath) is absent or not accessible"
        return try JournalTarget(reader: reader, ramRanges: Layout.ramRanges(memorySize: reader.header.memorySize),
                                 executionUnavailableReason: "\(why); this session reads the journal only")
    }
}
