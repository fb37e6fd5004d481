#!/bin/sh
# Regenerates fuzz/corpus: real journals of the fixture guests (virtual clock,
# a checkpoint every 20 events, 4 MiB of RAM, 60 exits), two bundles, and the
# synthetic seeds of SeedGen.swift, in the format this vmrr writes. Needs
# /dev/kvm and a built vmrr. The v1-*.vmrr files are kept from before: journals
# of format 1, so that the fuzzers keep reaching the older decoders.
set -eu
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
vmrr=${VMRR:-.build-rel/debug/vmrr}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$corpus"
printf 'hi\n' > "$tmp/input"
for g in demo paging timer echo bug exits; do
    "$vmrr" record "fixtures/guests/$g/$g.elf" -o "$corpus/$g.vmrr" --clock virtual --memory 4M \
        --checkpoint-every 20 --max-exits 60 --input "$tmp/input" --console "$tmp/$g.out" -q || true
done
for g in echo bug; do
    "$vmrr" pack "$corpus/$g.vmrr" -o "$corpus/$g.vmrrpack" >/dev/null
done
# VMRRBase and VMRRJournal as one module (SeedGen uses the codec's internals).
mkdir "$tmp/src"
cp Sources/VMRRBase/*.swift Sources/VMRRJournal/*.swift fuzz/SeedGen.swift "$tmp/src/"
sed -i '/^import VMRRBase$/d' "$tmp/src/"*.swift
swiftc -swift-version 6 -O -parse-as-library -module-name VMRRJournal "$tmp/src/"*.swift -o "$tmp/seedgen"
"$tmp/seedgen" "$corpus"
du -sh "$corpus"
