import VMRRBase

/// One `.symtab` entry (undefined and unnamed symbols are left out).
public struct Symbol: Sendable, Equatable, Hashable {
    public enum Kind: Sendable, Equatable, Hashable {
        case notype, object, function, section, file, other(UInt8)
        init(elfType t: UInt8) {
            switch t {
            case 0: self = .notype
            case 1: self = .object
            case 2: self = .function
            case 3: self = .section
            case 4: self = .file
            default: self = .other(t)
            }
        }
    }
    public enum Binding: Sendable, Equatable, Hashable {
        case local, global, weak, other(UInt8)
        init(elfBinding b: UInt8) {
            switch b {
            case 0: self = .local
            case 1: self = .global
            case 2: self = .weak
            default: self = .other(b)
            }
        }
    }
    public let name: String
    public let value: UInt64
    /// Size in bytes; 0 when unknown (e.g. assembly labels without `.size`).
    public let size: UInt64
    public let kind: Kind
    public let binding: Binding
    /// Defined in no section (SHN_ABS): a constant such as a multiboot
    /// header's flags, not an address.
    public let absolute: Bool

    public init(name: String, value: UInt64, size: UInt64, kind: Kind, binding: Binding, absolute: Bool = false) {
        self.name = name; self.value = value; self.size = size; self.kind = kind; self.binding = binding
        self.absolute = absolute
    }

    /// Code and data symbols; sections, file names and absolute constants are
    /// not addresses to show (a register holding 0 is not `<mb_flags>`).
    var isAddressSymbol: Bool { !absolute && (kind == .function || kind == .object || kind == .notype) }
}

/// The symbols of a guest image, for `lookup` by name and `symbolize` by address.
public struct SymbolTable: Sendable {
    /// All symbols in file order.
    public let all: [Symbol]
    /// Address symbols sorted by value, then sized before unsized, then name.
    private let sorted: [Symbol]

    public init(_ symbols: [Symbol]) {
        all = symbols
        sorted = symbols.filter(\.isAddressSymbol).sorted {
            if $0.value != $1.value { return $0.value < $1.value }
            if ($0.size > 0) != ($1.size > 0) { return $0.size > 0 }
            return $0.name < $1.name
        }
    }

    /// The address of the symbol named `name`; a global one wins over a local one.
    public func lookup(_ name: String) -> UInt64? {
        let matches = all.filter { $0.name == name && $0.kind != .file }
        return (matches.first { $0.binding == .global } ?? matches.first)?.value
    }

    /// `addr` as reports show it: "main" at a symbol, "main+0x12" inside one;
    /// nil where `symbolize` finds no symbol.
    public func label(_ addr: UInt64) -> String? {
        symbolize(addr).map { $0.offset == 0 ? $0.name : "\($0.name)+\(hex($0.offset))" }
    }

    /// The symbol `addr` belongs to, and the offset into it:
    /// - a symbol with a known size that contains `addr` (the innermost, i.e.
    ///   the one starting nearest below `addr`, when several do); otherwise
    /// - the nearest symbol at or below `addr` when its size is unknown (0).
    /// Nil when `addr` lies past the end of the nearest sized symbol below it
    /// and no sized symbol contains it, or below every symbol.
    public func symbolize(_ addr: UInt64) -> (name: String, offset: UInt64)? {
        // Index of the first symbol with value > addr.
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid].value <= addr { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let below = sorted[..<lo]
        if let containing = below.last(where: { $0.size > 0 && addr - $0.value < $0.size }) {
            // Prefer an unsized label inside the containing symbol only when it is nearer.
            if let label = below.last, label.size == 0, label.value > containing.value {
                return (label.name, addr - label.value)
            }
            return (containing.name, addr - containing.value)
        }
        let nearest = below.last!
        return nearest.size == 0 ? (nearest.name, addr - nearest.value) : nil
    }
}
