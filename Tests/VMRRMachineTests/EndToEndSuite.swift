// The shared fixtures, process runners and end-to-end helpers, for every
// file of this target (re-exported here so each file need not import them).
@_exported import VMRRTestSupport
import Testing

/// The KVM end-to-end tests that stay beside VMRRMachine: replay,
/// divergence reports, the TSC check and the pc-testdev guest, driving the
/// built `vmrr` (`swift build` first), one at a time. The tests live in
/// extensions: ReplayTests, DivergenceTests, TSCTests, PCDevTests. The
/// vmrr executable's own suite, "KVM end-to-end", is in vmrrTests.
///
/// scripts/test requires every suite enabled by `Fixtures.kvmAvailable` to
/// pass, and fails when /dev/kvm exists but a test here was skipped.
@Suite("KVM end-to-end: replay and devices", .serialized, .endToEndSerial, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct KVMEndToEnd {}
