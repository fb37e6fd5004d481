// Thin shim over <linux/kvm.h> for Swift. Only `static const` request numbers
// and `static inline` wrappers live here; every decision is made in Swift
// (Sources/VMRRKVM). Swift cannot import the _IO* macros nor call variadic ioctl.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

// --- ioctl request numbers -------------------------------------------------
static const unsigned long CKVM_GET_API_VERSION = KVM_GET_API_VERSION;
static const unsigned long CKVM_CREATE_VM = KVM_CREATE_VM;
static const unsigned long CKVM_CHECK_EXTENSION = KVM_CHECK_EXTENSION;
static const unsigned long CKVM_GET_VCPU_MMAP_SIZE = KVM_GET_VCPU_MMAP_SIZE;
static const unsigned long CKVM_GET_SUPPORTED_CPUID = KVM_GET_SUPPORTED_CPUID;
static const unsigned long CKVM_GET_MSR_INDEX_LIST = KVM_GET_MSR_INDEX_LIST;
static const unsigned long CKVM_SET_USER_MEMORY_REGION = KVM_SET_USER_MEMORY_REGION;
static const unsigned long CKVM_SET_TSS_ADDR = KVM_SET_TSS_ADDR;
static const unsigned long CKVM_SET_IDENTITY_MAP_ADDR = KVM_SET_IDENTITY_MAP_ADDR;
static const unsigned long CKVM_CREATE_VCPU = KVM_CREATE_VCPU;
static const unsigned long CKVM_GET_DIRTY_LOG = KVM_GET_DIRTY_LOG;
static const unsigned long CKVM_ENABLE_CAP = KVM_ENABLE_CAP;
static const unsigned long CKVM_RUN = KVM_RUN;
static const unsigned long CKVM_GET_REGS = KVM_GET_REGS;
static const unsigned long CKVM_SET_REGS = KVM_SET_REGS;
static const unsigned long CKVM_GET_SREGS = KVM_GET_SREGS;
static const unsigned long CKVM_SET_SREGS = KVM_SET_SREGS;
static const unsigned long CKVM_GET_FPU = KVM_GET_FPU;
static const unsigned long CKVM_SET_FPU = KVM_SET_FPU;
static const unsigned long CKVM_GET_XSAVE = KVM_GET_XSAVE;
static const unsigned long CKVM_SET_XSAVE = KVM_SET_XSAVE;
static const unsigned long CKVM_GET_XCRS = KVM_GET_XCRS;
static const unsigned long CKVM_SET_XCRS = KVM_SET_XCRS;
static const unsigned long CKVM_GET_VCPU_EVENTS = KVM_GET_VCPU_EVENTS;
static const unsigned long CKVM_SET_VCPU_EVENTS = KVM_SET_VCPU_EVENTS;
static const unsigned long CKVM_GET_DEBUGREGS = KVM_GET_DEBUGREGS;
static const unsigned long CKVM_SET_DEBUGREGS = KVM_SET_DEBUGREGS;
static const unsigned long CKVM_GET_MP_STATE = KVM_GET_MP_STATE;
static const unsigned long CKVM_SET_MP_STATE = KVM_SET_MP_STATE;
static const unsigned long CKVM_GET_MSRS = KVM_GET_MSRS;
static const unsigned long CKVM_SET_MSRS = KVM_SET_MSRS;
static const unsigned long CKVM_SET_CPUID2 = KVM_SET_CPUID2;
static const unsigned long CKVM_GET_CPUID2 = KVM_GET_CPUID2;
static const unsigned long CKVM_SET_GUEST_DEBUG = KVM_SET_GUEST_DEBUG;
static const unsigned long CKVM_INTERRUPT = KVM_INTERRUPT;
static const unsigned long CKVM_NMI = KVM_NMI;
static const unsigned long CKVM_TRANSLATE = KVM_TRANSLATE;
static const unsigned long CKVM_X86_SET_MSR_FILTER = KVM_X86_SET_MSR_FILTER;

