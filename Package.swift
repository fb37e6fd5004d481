// swift-tools-version:6.0
import PackageDescription

// Layering (see ARCHITECTURE.md):
//   VMRRJournal, VMRRMMU      pure Swift, no KVM, no C: testable anywhere
//   VMRRReplay                the exit-responder protocol and the replay checker (no KVM)
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
        .target(name: "VMRRJournal"),
        .target(name: "VMRRMMU"),
        .target(name: "VMRRReplay", dependencies: ["VMRRJournal", "VMRRMMU"]),
        .target(name: "VMRRGuest", dependencies: ["CLibElf", "VMRRJournal"]),
        .target(name: "VMRRKVM", dependencies: ["CKVM", "VMRRJournal"]),
        .target(name: "VMRRMachine", dependencies: ["VMRRKVM", "VMRRGuest", "VMRRJournal", "VMRRMMU", "VMRRReplay"]),
        .executableTarget(name: "vmrr", dependencies: [
            "VMRRMachine", "VMRRJournal", "VMRRMMU", "VMRRGuest", "VMRRReplay",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "VMRRJournalTests", dependencies: ["VMRRJournal"]),
        .testTarget(name: "VMRRMMUTests", dependencies: ["VMRRMMU"]),
        .testTarget(name: "VMRRGuestTests", dependencies: ["VMRRGuest"]),
        .testTarget(name: "VMRRReplayTests", dependencies: ["VMRRReplay", "VMRRJournal"]),
        .testTarget(name: "VMRRMachineTests", dependencies: ["VMRRMachine", "VMRRJournal", "VMRRGuest", "VMRRKVM", "VMRRReplay"]),
    ]
)
