import Testing
@testable import VMRRMachine

/// `--max-time` in seconds becomes nanoseconds without trapping, whatever the number.
struct TimeLimitTests {
    @Test(arguments: [2e10, 1e300, Double.infinity, -1, Double.nan, 0.5])
    func clampsInsteadOfTrapping(seconds: Double) {
        let limit = TimeLimit(seconds: seconds)
        if seconds.isNaN || seconds <= 0 {
            #expect(limit.nanoseconds == 0)
        } else if seconds > TimeLimit.maximumSeconds {
            #expect(limit.nanoseconds == UInt64(TimeLimit.maximumSeconds * 1e9))
        } else {
            #expect(limit.nanoseconds == UInt64(seconds * 1e9))
        }
    }
}
