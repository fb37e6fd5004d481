import Testing
import VMRRTestSupport

/// The KVM tests of the vmrr executable: record, replay, dump, bundles, the
/// multiboot, GNU Mach and Linux guests, assists, robustness and gdb. They
/// drive the built `vmrr` (`swift build` first), one at a time. The tests
/// live in extensions: RecordTests, MultibootTests, RobustnessTests,
/// RegressionJournalTests, AssistTests, GNUMachTests, LinuxKernelTests,
/// GDBTests.
///
/// scripts/test requires every suite enabled by `Fixtures.kvmAvailable` to
/// pass, and fails when /dev/kvm exists but a test here was skipped.
@Suite("KVM end-to-end", .serialized, .endToEndSerial, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct KVMEndToEnd {}
