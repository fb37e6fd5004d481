// libFuzzer entry points for the journal reader, bundle decoding and the
// replay front end. The checks themselves are in
// Tests/VMRRTestSupport/FrontEndCheck.swift, shared with the test suite.
// Build and run with fuzz/run.sh.
#if canImport(Glibc)
import Glibc
#endif
import VMRRJournal

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // data points at `size` readable bytes for the duration of this call.
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try FrontEndCheck.check(bytes)
    } catch {
        fatalError("front-end property broken: \(error.description)")
    }
    return 0
}

/// libFuzzer's own mutator, looked up at run time.
typealias MutateFunction = @convention(c) (UnsafeMutablePointer<UInt8>?, Int, Int) -> Int
let libFuzzerMutate: MutateFunction? = {
    // RTLD_DEFAULT: search the executable, which links libFuzzer.
    guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerMutate") else { return nil }
    return unsafeBitCast(sym, to: MutateFunction.self)
}()

/// Mutates with libFuzzer, then (3 times in 4) repairs the CRCs and hashes so
/// that the mutation is seen by the decoders and not only by the checksums.
@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzMutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let data, let mutate = libFuzzerMutate else { return size }
    let n = mutate(data, size, maxSize)
    guard seed % 4 != 0, n > 0 else { return n }
    // data holds maxSize >= n bytes; repair never changes the length.
    var b = Array(UnsafeBufferPointer(start: data, count: n))
    ChecksumRepair.repair(&b)
    b.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    return n
}
