import Glibc
import Testing
import VMRRKVM

/// Not a KVM test: makes sure a machine with /dev/kvm that vmrr cannot use
/// (permissions, a broken module) fails loudly instead of skipping the KVM
/// suites.
@Test("/dev/kvm present means KVM is usable (no silent skip)")
func kvmPresentMeansAvailable() {
    let present = access(KVMSystem.devicePath, F_OK) == 0
    if present {
        #expect(KVMSystem.isAvailable, "/dev/kvm exists but vmrr cannot use it (permissions? run as root or join group kvm)")
    } else {
        #expect(!KVMSystem.isAvailable, "no /dev/kvm, yet KVMSystem.isAvailable is true")
    }
}
