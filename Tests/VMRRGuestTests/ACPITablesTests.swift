import Foundation
import Testing
@testable import VMRRGuest
import VMRRBase

/// The ACPI tables: checksums, pointers, what each platform's tables hold,
/// and ACPICA's own disassembler (`iasl -d`, Debian's acpica-tools) reading them.
@Suite struct ACPITablesTests {
    static let base: UInt64 = 0xE_0000

    static func table(_ t: ACPITables, _ signature: String) -> [UInt8]? {
        guard let at = t.addresses.first(where: { $0.signature == signature })?.gpa else { return nil }
        let o = Int(at - t.base)
        let length = signature == "RSD PTR " ? 36 : Int(le(t.bytes, o + 4, 4))
        return Array(t.bytes[o..<(o + length)])
    }

    static func le(_ b: [UInt8], _ o: Int, _ n: Int) -> UInt64 {
        (0..<n).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) }
    }

    static func sums(_ b: some Collection<UInt8>) -> UInt8 { b.reduce(0, &+) }

    @Test(arguments: [ACPIPlatform.pc, .legacy])
    func everyTableChecksumsAndThePointersAgree(_ p: ACPIPlatform) throws {
        let t = ACPITables.build(platform: p, base: Self.base)
        #expect(t.rsdp == Self.base && t.bytes.count == Int(ACPITables.size(platform: p)))
        let rsdp = try #require(Self.table(t, "RSD PTR "))
        #expect(Self.sums(rsdp[0..<20]) == 0 && Self.sums(rsdp) == 0 && rsdp[15] == 2)
        for (sig, _) in t.addresses where sig != "RSD PTR " && sig != "FACS" {
            let b = try #require(Self.table(t, sig))
            #expect(Self.sums(b) == 0, "\(sig) checksum")
            #expect(Array(b[10..<16]) == Array("VMRR  ".utf8))
        }
        func at(_ sig: String) -> UInt64 { t.addresses.first { $0.signature == sig }!.gpa }
        let rsdt = try #require(Self.table(t, "RSDT")), xsdt = try #require(Self.table(t, "XSDT"))
        #expect(Self.le(rsdp, 16, 4) == at("RSDT") && Self.le(rsdp, 24, 8) == at("XSDT"))
        let expected = ["FACP", "APIC"] + (p.hpet ? ["HPET"] : [])
        #expect((0..<(rsdt.count - 36) / 4).map { Self.le(rsdt, 36 + 4 * $0, 4) } == expected.map(at))
        #expect((0..<(xsdt.count - 36) / 8).map { Self.le(xsdt, 36 + 8 * $0, 8) } == expected.map(at))
        let fadt = try #require(Self.table(t, "FACP"))
        #expect(fadt.count == 276 && Self.le(fadt, 36, 4) == 0 && Self.le(fadt, 40, 4) == 0, "only the 64-bit pointers")
        #expect(Self.le(fadt, 132, 8) == at("FACS") && Self.le(fadt, 140, 8) == at("DSDT"))
        #expect(at("FACS") % 64 == 0)
        #expect(t.bytes == ACPITables.build(platform: p, base: Self.base).bytes, "deterministic")
        #expect(t.bytes != ACPITables.build(platform: p, base: Self.base + 0x100).bytes, "pointers follow the base")
    }

    @Test func thePCPlatformHasTheIOAPICTheOverridesThePMBlockAndTheHPET() throws {
        let t = ACPITables.build(platform: .pc, base: Self.base)
        let madt = try #require(Self.table(t, "APIC"))
        #expect(Self.le(madt, 36, 4) == Layout.apicGPA && Self.le(madt, 40, 4) == 1)
        var entries: [[UInt8]] = []
        var o = 44
        while o < madt.count { entries.append(Array(madt[o..<(o + Int(madt[o + 1]))])); o += Int(madt[o + 1]) }
        #expect(entries.map { $0[0] } == [0, 1, 2, 2, 4])
        #expect(Self.le(entries[1], 4, 4) == Layout.ioapicGPA && Self.le(entries[1], 8, 4) == 0)
        #expect(entries[2][3] == 0 && Self.le(entries[2], 4, 4) == 2 && Self.le(entries[2], 8, 2) == 0, "IRQ 0 -> GSI 2")
        #expect(entries[3][3] == 9 && Self.le(entries[3], 4, 4) == 9 && Self.le(entries[3], 8, 2) == 0xD, "SCI, level, high")
        let fadt = try #require(Self.table(t, "FACP"))
        #expect(Self.le(fadt, 46, 2) == 9 && Self.le(fadt, 76, 4) == UInt64(Layout.pmTimerPort) && fadt[91] == 4)
        #expect(Self.le(fadt, 56, 4) == UInt64(Layout.pm1aEventPort) && Self.le(fadt, 64, 4) == UInt64(Layout.pm1aControlPort))
        #expect(Self.le(fadt, 112, 4) & (1 << 20) == 0, "not hardware-reduced")
        #expect(fadt[116] == 1 && Self.le(fadt, 120, 8) == 0xCF9 && fadt[128] == Layout.acpiResetValue)
        let hpet = try #require(Self.table(t, "HPET"))
        #expect(Self.le(hpet, 44, 8) == Layout.hpetGPA && Self.le(hpet, 36, 4) >> 16 == 0x8086)
        let dsdt = try #require(Self.table(t, "DSDT"))
        #expect(dsdt.count > 36 && dsdt[36] == 0x10, "a Scope(\\_SB) with the PCI root bridge")
    }

    /// `--cpus N`: one processor local APIC entry per vCPU, UID and APIC ID k, enabled.
    @Test func theMADTListsEveryProcessor() throws {
        var p = ACPIPlatform.pc
        p.cpus = 4
        let madt = try #require(Self.table(ACPITables.build(platform: p, base: Self.base), "APIC"))
        var entries: [[UInt8]] = []
        var o = 44
        while o < madt.count { entries.append(Array(madt[o..<(o + Int(madt[o + 1]))])); o += Int(madt[o + 1]) }
        let processors = entries.filter { $0[0] == 0 }
        #expect(processors.map { [$0[2], $0[3]] } == [[0, 0], [1, 1], [2, 2], [3, 3]])
        #expect(processors.allSatisfy { Self.le($0, 4, 4) == 1 })
        #expect(Self.sums(madt) == 0)
        #expect(ACPITables.build(platform: p, base: Self.base).bytes.count == Int(ACPITables.size(platform: p)))
    }

    @Test func absentDevicesAreAbsentFromTheTables() throws {
        let t = ACPITables.build(platform: .legacy, base: Self.base)
        #expect(Self.table(t, "HPET") == nil)
        let madt = try #require(Self.table(t, "APIC"))
        #expect(madt.count == 44 + 8 + 6, "the local APIC and its NMI only")
        let fadt = try #require(Self.table(t, "FACP"))
        #expect(Self.le(fadt, 112, 4) & (1 << 20) != 0, "hardware-reduced: no PM block")
        #expect(Self.le(fadt, 76, 4) == 0 && Self.le(fadt, 46, 2) == 0)
        #expect(try #require(Self.table(t, "DSDT")).count == 36, "no PCI root bridge")
    }

    static let iasl = "/usr/bin/iasl"

    /// Each table through ACPICA's disassembler: it must read it without
    /// complaint and say what the test expects.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: iasl), "requires iasl (Debian acpica-tools; scripts/deps installs it)"))
    func acpicaDisassemblesEveryTable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmrr-acpi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = ACPITables.build(platform: .pc, base: Self.base)
        let expectations: [String: [String]] = [
            "APIC": ["[000h 0000   4]                    Signature : \"APIC\"", "I/O APIC", "Interrupt Source Override",
                     "Address : FEC00000", "Interrupt : 00000002", "Local APIC NMI"],
            "FACP": ["PM Timer Block Address : 00000608", "SCI Interrupt : 0009", "Reset Register", "Address : 0000000000000CF9",
                     "Hypervisor ID : 000000007272",  "Hardware Reduced (V5) : 0"],
            "HPET": ["Hardware Block ID : 8086A201", "Address : 00000000FED00000"],
            "DSDT": ["Device (PCI0)", "EisaId (\"PNP0A03\")", "WordBusNumber", "0x0CF8", "0xC0000000", "0xFEBFFFFF"],
            "RSDT": ["ACPI Table Address   0"], "XSDT": ["ACPI Table Address   0"], "FACS": ["Signature : \"FACS\""],
        ]
        for (sig, wanted) in expectations {
            let bytes = try #require(Self.table(t, sig))
            let file = dir.appendingPathComponent("\(sig.lowercased()).dat")
            try Data(bytes).write(to: file)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.iasl)
            p.arguments = ["-d", file.path]
            p.currentDirectoryURL = dir
            let out = Pipe()
            p.standardOutput = out; p.standardError = out
            try p.run()
            let log = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "iasl -d \(sig): \(log)")
            let dsl = (try? String(contentsOf: dir.appendingPathComponent("\(sig.lowercased()).dsl"), encoding: .utf8)) ?? ""
            #expect(!log.contains("Error") && !log.lowercased().contains("warning"), "\(sig): \(log)")
            #expect(!dsl.contains("**** ") || sig == "DSDT", "\(sig) has no ACPICA complaint lines")
            for w in wanted { #expect(dsl.contains(w), "\(sig): \(w) in\n\(dsl)") }
        }
    }
}
