#!/bin/sh
# Builds fuzz/journal-fuzz: VMRRJournal, VMRRMMU and VMRRReplay compiled as modules with
# libFuzzer and AddressSanitizer instrumentation, plus the harness and the
# shared front-end checks. `swift build -sanitize=fuzzer` cannot be used for
# this: an executable target's main clashes with libFuzzer's.
set -eu
cd "$(dirname "$0")/.."
out=fuzz/.build
mkdir -p "$out"
flags="-swift-version 6 -sanitize=fuzzer,address -parse-as-library -O -g -wmo -use-ld=lld"
swiftc $flags -module-name VMRRJournal -emit-module -emit-module-path "$out/VMRRJournal.swiftmodule" \
    -emit-object -o "$out/VMRRJournal.o" Sources/VMRRJournal/*.swift
swiftc $flags -module-name VMRRMMU -emit-module -emit-module-path "$out/VMRRMMU.swiftmodule" \
    -emit-object -o "$out/VMRRMMU.o" Sources/VMRRMMU/*.swift
swiftc $flags -module-name VMRRReplay -I "$out" -emit-module -emit-module-path "$out/VMRRReplay.swiftmodule" \
    -emit-object -o "$out/VMRRReplay.o" Sources/VMRRReplay/*.swift
swiftc $flags -module-name JournalFuzz -I "$out" \
    fuzz/JournalFuzz.swift Tests/VMRRReplayTests/FrontEndCheck.swift Tests/VMRRReplayTests/Corruption.swift \
    "$out/VMRRJournal.o" "$out/VMRRMMU.o" "$out/VMRRReplay.o" -o fuzz/journal-fuzz
echo "built fuzz/journal-fuzz"
