// swift-tools-version:6.0
import PackageDescription

// Layering (see ARCHITECTURE.md):
//   VMRRJournal, VMRRMMU      pure Swift, no KVM, no C: testable anywhere
//   VMRRReplay                the exit-responder protocol, the replay checker, the debug-target protocol (no KVM)
//   VMRRDebugger              the REPL: libedit, command parsing, rendering (no KVM)
//   VMRRGuest                 guest protocol: layout, boot state, ELF loading (libelf)
//   VMRRKVM                   thin owners of /dev/kvm file descriptors (CKVM shim)
//   VMRRMachine               executor, devices, recorder: the composition of the above
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
        .target(name: "VMRRJournal"),
        .target(name: "VMRRMMU"),
        .target(name: "VMRRReplay", dependencies: ["VMRRJournal", "VMRRMMU"]),
        .target(name: "VMRRGuest", dependencies: ["CLibElf", "CLZ4", "VMRRJournal"]),
        .target(name: "VMRRDebugger", dependencies: ["VMRRReplay", "VMRRJournal", "VMRRMMU", "VMRRGuest", "CEdit", "CCapstone"]),
        .target(name: "VMRRKVM", dependencies: ["CKVM", "VMRRJournal"]),
        .target(name: "VMRRMachine", dependencies: ["VMRRKVM", "VMRRGuest", "VMRRJournal", "VMRRMMU", "VMRRReplay"]),
        .executableTarget(name: "vmrr", dependencies: [
            "VMRRMachine", "VMRRJournal", "VMRRMMU", "VMRRGuest", "VMRRReplay", "VMRRDebugger",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "VMRRJournalTests", dependencies: ["VMRRJournal"], exclude: ["Golden"]),
        .testTarget(name: "VMRRMMUTests", dependencies: ["VMRRMMU"]),
        .testTarget(name: "VMRRGuestTests", dependencies: ["VMRRGuest"]),
        .testTarget(name: "VMRRDebuggerTests", dependencies: ["VMRRDebugger", "VMRRReplay", "VMRRJournal", "VMRRMMU", "VMRRGuest"]),
        .testTarget(name: "VMRRReplayTests", dependencies: ["VMRRReplay", "VMRRJournal"]),
        .testTarget(name: "VMRRMachineTests", dependencies: ["VMRRMachine", "VMRRJournal", "VMRRGuest", "VMRRKVM", "VMRRReplay"]),
    ]
)
