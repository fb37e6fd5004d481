import Testing
import VMRRJournal
import VMRRMachine

/// The header's recording time: SOURCE_DATE_EPOCH when set, none under
/// --clock virtual, the real time under --clock host. No KVM.
@Suite struct RecordedAtTests {
    let now: UInt64 = 1_796_000_000

    @Test func sourceDateEpochWinsUnderEitherClock() throws {
        for clock in [ClockSource.host, .virtual] {
            #expect(try RecordSession.recordedAt(clock: clock, sourceDateEpoch: "1700000000", now: now) == 1_700_000_000)
            #expect(try RecordSession.recordedAt(clock: clock, sourceDateEpoch: "0", now: now) == 0)
        }
    }

    @Test func withoutItTheVirtualClockHasNoTimeAndTheHostClockTheRealOne() throws {
        #expect(try RecordSession.recordedAt(clock: .virtual, sourceDateEpoch: nil, now: now) == 0)
        #expect(try RecordSession.recordedAt(clock: .host, sourceDateEpoch: nil, now: now) == now)
    }

    @Test func aMalformedValueIsAnError() {
        for bad in ["", "yesterday", "-1", "1.5", " 17"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try RecordSession.recordedAt(clock: .virtual, sourceDateEpoch: bad, now: now)
            }
        }
    }
}
