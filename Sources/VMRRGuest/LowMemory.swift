import VMRRBase

/// Where vmrr's own boot structures go below 1 MiB, clear of the image.
///
/// A multiboot image may load below 1 MiB, as QEMU allows. Each structure
/// vmrr writes (the GDT, the TSS, the multiboot information, the ACPI
/// tables) has a preferred address, the one docs/GUEST.md gives; when the
/// image covers it, the structure moves to the lowest free, aligned place
/// in its window. When none is free, the error names the structure, its
/// window and the image's ranges that fill it.
struct LowMemoryPlanner {
    /// What is taken so far: the image's segments, then each structure placed.
    private(set) var taken: [(range: Range<UInt64>, what: String)]

    init(segments: [LoadSegment]) {
        taken = segments.filter { $0.memsz > 0 }.map { ($0.paddr..<($0.paddr + $0.memsz), "image \($0.summary)") }
    }

    /// Places `size` bytes for `what`: at `preferred` when it is free, else
    /// at the lowest `alignment`-aligned free address in `window`.
    mutating func place(_ what: String, size: UInt64, alignment: UInt64, preferred: UInt64,
                        window: Range<UInt64>) throws -> UInt64 {
        func blocker(_ at: UInt64) -> Range<UInt64>? {
            taken.first { $0.range.overlaps(at..<(at + size)) }?.range
        }
        var chosen: UInt64?
        if preferred >= window.lowerBound, preferred + size <= window.upperBound, blocker(preferred) == nil {
            chosen = preferred
        }
        var at = alignUp(window.lowerBound, alignment)
        while chosen == nil, at + size <= window.upperBound {
            if let b = blocker(at) { at = alignUp(b.upperBound, alignment) } else { chosen = at }
        }
        guard let chosen else {
            let blockers = taken.filter { $0.range.overlaps(window) }
                .map { "\($0.what) at \(hex($0.range.lowerBound))-\(hex($0.range.upperBound))" }
            throw BootPlanError(reason: "no room for \(what) (\(size) bytes) in \(hex(window.lowerBound))-\(hex(window.upperBound)): it is covered by \(blockers.joined(separator: ", "))")
        }
        taken.append((chosen..<(chosen + size), what))
        return chosen
    }
}
