/* refvmm: the reference VMM of `vmrr bench` (docs/PERFORMANCE.md, "The exit
 * path against a C VMM"). A benchmark tool only, not part of vmrr.
 *
 * It boots a vmrr-protocol guest (docs/GUEST.md: a static ELF64 loaded at its
 * physical addresses, 64-bit long mode, the first 4 GiB identity-mapped in
 * 2 MiB pages, RDI = RAM size, RSI = command line) on one vCPU and answers
 * its exits with the values vmrr gives under `--clock virtual`, doing nothing
 * else: no journal, no device models beyond these answers, no register reads.
 *
 *   port OUT        0x501 ends the run with the value as status; COM1 THR
 *                   (0x3f8) goes to stdout; every other write is dropped
 *   port IN         COM1 LSR (0x3fd) reads 0x60 (transmitter empty); every
 *                   other port reads all ones
 *   MMIO            0xfeb00000 reads the clock; a write of 0xfeb00008 arms the
 *                   one-shot timer (0 disarms); other addresses read all ones
 *   RDMSR/WRMSR     IA32_APIC_BASE (0x1b) and the x2APIC range, as vmrr's
 *                   filter sends them: APIC_BASE reads 0xfee00900, the
 *                   others #GP
 *   HLT             with IF set and the timer armed, the clock jumps to the
 *                   deadline; otherwise the run ends
 * The clock is vmrr's virtual clock: +1000 ns at every exit. The timer's
 * vector (0x20) is injected before KVM_RUN when it is due, IF is set and KVM
 * is ready for an interrupt, as vmrr does.
 *
 * With --like-vmrr it also sets KVM up as vmrr does, still doing no
 * user-space work: registers and special registers synced into the run page
 * at every exit (KVM_CAP_SYNC_REGS), dirty logging on guest RAM, and a
 * hardware execution breakpoint on the guest's #PF handler (IDT entry 14,
 * looked up after every exit, the way vmrr's page-fault trap keeps it armed).
 * Its figures separate what vmrr's KVM set-up costs from what its user-space
 * exit path costs. --no-pf-trap (after --like-vmrr) leaves the breakpoint
 * out, to measure what it alone costs.
 *
 * With --dirty-log bitmap|ring it logs the guest's writes to RAM and, after
 * every exit, collects the pages written since the previous one, the way a
 * checkpoint does: through the dirty bitmap (KVM_GET_DIRTY_LOG, which also
 * write-protects them again) or through the dirty ring (KVM_CAP_DIRTY_LOG_RING:
 * the vCPU's ring of written pages, harvested, then KVM_RESET_DIRTY_RINGS).
 * The time spent collecting is reported beside the run loop's; the guest's
 * faults on write-protected pages are part of the loop's time. Pair it with
 * the bench guest's "dirty N P" mode.
 *
 *   usage: refvmm [--like-vmrr [--no-pf-trap]] [--dirty-log bitmap|ring] IMAGE.elf [GUEST ARGUMENTS...]
 *   prints: "refvmm: exits N loop_ns T cpu_ns C status S" on stderr (T the
 *   run loop's wall time, C its CPU time, guest included), exits with S;
 *   with --dirty-log, " dirty_pages D harvest_ns H harvest_cpu_ns HC" follow
 *
 * Build: cc -O2 -o refvmm refvmm.c (vmrr bench does this itself).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RAM_SIZE            (64ull << 20)       /* Layout.defaultMemorySize */
