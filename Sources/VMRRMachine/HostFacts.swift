import Glibc
import VMRRBase
import VMRRJournal

/// Facts about the recording host, for the journal header.
public enum HostFacts {
    /// A /proc or /sys file's text without its trailing newline; nil when unreadable.
    static func readText(_ path: String) -> String? {
        (try? FileIO.readText(path, regularOnly: false))?.trimmingTrailingWhitespace()
    }

    public static func absolutePath(_ p: String) -> String {
        if p.hasPrefix("/") { return p }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return p }
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + p
    }

    public static func kernel() -> String {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(u.sysname)) \(field(u.release)) \(field(u.version)) \(field(u.machine))"
    }

    public static func cpuModel() -> String {
        guard let info = readText("/proc/cpuinfo") else { return "unknown" }
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return String(line[line.index(after: colon)...]).trimmingLeadingWhitespace()
            }
        }
        return "unknown"
    }

    /// How the host's KVM virtualizes the guest MMU, from the kvm modules' parameters.
    public static func mmuModel() -> (model: HostMMUModel, detail: String) {
        let sys = "/sys/module"
        var notes: [String] = []
        if let tdp = readText("\(sys)/kvm/parameters/tdp_mmu") { notes.append("kvm.tdp_mmu=\(tdp)") }
        if access("\(sys)/kvm_pvm", F_OK) == 0 {
            notes.insert("kvm_pvm loaded", at: 0)
            return (.paravirtual, notes.joined(separator: ", "))
        }
        if let ept = readText("\(sys)/kvm_intel/parameters/ept") {
            notes.insert("kvm_intel.ept=\(ept)", at: 0)
            return (ept == "Y" ? .ept : .shadow, notes.joined(separator: ", "))
        }
        if let npt = readText("\(sys)/kvm_amd/parameters/npt") {
            notes.insert("kvm_amd.npt=\(npt)", at: 0)
            return (npt == "1" || npt == "Y" ? .npt : .shadow, notes.joined(separator: ", "))
        }
        return (.unknown, notes.isEmpty ? "no kvm vendor module parameters found" : notes.joined(separator: ", "))
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
    func trimmingLeadingWhitespace() -> String {
        String(drop { $0.isWhitespace })
    }
}
