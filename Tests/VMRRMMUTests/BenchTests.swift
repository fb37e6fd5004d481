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
    }

    @Test func benchReportsEveryMeasurement() {
        let results = MMUBench.run()
        #expect(results.count == 6)
        for r in results { #expect(r.value > 0 && r.value.isFinite, "\(r.name)") }
        #expect(results.filter { $0.unit == "ms" }.count == 4)
    }
}