#define GDT_GPA             0x1000ull
#define TSS_GPA             0x2000ull
#define TSS_SIZE            104
#define PML4_GPA            0x3000ull
#define PDPT_GPA            0x4000ull
#define PD_GPA              0x5000ull           /* 4 page directories */
#define CMDLINE_GPA         0x9000ull
#define STACK_TOP           0x80000ull
#define PTE_PRESENT_WRITE   0x3ull
#define PTE_LARGE           0x80ull
#define CR0_ENTRY           0x80050033ull       /* PE MP ET NE WP AM PG */
#define CR4_ENTRY           0x620ull            /* PAE OSFXSR OSXMMEXCPT */
#define EFER_ENTRY          0xd01ull            /* SCE LME LMA NXE */
#define RFLAGS_RESERVED     0x2ull
#define APIC_BASE_AT_ENTRY  0xfee00900ull
#define MSR_APIC_BASE       0x1b
#define MSR_X2APIC_FIRST    0x800
#define MSR_X2APIC_LAST     0x8ff
#define DEBUG_EXIT_PORT     0x501
#define COM1_THR            0x3f8
#define COM1_LSR            0x3fd
#define LSR_IDLE            0x60
#define CLOCK_GPA           0xfeb00000ull
#define TIMER_GPA           0xfeb00008ull
#define TIMER_VECTOR        0x20
#define NS_PER_EXIT         1000ull
#define PF_VECTOR           14
#define IDT_GATE_SIZE       16
#define GATE_PRESENT        0x80

static void die(const char *what)
{
    fprintf(stderr, "refvmm: %s: %s\n", what, strerror(errno));
    exit(70);
}

static void fail(const char *why)
{
    fprintf(stderr, "refvmm: %s\n", why);
    exit(70);
}

static void put64(uint8_t *ram, uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }

/* Copies the PT_LOAD segments of a static ELF64 to their physical addresses. */
static uint64_t load_elf(const char *path, uint8_t *ram)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die(path);
    struct stat st;
    if (fstat(fd, &st) != 0)
        die(path);
    uint8_t *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f == MAP_FAILED)
        die(path);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
    if ((size_t)st.st_size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > (uint64_t)st.st_size)
        fail("not an ELF64 image");
    Elf64_Phdr *ph = (Elf64_Phdr *)(f + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (ph[i].p_paddr + ph[i].p_memsz > RAM_SIZE || ph[i].p_filesz > ph[i].p_memsz ||
            ph[i].p_offset + ph[i].p_filesz > (uint64_t)st.st_size)
            fail("a segment lies outside RAM or the file");
        memcpy(ram + ph[i].p_paddr, f + ph[i].p_offset, ph[i].p_filesz);
    }
    uint64_t entry = eh->e_entry;
    munmap(f, (size_t)st.st_size);
    close(fd);
    return entry;
}

/* GDT (null, code 0x08, data 0x10, TSS 0x18) and the identity map of 0-4 GiB. */
static void write_boot_structures(uint8_t *ram)
{
    put64(ram, GDT_GPA + 0x08, 0x00af9b000000ffffull);
    put64(ram, GDT_GPA + 0x10, 0x00cf93000000ffffull);
    put64(ram, GDT_GPA + 0x18, 0x00008b0000000000ull | (TSS_GPA << 16) | (TSS_SIZE - 1));
    put64(ram, PML4_GPA, PDPT_GPA | PTE_PRESENT_WRITE);
    for (uint64_t d = 0; d < 4; d++) {
        put64(ram, PDPT_GPA + d * 8, (PD_GPA + d * 4096) | PTE_PRESENT_WRITE);
        for (uint64_t e = 0; e < 512; e++)
            put64(ram, PD_GPA + d * 4096 + e * 8, ((d * 512 + e) << 21) | PTE_PRESENT_WRITE | PTE_LARGE);
    }
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, uint8_t s, uint8_t l, uint8_t db, uint8_t g)
{
    struct kvm_segment seg = { .base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                               .present = 1, .s = s, .l = l, .db = db, .g = g };
    return seg;
}

