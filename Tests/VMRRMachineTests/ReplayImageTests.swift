import Foundation
import Testing
import VMRRGuest
import VMRRJournal
import VMRRMachine

/// The one choice of the image to replay: --image, the bundle's copy, or the
/// recorded path. No KVM.
@Suite struct ReplayImageTests {
    func header(_ path: String) throws -> JournalHeader {
        var h = JournalHeader()
        h.imagePath = path
        h.bootProtocol = .vmrr
        h.imageSHA256 = try BootImage.load(path: Fixtures.guest("demo"), bootProtocol: .vmrr).image.sha256
        return h
    }

    @Test func theOverrideComesFirstThenTheBundleThenTheRecordedPath() throws {
        let demo = Fixtures.guest("demo"), echo = Fixtures.guest("echo")
        let h = try header(demo)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: demo)))
        let o = try #require(try ReplayImage.choose(header: h, override: echo, bundled: bytes))
        #expect(o.origin == .override(echo))
        #expect(!o.isRecorded(h))
        let b = try #require(try ReplayImage.choose(header: h, override: nil, bundled: bytes))
        #expect(b.origin == .bundle && b.isRecorded(h) && b.image.path == demo)
        let r = try #require(try ReplayImage.choose(header: h, override: nil, bundled: nil))
        #expect(r.origin == .recordedPath && r.isRecorded(h))
    }

    @Test func aMissingRecordedImageIsNoImageAndABadOverrideIsAnError() throws {
        let h = try header("/nonexistent/vmrr-test/guest.elf")
        #expect(try ReplayImage.choose(header: h, override: nil, bundled: nil) == nil)
        #expect(throws: (any Error).self) { try ReplayImage.choose(header: h, override: "/nonexistent/other.elf", bundled: nil) }
    }
}
