#!/usr/bin/env bash
# Profiles vmrr's exit path for one exit kind of the bench guest
# (fixtures/guests/bench; docs/PERFORMANCE.md, "The exit path against a C VMM").
#
#   usage: bench/profile-exits.sh KIND [ITERATIONS]     (from the repository root)
#          VMRR=.build/release/vmrr bench/profile-exits.sh hlt 20000
#
# KIND is one of out, in, mmio-read, mmio-write, clock, msr, hlt. It records
# the guest with --clock virtual, then reports for the recording and for its
# replay:
#   - system calls per exit (strace -c -f), and the KVM ioctls by name;
#   - heap allocations per exit: heaptrack's count for 2N iterations minus N,
#     divided by the exits in between (checkpoints included, about 1 per
#     2,000 events);
#   - the top symbols of a CPU profile (perf record -e cpu-clock: a software
#     clock, since this host has no PMU).
# Needs strace, heaptrack and linux-perf (scripts/deps installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps
kind=${1:?usage: bench/profile-exits.sh KIND [ITERATIONS]}
n=${2:-10000}
VMRR=${VMRR:-.build/release/vmrr}
[ -x "$VMRR" ] || { echo "profile-exits.sh: no vmrr at $VMRR (swift build -c release --product vmrr, or set VMRR)" >&2; exit 1; }
guest=fixtures/guests/bench/bench.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

record() { "$VMRR" record "$guest" -o "$1" --clock virtual --quiet -- "$kind" "$2" >/dev/null; }
# Exits in a journal: every event but checkpoints, interrupt injections and the end.
exits() { "$VMRR" dump --json "$1" | grep -vc '"kind":"\(checkpoint\|interrupt\|end\)"'; }

record "$tmp/n.vmrr" "$n"
record "$tmp/2n.vmrr" $((2 * n))
e1=$(exits "$tmp/n.vmrr")
e2=$(exits "$tmp/2n.vmrr")
echo "bench guest, $kind: $e1 exits for $n iterations, $e2 for $((2 * n))"

# Sets cmd to the command that records (record) or replays (replay) SIZE (n or 2n).
command_for() {
    local iters=$n
    [ "$2" = 2n ] && iters=$((2 * n))
    if [ "$1" = record ]; then cmd=("$VMRR" record "$guest" -o "$tmp/s.vmrr" --clock virtual --quiet -- "$kind" "$iters")
    else cmd=("$VMRR" replay "$tmp/$2.vmrr"); fi
}
# "What per exit": (count for 2N iterations - count for N) / (exits between).
per_exit() { awk -v a="$1" -v b="$2" -v x="$((e2 - e1))" 'BEGIN { printf "%.3f", (b - a) / x }'; }

for what in record replay; do
    for size in n 2n; do
        command_for "$what" "$size"
        strace -f -c -o "$tmp/strace-$size" "${cmd[@]}" >/dev/null 2>&1 || true
        heaptrack -o "$tmp/heap-$size" "${cmd[@]}" >/dev/null 2>&1 || true
    done
    s1=$(awk '$NF == "total" { print $(NF-2) }' "$tmp/strace-n")
    s2=$(awk '$NF == "total" { print $(NF-2) }' "$tmp/strace-2n")
    echo "$what: system calls $s1 ($n iterations), $s2 ($((2 * n))): $(per_exit "$s1" "$s2") per exit"
    strace -f -e trace=ioctl -o "$tmp/ioctl" "${cmd[@]}" >/dev/null 2>&1 || true
    echo "$what: KVM ioctls of the $((2 * n))-iteration run:"
    grep -o 'ioctl([0-9]*, KVM_[A-Z0-9_]*' "$tmp/ioctl" | awk '{ print $2 }' | sort | uniq -c | sort -rn | head -8 | sed 's/^/    /'
    a1=$(heaptrack_print -f "$tmp/heap-n.zst" 2>/dev/null | awk '/^calls to allocation functions/ { print $5 }')
    a2=$(heaptrack_print -f "$tmp/heap-2n.zst" 2>/dev/null | awk '/^calls to allocation functions/ { print $5 }')
    echo "$what: heap allocations $a1 ($n iterations), $a2 ($((2 * n))): $(per_exit "$a1" "$a2") per exit"
    perf record -q -e cpu-clock -F 5000 -o "$tmp/perf.data" "${cmd[@]}" >/dev/null 2>&1 || true
    echo "$what: top symbols (perf, cpu-clock, $((2 * n)) iterations):"
    { perf report -q -i "$tmp/perf.data" --no-children --sort dso,sym 2>/dev/null || true; } | head -12 | cut -c1-150 | sed 's/^/    /'
done