static void set_entry_state(int vcpu, uint64_t entry, uint64_t cmdline)
{
    struct kvm_sregs s;
    if (ioctl(vcpu, KVM_GET_SREGS, &s) != 0)
        die("KVM_GET_SREGS");
    s.cs = segment(0x08, 11, 1, 1, 0, 1);
    s.ds = s.es = s.fs = s.gs = s.ss = segment(0x10, 3, 1, 0, 1, 1);
    s.tr = segment(0x18, 11, 0, 0, 0, 0);
    s.tr.base = TSS_GPA;
    s.tr.limit = TSS_SIZE - 1;
    s.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
    s.gdt.base = GDT_GPA;
    s.gdt.limit = 5 * 8 - 1;
    s.idt.base = 0;
    s.idt.limit = 0;
    s.cr0 = CR0_ENTRY;
    s.cr3 = PML4_GPA;
    s.cr4 = CR4_ENTRY;
    s.efer = EFER_ENTRY;
    s.apic_base = APIC_BASE_AT_ENTRY;
    if (ioctl(vcpu, KVM_SET_SREGS, &s) != 0)
        die("KVM_SET_SREGS");
    struct kvm_regs r = { .rip = entry, .rflags = RFLAGS_RESERVED, .rsp = STACK_TOP,
                          .rdi = RAM_SIZE, .rsi = cmdline };
    if (ioctl(vcpu, KVM_SET_REGS, &r) != 0)
        die("KVM_SET_REGS");
}

/* KVM's supported CPUID, as the guest's (long mode needs it). */
static void set_cpuid(int kvm, int vcpu)
{
    int n = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof(struct kvm_cpuid_entry2));
    c->nent = n;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) != 0)
        die("KVM_GET_SUPPORTED_CPUID");
    if (ioctl(vcpu, KVM_SET_CPUID2, c) != 0)
        die("KVM_SET_CPUID2");
    free(c);
}

/* The MSRs vmrr's filter sends to user space: IA32_APIC_BASE and the x2APIC range. */
static void set_msr_filter(int vm)
{
    struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
                                  .args = { KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER } };
    if (ioctl(vm, KVM_ENABLE_CAP, &cap) != 0)
        die("KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");
    static uint8_t deny_one[1], deny_x2apic[(MSR_X2APIC_LAST - MSR_X2APIC_FIRST + 1) / 8];
    struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
    f.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
                                                 .nmsrs = 1, .base = MSR_APIC_BASE, .bitmap = deny_one };
    f.ranges[1] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
                                                 .nmsrs = MSR_X2APIC_LAST - MSR_X2APIC_FIRST + 1,
                                                 .base = MSR_X2APIC_FIRST, .bitmap = deny_x2apic };
    if (ioctl(vm, KVM_X86_SET_MSR_FILTER, &f) != 0)
        die("KVM_X86_SET_MSR_FILTER");
}

static uint64_t load_value(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, p, size > 8 ? 8 : size);
    return v;
}

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* --like-vmrr: arms DR0 on the #PF handler named by IDT entry 14 when it
 * moved (the guest's tables identity-map low memory, so the IDT's linear
 * address is its physical one). */
static void follow_pf_handler(int vcpu, struct kvm_run *run, uint8_t *ram, uint64_t *armed)
{
    struct kvm_sregs *s = &run->s.regs.sregs;
    uint64_t gate = s->idt.base + PF_VECTOR * IDT_GATE_SIZE, handler = 0;
    if (s->idt.limit >= PF_VECTOR * IDT_GATE_SIZE + IDT_GATE_SIZE - 1 && gate + IDT_GATE_SIZE <= RAM_SIZE &&
        (ram[gate + 5] & GATE_PRESENT)) {
        uint64_t lo, hi;
        memcpy(&lo, ram + gate, 8);
        memcpy(&hi, ram + gate + 8, 8);
        handler = (lo & 0xffff) | ((lo >> 48) & 0xffff) << 16 | (hi & 0xffffffff) << 32;
    }
    if (handler == *armed)
        return;
    *armed = handler;
    struct kvm_guest_debug dbg = { .control = handler ? KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP : 0 };
    dbg.arch.debugreg[0] = handler;
    dbg.arch.debugreg[7] = handler ? 1 : 0;     /* L0, execute */
    if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) != 0)
        die("KVM_SET_GUEST_DEBUG");
}

