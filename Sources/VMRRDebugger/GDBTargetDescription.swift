import VMRRBase
import VMRRJournal

/// The machine the gdb stub describes to gdb (`qXfer:features:read:target.xml`):
/// an x86-64 CPU with gdb's standard core, SSE and segment-base features and
/// the system registers as a feature of vmrr's own. Every register carries
/// its number (`regnum`), so gdb numbers registers as the stub does whatever
/// its own default layout is (Debian's gdb puts orig_rax at 57 without a
/// description, which made `$fs_base` read the GS base).
enum GDBTargetDescription {
    /// Where a register's value comes from.
    enum Source: Equatable, Sendable {
        /// A general register, by its index in `GPRegisters.names`.
        case general(Int)
        case rflags
        /// A segment selector (cs, ss, ds, es, fs, gs).
        case selector(Int)
        case fsBase, gsBase
        /// A control register or EFER.
        case system(SystemRegister)
        /// Not recorded by vmrr (x87 and SSE state): shown as unavailable.
        case unrecorded
    }

    enum SystemRegister: String, Sendable, CaseIterable {
        case cr0, cr2, cr3, cr4, cr8, efer
        func value(_ s: SpecialRegisters) -> UInt64 {
            switch self {
            case .cr0: s.cr0
            case .cr2: s.cr2
            case .cr3: s.cr3
            case .cr4: s.cr4
            case .cr8: s.cr8
            case .efer: s.efer
            }
        }
    }

    struct Register: Sendable {
        let name: String
        let bits: Int
        let type: String
        let feature: String
        let source: Source
    }

    static let coreFeature = "org.gnu.gdb.i386.core"
    static let sseFeature = "org.gnu.gdb.i386.sse"
    static let segmentsFeature = "org.gnu.gdb.i386.segments"
    static let systemFeature = "org.vmrr.x86.system"

    /// Every register, in gdb's amd64 order; the index is the register number.
    static let registers: [Register] = {
        var r: [Register] = []
        func add(_ name: String, _ bits: Int, _ type: String, _ feature: String, _ source: Source) {
            r.append(Register(name: name, bits: bits, type: type, feature: feature, source: source))
        }
        for name in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] {
            let type = name == "rbp" || name == "rsp" ? "data_ptr" : "int64"
            add(name, 64, type, coreFeature, .general(GPRegisters.names.firstIndex(of: name)!))
        }
        add("rip", 64, "code_ptr", coreFeature, .general(GPRegisters.names.firstIndex(of: "rip")!))
        add("eflags", 32, "i386_eflags", coreFeature, .rflags)
        for (i, name) in ["cs", "ss", "ds", "es", "fs", "gs"].enumerated() { add(name, 32, "int32", coreFeature, .selector(i)) }
        for i in 0..<8 { add("st\(i)", 80, "i387_ext", coreFeature, .unrecorded) }
        for name in ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"] {
            add(name, 32, "int", coreFeature, .unrecorded)
        }
        for i in 0..<16 { add("xmm\(i)", 128, "vec128", sseFeature, .unrecorded) }
        add("mxcsr", 32, "i386_mxcsr", sseFeature, .unrecorded)
        add("fs_base", 64, "int", segmentsFeature, .fsBase)
        add("gs_base", 64, "int", segmentsFeature, .gsBase)
        for r in SystemRegister.allCases { add(r.rawValue, 64, "int", systemFeature, .system(r)) }
        return r
    }()

    /// The number of the last register the `g` packet carries (the core
    /// feature's segment selectors); gdb reads the others one by one (`p`).
    static let lastInGPacket = 23

    /// Register `n`'s value as gdb's hex (little-endian), "xx.." when vmrr
    /// did not record it or the special registers are not known here; nil
    /// for a number the description does not have.
    static func value(_ n: Int, gp: GPRegisters, sregs: SpecialRegisters?) -> String? {
        guard n >= 0, n < registers.count else { return nil }
        let reg = registers[n]
        let unknown = String(repeating: "x", count: reg.bits / 4)
        switch reg.source {
        case .general(let i): return le(gp[i], 8)
        case .rflags: return le(gp.rflags, 4)
        case .selector(let i):
            guard let s = sregs else { return unknown }
            return le(UInt64([s.cs, s.ss, s.ds, s.es, s.fs, s.gs][i].selector), 4)
        case .fsBase: return sregs.map { le($0.fs.base, 8) } ?? unknown
        case .gsBase: return sregs.map { le($0.gs.base, 8) } ?? unknown
        case .system(let r): return sregs.map { le(r.value($0), 8) } ?? unknown
        case .unrecorded: return unknown
        }
    }

    static func le(_ v: UInt64, _ bytes: Int) -> String {
        hexBytes((0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) })
    }

    /// target.xml: the architecture, the types the standard features use,
    /// and each feature's registers with their numbers.
    static let xml: String = {
        var out = """
            <?xml version="1.0"?>
            <!DOCTYPE target SYSTEM "gdb-target.dtd">
            <target version="1.0">
            <architecture>i386:x86-64</architecture>

            """
        var feature: String?
        for (n, reg) in registers.enumerated() {
            if reg.feature != feature {
                if feature != nil { out += "</feature>\n" }
                feature = reg.feature
                out += "<feature name=\"\(reg.feature)\">\n" + types(reg.feature)
            }
            out += "<reg name=\"\(reg.name)\" bitsize=\"\(reg.bits)\" type=\"\(reg.type)\" regnum=\"\(n)\""
            out += reg.feature == systemFeature ? " group=\"system\"/>\n" : "/>\n"
        }
        return out + "</feature>\n</target>\n"
    }()

    /// The types a feature's registers use that gdb does not predefine.
    static func types(_ feature: String) -> String {
        switch feature {
        case coreFeature:
            let bits = [(0, "CF"), (1, ""), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"), (10, "DF"),
                        (11, "OF"), (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"), (19, "VIF"), (20, "VIP"), (21, "ID")]
            return "<flags id=\"i386_eflags\" size=\"4\">\n"
                + bits.map { "<field name=\"\($0.1)\" start=\"\($0.0)\" end=\"\($0.0)\"/>\n" }.joined()
                + "</flags>\n"
        case sseFeature:
            let mxcsr = ["IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM", "DM", "ZM", "OM", "UM", "PM", "FZ"]
            return """
                <vector id="v4f" type="ieee_single" count="4"/>
                <vector id="v2d" type="ieee_double" count="2"/>
                <vector id="v16i8" type="int8" count="16"/>
                <vector id="v8i16" type="int16" count="8"/>
                <vector id="v4i32" type="int32" count="4"/>
                <vector id="v2i64" type="int64" count="2"/>
                <union id="vec128">
                <field name="v4_float" type="v4f"/>
                <field name="v2_double" type="v2d"/>
                <field name="v16_int8" type="v16i8"/>
                <field name="v8_int16" type="v8i16"/>
                <field name="v4_int32" type="v4i32"/>
                <field name="v2_int64" type="v2i64"/>
                <field name="uint128" type="uint128"/>
                </union>
                <flags id="i386_mxcsr" size="4">

                """
                + mxcsr.enumerated().map { "<field name=\"\($0.element)\" start=\"\($0.offset)\" end=\"\($0.offset)\"/>\n" }.joined()
                + "</flags>\n"
        default:
            return ""
        }
    }
}
