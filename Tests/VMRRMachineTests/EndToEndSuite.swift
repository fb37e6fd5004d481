import Foundation
import Testing

/// Every test that needs /dev/kvm. They drive the built `vmrr` executable
/// (`swift build` first) through record, replay and dump, one at a time.
/// The tests live in extensions: RecordTests, ReplayTests, DivergenceTests,
/// RobustnessTests, RegressionJournalTests.
///
/// scripts/test greps for `Suite "KVM end-to-end" passed` and fails when
/// /dev/kvm exists but a test here was skipped.
@Suite("KVM end-to-end", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct KVMEndToEnd {}

/// Not a KVM test: makes sure a machine with /dev/kvm that vmrr cannot use
/// (permissions, a broken module) fails loudly instead of skipping the suite.
@Test("/dev/kvm present means KVM is usable (no silent skip)")
func kvmPresentMeansAvailable() {
    let present = FileManager.default.fileExists(atPath: "/dev/kvm")
    if present {
        #expect(Fixtures.kvmAvailable, "/dev/kvm exists but vmrr cannot use it (permissions? run as root or join group kvm)")
    } else {
        #expect(!Fixtures.kvmAvailable, "no /dev/kvm, yet KVMSystem.isAvailable is true")
    }
}