enum dirty_mode { DIRTY_OFF, DIRTY_BITMAP, DIRTY_RING };
#define DIRTY_RING_ENTRIES  65536               /* the most this host offers (FACTS.md) */

struct dirty_log {
    enum dirty_mode mode;
    int vm;
    uint64_t *bitmap;
    struct kvm_dirty_gfn *ring;
    uint32_t next;                              /* the ring entry to look at next */
    uint64_t pages, ns, cpu_ns;
};

/* Before any vCPU exists: the ring's size is fixed per VM. */
static void dirty_ring_enable(int vm)
{
    struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING,
                                  .args = { DIRTY_RING_ENTRIES * sizeof(struct kvm_dirty_gfn) } };
    if (ioctl(vm, KVM_ENABLE_CAP, &cap) != 0)
        die("KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING)");
}

static void dirty_ring_map(struct dirty_log *d, int vcpu)
{
    d->ring = mmap(NULL, DIRTY_RING_ENTRIES * sizeof(struct kvm_dirty_gfn), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu,
                   KVM_DIRTY_LOG_PAGE_OFFSET * sysconf(_SC_PAGESIZE));
    if (d->ring == MAP_FAILED)
        die("mmap the dirty ring");
}

/* The pages written since the last call; counted, as a checkpoint would list them. */
static void dirty_collect(struct dirty_log *d)
{
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    if (d->mode == DIRTY_BITMAP) {
        struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = d->bitmap };
        if (ioctl(d->vm, KVM_GET_DIRTY_LOG, &log) != 0)
            die("KVM_GET_DIRTY_LOG");
        for (uint64_t w = 0; w < RAM_SIZE / 4096 / 64; w++)
            d->pages += (uint64_t)__builtin_popcountll(d->bitmap[w]);
    } else {
        uint64_t got = 0;
        for (;;) {
            struct kvm_dirty_gfn *e = &d->ring[d->next % DIRTY_RING_ENTRIES];
            if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
                break;
            __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
            d->next++;
            got++;
        }
        if (got && ioctl(d->vm, KVM_RESET_DIRTY_RINGS, 0) < 0)
            die("KVM_RESET_DIRTY_RINGS");
        d->pages += got;
    }
    d->ns += clock_ns(CLOCK_MONOTONIC) - t0;
    d->cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
}

