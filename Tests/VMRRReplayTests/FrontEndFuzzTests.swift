import Foundation
import Testing
import VMRRJournal
import VMRRReplay
import VMRRTestSupport
import VMRRBase


/// The replay front end (bundle decoding, the reader, dump rendering, the
/// replay checker) on the committed fuzz corpus and on random corruptions of
/// it: the same checks the libFuzzer harness makes (FrontEndCheck.swift).
@Suite struct FrontEndFuzzTests {
    static let corpusDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")

    /// The committed corpus: recordings of every fixture guest, bundles, synthetic seeds.
    static func corpus() throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path).sorted()
        return try names.map { n in (n, try FileIO.read(corpusDirectory.appendingPathComponent(n).path)) }
    }

    @Test func theCommittedCorpusReplaysAgainstItself() throws {
        let seeds = try Self.corpus()
        #expect(seeds.count >= 10)
        #expect(seeds.contains { $0.name.hasSuffix(".vmrrpack") })
        for (name, bytes) in seeds {
            do {
                let outcome = try FrontEndCheck.check(bytes)
                // Every committed seed is an intact journal or bundle.
                #expect(outcome == .replayed, "\(name): \(outcome)")
            } catch {
                Issue.record("\(name): \(error.description)")
            }
        }
    }

    /// Random corruptions of the corpus: no crash, no hang, no broken
    /// property. VMRR_JOURNAL_FUZZ_CASES sets the number of cases (default
    /// 1500; the reader-only test in VMRRJournalTests reads the same variable).
    @Test func randomCorruptionsOfJournalsAndBundles() throws {
        let cases = Int(ProcessInfo.processInfo.environment["VMRR_JOURNAL_FUZZ_CASES"] ?? "") ?? 1500
        let seed = UInt64(ProcessInfo.processInfo.environment["VMRR_JOURNAL_FUZZ_SEED"] ?? "") ?? 0xf00d
        let seeds = try Self.corpus()
        // Small seeds go fast; the big recordings and bundles get one case in eight.
        let small = seeds.filter { $0.bytes.count <= 32 * 1024 }, big = seeds.filter { $0.bytes.count > 32 * 1024 }
        var g = SplitMix64(seed: seed)
        var outcomes: [FrontEndOutcome: Int] = [:]
        var violations = 0
        let start = Date()
        for i in 0..<cases {
            let pool = i % 8 == 7 && !big.isEmpty ? big : small
            let s = pool[Int(g.next() % UInt64(pool.count))]
            let other = seeds[Int(g.next() % UInt64(seeds.count))].bytes
            let input = Corruptor.mutate(s.bytes, other: other, using: &g)
            do {
                outcomes[try FrontEndCheck.check(input), default: 0] += 1
            } catch {
                violations += 1
                if violations <= 5 { Issue.record("case \(i) (seed \(s.name)): \(error.description)") }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let counts = FrontEndOutcome.allCases.map { "\($0.rawValue) \(outcomes[$0] ?? 0)" }.joined(separator: ", ")
        print("front-end fuzz: \(cases) cases in \(Int(seconds)) s: \(counts); \(violations) violations")
        #expect(violations == 0)
        if cases >= 500 {
            // The mutations reach every stage: refused bundles, refused journals,
            // bad chunks found lazily, and damaged journals that still replay.
            for o in FrontEndOutcome.allCases { #expect((outcomes[o] ?? 0) > 0, "no case ended as \(o)") }
        }
    }

    @Test func repairedChecksumsLetDamageThrough() throws {
        // A flipped bit inside an events chunk is caught by its CRC, when the
        // journal is opened (every chunk's CRC is checked then, so every command
        // refuses it alike); with the CRC repaired, the decoder itself has to
        // catch (or accept) it.
        let seeds = try Self.corpus()
        let journal = try #require(seeds.first { $0.name == "seed-every-kind.vmrr" }).bytes
        let chunk = try #require(Corruptor.chunkOffsets(journal).first)
        var b = journal
        b[chunk + ChecksumRepair.chunkFrameSize] ^= 0x7f   // the first record's length
        let unrepaired = try FrontEndCheck.check(b)
        #expect(unrepaired == .badJournal)
        ChecksumRepair.repair(&b)
        do {
            _ = try JournalReader(bytes: b, name: "r.vmrr").events()
            Issue.record("a wrong record length was accepted")
        } catch let e as JournalError {
            #expect(!e.reason.contains("CRC"), "\(e)")
        }
        // Repair leaves intact files intact.
        for (name, bytes) in seeds {
            var copy = bytes
            ChecksumRepair.repair(&copy)
            #expect(copy == bytes, "\(name)")
        }
    }
}
