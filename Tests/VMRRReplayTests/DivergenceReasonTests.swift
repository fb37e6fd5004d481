import Testing
import VMRRJournal
import VMRRReplay

/// Every divergence reason prints the phrase reports and golden output have
/// always shown; code matches the cases, people read the text.
@Suite struct DivergenceReasonTests {
    @Test(arguments: [
        (Divergence.Reason.differentKind, "a different kind of exit"),
        (.differentPort(.read), "different port read"),
        (.differentPort(.write), "different port written"),
        (.differentAddress(.read), "different address read"),
        (.differentAddress(.write), "different address written"),
        (.notTheClock, "different address read (the recording read the clock)"),
        (.notTheTimer, "different address written (the recording armed the timer)"),
        (.differentValue(recorded: 0x48, now: 0x49), "different value written (recorded 0x48, now 0x49)"),
        (.differentTimerDeadline(recorded: 200_000_000, now: 1), "different timer deadline (recorded 200000000, now 1)"),
        (.differentPageFault, "different page fault"),
        (.differentKVMError, "different KVM error"),
        (.differentMSR, "different MSR access"),
        (.differentMSRValue(index: 0x1b, recorded: 0xfee0_0d00, now: 0xfee0_0900),
         "different value written to MSR 0x1b (recorded 0xfee00d00, now 0xfee00900)"),
        (.noAssistApplies, "a different instruction (no assist applies)"),
        (.differentAssist(now: .setAC, recorded: .breakpoint), "a different instruction (stac, recorded int3)"),
        (.registersDiffer, "registers differ"),
        (.registersDifferAtCheckpoint, "registers differ at the checkpoint"),
        (.registersDifferAtInjection(vector: 0x20), "registers differ where the recording injected vector 0x20"),
        (.interruptNotAccepted(vector: 0x20), "the vCPU cannot take an interrupt here, but the recording injected vector 0x20"),
        (.memoryDigestDiffers(recorded: 0xfeed, replayed: 0xbad), "memory digest differs (recorded 0xfeed, replayed 0xbad)"),
        (.endOfJournal, "the journal has no more events, but execution went on"),
    ] as [(Divergence.Reason, String)])
    func reasonsPrintTheirPhrase(reason: Divergence.Reason, text: String) {
        #expect(reason.description == text)
        #expect("\(reason)" == text)
    }
}
