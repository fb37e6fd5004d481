/// KVM's variable-length structs (`kvm_cpuid2`, `kvm_msrs`, `kvm_msr_list`):
/// a header followed by `count` entries, in one zeroed allocation that is
/// lent to `body` and freed when it returns.
enum FlexibleArray {
    static func with<Header, Entry, R>(_: Header.Type, _: Entry.Type, count: Int,
                                       _ body: (UnsafeMutablePointer<Header>, UnsafeMutablePointer<Entry>) throws -> R) rethrows -> R {
        let bytes = MemoryLayout<Header>.size + max(count, 1) * MemoryLayout<Entry>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        // The entries follow the header inside the same allocation, as the C flexible array member does.
        return try body(raw.assumingMemoryBound(to: Header.self), (raw + MemoryLayout<Header>.size).assumingMemoryBound(to: Entry.self))
    }
}