// --- capabilities and flags -------------------------------------------------
static const int CKVM_API_VERSION = KVM_API_VERSION;
static const int CKVM_CAP_SYNC_REGS = KVM_CAP_SYNC_REGS;
static const int CKVM_CAP_IMMEDIATE_EXIT = KVM_CAP_IMMEDIATE_EXIT;
static const int CKVM_CAP_USER_MEMORY = KVM_CAP_USER_MEMORY;
static const int CKVM_CAP_SET_GUEST_DEBUG = KVM_CAP_SET_GUEST_DEBUG;
static const int CKVM_CAP_XSAVE = KVM_CAP_XSAVE;
static const int CKVM_CAP_XCRS = KVM_CAP_XCRS;
static const int CKVM_CAP_READONLY_MEM = KVM_CAP_READONLY_MEM;
static const int CKVM_CAP_X86_USER_SPACE_MSR = KVM_CAP_X86_USER_SPACE_MSR;
static const uint32_t CKVM_MEM_LOG_DIRTY_PAGES = KVM_MEM_LOG_DIRTY_PAGES;
static const uint32_t CKVM_MEM_READONLY = KVM_MEM_READONLY;
static const uint64_t CKVM_SYNC_X86_REGS = KVM_SYNC_X86_REGS;
static const uint64_t CKVM_SYNC_X86_SREGS = KVM_SYNC_X86_SREGS;
static const uint64_t CKVM_SYNC_X86_EVENTS = KVM_SYNC_X86_EVENTS;
static const uint32_t CKVM_GUESTDBG_ENABLE = KVM_GUESTDBG_ENABLE;
static const uint32_t CKVM_GUESTDBG_SINGLESTEP = KVM_GUESTDBG_SINGLESTEP;
static const uint32_t CKVM_GUESTDBG_USE_HW_BP = KVM_GUESTDBG_USE_HW_BP;
static const uint32_t CKVM_GUESTDBG_USE_SW_BP = KVM_GUESTDBG_USE_SW_BP;
static const int CKVM_MAX_CPUID_ENTRIES = 256;
static const int CKVM_MAX_MSR_ENTRIES = 256;
// KVM_CAP_X86_USER_SPACE_MSR: which refused MSR accesses exit to userspace.
static const uint64_t CKVM_MSR_EXIT_REASON_INVAL = KVM_MSR_EXIT_REASON_INVAL;
static const uint64_t CKVM_MSR_EXIT_REASON_UNKNOWN = KVM_MSR_EXIT_REASON_UNKNOWN;
static const uint64_t CKVM_MSR_EXIT_REASON_FILTER = KVM_MSR_EXIT_REASON_FILTER;
static const uint32_t CKVM_MSR_FILTER_DEFAULT_ALLOW = KVM_MSR_FILTER_DEFAULT_ALLOW;
static const uint32_t CKVM_MSR_FILTER_READ = KVM_MSR_FILTER_READ;
static const uint32_t CKVM_MSR_FILTER_WRITE = KVM_MSR_FILTER_WRITE;
static const int CKVM_MSR_FILTER_MAX_RANGES = KVM_MSR_FILTER_MAX_RANGES;
// kvm_vcpu_events.flags and the exception fields KVM_SET_VCPU_EVENTS honours.
static const uint32_t CKVM_VCPUEVENT_VALID_PAYLOAD = KVM_VCPUEVENT_VALID_PAYLOAD;

// --- exit reasons -------------------------------------------------------------
static const uint32_t CKVM_EXIT_UNKNOWN = KVM_EXIT_UNKNOWN;
static const uint32_t CKVM_EXIT_EXCEPTION = KVM_EXIT_EXCEPTION;
static const uint32_t CKVM_EXIT_IO = KVM_EXIT_IO;
static const uint32_t CKVM_EXIT_DEBUG = KVM_EXIT_DEBUG;
static const uint32_t CKVM_EXIT_HLT = KVM_EXIT_HLT;
static const uint32_t CKVM_EXIT_MMIO = KVM_EXIT_MMIO;
static const uint32_t CKVM_EXIT_IRQ_WINDOW_OPEN = KVM_EXIT_IRQ_WINDOW_OPEN;
static const uint32_t CKVM_EXIT_SHUTDOWN = KVM_EXIT_SHUTDOWN;
static const uint32_t CKVM_EXIT_FAIL_ENTRY = KVM_EXIT_FAIL_ENTRY;
static const uint32_t CKVM_EXIT_INTR = KVM_EXIT_INTR;
static const uint32_t CKVM_EXIT_INTERNAL_ERROR = KVM_EXIT_INTERNAL_ERROR;
static const uint32_t CKVM_EXIT_SYSTEM_EVENT = KVM_EXIT_SYSTEM_EVENT;
static const uint32_t CKVM_EXIT_X86_RDMSR = KVM_EXIT_X86_RDMSR;
static const uint32_t CKVM_EXIT_X86_WRMSR = KVM_EXIT_X86_WRMSR;
static const uint8_t CKVM_EXIT_IO_IN = KVM_EXIT_IO_IN;
static const uint8_t CKVM_EXIT_IO_OUT = KVM_EXIT_IO_OUT;

// --- syscalls Swift cannot call directly (variadic) -------------------------
static inline int ckvm_open(const char *path, int flags) { return open(path, flags); }
static inline int ckvm_ioctl_ptr(int fd, unsigned long req, void *arg) { return ioctl(fd, req, arg); }
static inline int ckvm_ioctl_val(int fd, unsigned long req, unsigned long arg) { return ioctl(fd, req, arg); }
static inline int ckvm_errno(void) { return errno; }

// --- kvm_run accessors: pointers into the shared run page -------------------
static inline struct kvm_regs *ckvm_run_sync_regs(struct kvm_run *r) { return &r->s.regs.regs; }
static inline struct kvm_sregs *ckvm_run_sync_sregs(struct kvm_run *r) { return &r->s.regs.sregs; }
static inline struct kvm_vcpu_events *ckvm_run_sync_events(struct kvm_run *r) { return &r->s.regs.events; }
static inline uint8_t *ckvm_run_io_data(struct kvm_run *r) { return (uint8_t *)r + r->io.data_offset; }
static inline uint8_t *ckvm_run_mmio_data(struct kvm_run *r) { return r->mmio.data; }
static inline __u64 *ckvm_run_internal_data(struct kvm_run *r) { return r->internal.data; }
// The msr member of the union is an anonymous struct: reach its fields one by one.
static inline uint32_t ckvm_run_msr_index(struct kvm_run *r) { return r->msr.index; }
static inline uint32_t ckvm_run_msr_reason(struct kvm_run *r) { return r->msr.reason; }
static inline uint64_t ckvm_run_msr_data(struct kvm_run *r) { return r->msr.data; }
static inline void ckvm_run_msr_complete(struct kvm_run *r, uint64_t data, uint8_t error) { r->msr.data = data; r->msr.error = error; }

// --- signals for kicking a running vCPU --------------------------------------
static inline int ckvm_sigrtmin(void) { return SIGRTMIN; }
#endif
