// swift-tools-version:6.0
import PackageDescription

// Layering (see ARCHITECTURE.md):
//   VMRRBase                  one hex formatter, one file reader, one EINTR funnel, exit statuses, civil time
//   VMRRJournal, VMRRMMU      pure Swift, no KVM, no C: testable anywhere
//   VMRRReplay                the exit-responder protocol, the replay checker, the debug-target protocol (no KVM)
//   VMRRDebugger              the REPL: libedit, command parsing, rendering (no KVM)
//   VMRRGuest                 guest protocol: layout, boot state, ELF loading (libelf)
//   VMRRKVM                   thin owners of /dev/kvm file descriptors (CKVM shim)
//   VMRRDevices               the record-time device models and the PC platform's buses (no KVM)
//   VMRRTimeline              a journal as trace-event JSON (Perfetto) and a self-contained HTML view (zlib for .json.gz)
//   VMRRMachine               executor, recorder, sessions: the composition of the above
//   vmrr                      the command-line tool
let package = Package(
    name: "vmrr",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vmrr", targets: ["vmrr"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "CKVM"),
        .systemLibrary(name: "CLibElf", providers: [.apt(["libelf-dev"])]),
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CEdit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CCapstone", providers: [.apt(["libcapstone-dev"])]),
        .systemLibrary(name: "CDwarf", providers: [.apt(["libdw-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "VMRRBase"),
        .target(name: "VMRRJournal", dependencies: ["VMRRBase"]),
        .target(name: "VMRRMMU", dependencies: ["VMRRBase", "VMRRJournal"]),
        .target(name: "VMRRReplay", dependencies: ["VMRRBase", "VMRRJournal", "VMRRMMU"]),
        .target(name: "VMRRGuest", dependencies: ["VMRRBase", "CLibElf", "CLZ4", "CDwarf", "VMRRJournal"]),
        .target(name: "VMRRTimeline", dependencies: ["VMRRBase", "VMRRJournal", "CZlib"]),
        .target(name: "VMRRDebugger", dependencies: ["VMRRBase", "VMRRReplay", "VMRRJournal", "VMRRMMU", "VMRRGuest", "CEdit", "CCapstone"]),
        .target(name: "VMRRKVM", dependencies: ["VMRRBase", "CKVM", "VMRRJournal"]),
        .target(name: "VMRRDevices", dependencies: ["VMRRBase", "VMRRGuest", "VMRRJournal"]),
        .target(name: "VMRRMachine", dependencies: ["VMRRBase", "VMRRKVM", "VMRRGuest", "VMRRJournal", "VMRRMMU", "VMRRReplay", "VMRRDevices"]),
        .executableTarget(name: "vmrr", dependencies: [
            "VMRRBase", "VMRRMachine", "VMRRJournal", "VMRRMMU", "VMRRGuest", "VMRRReplay", "VMRRDebugger", "VMRRDevices", "VMRRTimeline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Code shared by the test targets (fixture paths, process runners, the
        // end-to-end helpers, the corruption and front-end checks the fuzzer
        // also compiles): a regular target under Tests/, never linked into vmrr.
        .target(name: "VMRRTestSupport", dependencies: ["VMRRBase", "VMRRJournal", "VMRRReplay", "VMRRGuest", "VMRRKVM"],
                 path: "Tests/VMRRTestSupport"),
        .testTarget(name: "VMRRJournalTests", dependencies: ["VMRRBase", "VMRRJournal", "VMRRTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "VMRRMMUTests", dependencies: ["VMRRBase", "VMRRMMU"]),
        .testTarget(name: "VMRRGuestTests", dependencies: ["VMRRBase", "VMRRGuest", "VMRRTestSupport"]),
        .testTarget(name: "VMRRDebuggerTests", dependencies: ["VMRRBase", "VMRRDebugger", "VMRRReplay", "VMRRJournal", "VMRRMMU", "VMRRGuest", "VMRRTestSupport"]),
        .testTarget(name: "VMRRReplayTests", dependencies: ["VMRRBase", "VMRRReplay", "VMRRJournal", "VMRRTestSupport"]),
        .testTarget(name: "VMRRKVMTests", dependencies: ["VMRRBase", "VMRRKVM", "VMRRJournal", "CKVM"]),
        .testTarget(name: "VMRRMachineTests", dependencies: ["VMRRBase", "VMRRMachine", "VMRRJournal", "VMRRGuest", "VMRRKVM", "VMRRReplay", "VMRRDevices", "VMRRTestSupport"]),
        .testTarget(name: "VMRRTimelineTests", dependencies: ["VMRRBase", "VMRRTimeline", "VMRRJournal", "VMRRTestSupport"]),
        .testTarget(name: "VMRRDevicesTests", dependencies: ["VMRRBase", "VMRRDevices", "VMRRJournal", "VMRRGuest"]),
        // The vmrr executable end to end: record, replay, dump, bundles, mmu, the REPL and gdb.
        .testTarget(name: "vmrrTests", dependencies: ["VMRRBase", "VMRRJournal", "VMRRGuest", "VMRRMachine", "VMRRDevices", "VMRRTestSupport"]),
    ]
)