int main(int argc, char **argv)
{
    int like_vmrr = argc > 1 && strcmp(argv[1], "--like-vmrr") == 0;
    if (like_vmrr)
        argc--, argv++;
    int pf_trap = like_vmrr;
    if (like_vmrr && argc > 1 && strcmp(argv[1], "--no-pf-trap") == 0)
        pf_trap = 0, argc--, argv++;
    struct dirty_log dirty = { .mode = DIRTY_OFF };
    if (argc > 2 && strcmp(argv[1], "--dirty-log") == 0) {
        if (strcmp(argv[2], "bitmap") == 0)
            dirty.mode = DIRTY_BITMAP;
        else if (strcmp(argv[2], "ring") == 0)
            dirty.mode = DIRTY_RING;
        else
            fail("--dirty-log takes bitmap or ring");
        argc -= 2, argv += 2;
    }
    if (argc < 2)
        fail("usage: refvmm [--like-vmrr [--no-pf-trap]] [--dirty-log bitmap|ring] IMAGE.elf [GUEST ARGUMENTS...]");
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");
    set_msr_filter(vm);
    dirty.vm = vm;
    if (dirty.mode == DIRTY_RING)
        dirty_ring_enable(vm);
    if (dirty.mode == DIRTY_BITMAP)
        dirty.bitmap = calloc(RAM_SIZE / 4096 / 8, 1);
    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED)
        die("mmap guest RAM");
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE,
                                                  .userspace_addr = (uint64_t)(uintptr_t)ram,
                                                  .flags = like_vmrr || dirty.mode != DIRTY_OFF ? KVM_MEM_LOG_DIRTY_PAGES : 0 };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0)
        die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    set_cpuid(kvm, vcpu);
    if (dirty.mode == DIRTY_RING)
        dirty_ring_map(&dirty, vcpu);

    uint64_t entry = load_elf(argv[1], ram);
    write_boot_structures(ram);
    uint64_t cmdline = 0;
    size_t used = 0;
    for (int i = 2; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (used + n + 2 > 4096)
            fail("command line too long");
        if (used)
            ram[CMDLINE_GPA + used++] = ' ';
        memcpy(ram + CMDLINE_GPA + used, argv[i], n);
        used += n;
    }
    if (used)
        cmdline = CMDLINE_GPA;
    set_entry_state(vcpu, entry, cmdline);
    if (like_vmrr)
        run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;

    uint64_t now = 0, deadline = 0, exits = 0, armed = 0;
    int status = -1;
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    while (status < 0) {
        if (deadline && now >= deadline && run->if_flag && run->ready_for_interrupt_injection) {
            struct kvm_interrupt irq = { .irq = TIMER_VECTOR };
            if (ioctl(vcpu, KVM_INTERRUPT, &irq) != 0)
                die("KVM_INTERRUPT");
            deadline = 0;
        }
        if (ioctl(vcpu, KVM_RUN, 0) != 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("KVM_RUN");
        }
        exits++;
        now += NS_PER_EXIT;
        if (pf_trap)
            follow_pf_handler(vcpu, run, ram, &armed);
        if (dirty.mode != DIRTY_OFF)
            dirty_collect(&dirty);
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)run + run->io.data_offset;
            for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
                if (run->io.direction == KVM_EXIT_IO_OUT) {
                    if (run->io.port == DEBUG_EXIT_PORT)
                        status = data[0];
                    else if (run->io.port == COM1_THR)
                        fputc(data[0], stdout);
                } else {
                    uint64_t v = run->io.port == COM1_LSR ? LSR_IDLE : ~0ull;
                    memcpy(data, &v, run->io.size);
                }
            }
            break;
        }
        case KVM_EXIT_MMIO:
            if (run->mmio.is_write) {
                if (run->mmio.phys_addr == TIMER_GPA)
                    deadline = load_value(run->mmio.data, run->mmio.len);
            } else {
                uint64_t v = run->mmio.phys_addr == CLOCK_GPA ? now : ~0ull;
                memcpy(run->mmio.data, &v, run->mmio.len > 8 ? 8 : run->mmio.len);
            }
            break;
        case KVM_EXIT_X86_RDMSR:
            run->msr.error = run->msr.index == MSR_APIC_BASE ? 0 : 1;
            run->msr.data = run->msr.index == MSR_APIC_BASE ? APIC_BASE_AT_ENTRY : 0;
            break;
        case KVM_EXIT_X86_WRMSR:
            run->msr.error = run->msr.index == MSR_APIC_BASE ? 0 : 1;
            break;
        case KVM_EXIT_HLT:
            if (!run->if_flag || !deadline)
                status = 125;
            else if (deadline > now)
                now = deadline;
            break;
        case KVM_EXIT_DIRTY_RING_FULL:
            break;                              /* collected above */
        default:
            fprintf(stderr, "refvmm: unexpected exit reason %u\n", run->exit_reason);
            status = 70;
        }
    }
    uint64_t loop_ns = clock_ns(CLOCK_MONOTONIC) - t0, cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    fflush(stdout);
    fprintf(stderr, "refvmm: exits %llu loop_ns %llu cpu_ns %llu status %d", (unsigned long long)exits,
            (unsigned long long)loop_ns, (unsigned long long)cpu_ns, status);
    if (dirty.mode != DIRTY_OFF)
        fprintf(stderr, " dirty_pages %llu harvest_ns %llu harvest_cpu_ns %llu", (unsigned long long)dirty.pages,
                (unsigned long long)dirty.ns, (unsigned long long)dirty.cpu_ns);
    fputc('\n', stderr);
    return status;
}
