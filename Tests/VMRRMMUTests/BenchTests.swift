import Testing
@testable import VMRRMMU

@Suite("Benchmark")
struct BenchTests {
    @Test func benchGuestIsWhatItClaims() {
        let (memory, context) = MMUBench.guest()
        let d = PTDump.guest(context: context, memory: memory)
        #expect(d.ranges.count == 1)
        #expect(d.ranges[0].start == MMUBench.base && d.ranges[0].size == 1 << 30)
        #expect(GuestScan.scan(context: context, memory: memory).leaves.count == 262_144)
        let (small, smallContext) = MMUBench.guest(mapped: 1 << 24)
        #expect(PTDump.guest(context: smallContext, memory: small).ranges.map(\.size) == [1 << 24])
    }

    @Test func benchReportsEveryMeasurement() {
        // A small configuration: the reference one takes seconds in a debug build.
        let results = MMUBench.run(translations: 2_000, mappedBytes: 1 << 24)
        #expect(results.count == 6)
        for r in results { #expect(r.value > 0 && r.value.isFinite, "\(r.name)") }
        #expect(results.filter { $0.unit == "ms" }.count == 4)
        #expect(results.contains { $0.name == "guest dump, 16M in 4K pages" })
    }
}
