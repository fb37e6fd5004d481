import Testing
@testable import VMRRGuest

@Suite struct MemorySizeTests {
    @Test(arguments: [
        ("256M", UInt64(256) << 20), ("1G", UInt64(1) << 30), ("65536K", UInt64(64) << 20),
        ("67108864", UInt64(64) << 20), ("2M", UInt64(2) << 20), ("64G", UInt64(64) << 30),
        ("512m", UInt64(512) << 20), ("4GiB", UInt64(4) << 30), ("128MB", UInt64(128) << 20),
    ])
    func accepted(text: String, bytes: UInt64) throws {
        #expect(try parseMemorySize(text) == bytes)
    }

    @Test(arguments: [
        ("", "empty"), ("M", "expected a number"), ("12X", "unknown suffix"), ("1.5G", "unknown suffix"),
        ("1M", "less than the minimum"), ("0", "less than the minimum"), ("65G", "more than the maximum"),
        ("3M", "not a multiple of 2 MiB"), ("67108865", "not a multiple of 2 MiB"),
        ("99999999999999999999999", "too large"), ("17179869184G", "too large"),
    ])
    func refused(text: String, reason: String) {
        #expect {
            _ = try parseMemorySize(text)
        } throws: { error in
            guard let e = error as? MemorySizeError else { return false }
            return e.description.contains(reason) && e.description.contains("'\(text)'") && !e.description.contains("\n")
        }
    }
}
