#!/bin/sh
# Builds fuzz/journal-fuzz: VMRRBase, VMRRJournal, VMRRMMU and VMRRReplay
# compiled as modules with libFuzzer and AddressSanitizer instrumentation,
# plus the harness and the front-end checks and checksum repair it shares
# with the test suite (Tests/VMRRTestSupport, compiled here as they are).
# `swift build -sanitize=fuzzer` cannot be used for this: an executable
# target's main clashes with libFuzzer's.
set -eu
cd "$(dirname "$0")/.."
out=fuzz/.build
support=Tests/VMRRTestSupport
mkdir -p "$out"
flags="-swift-version 6 -sanitize=fuzzer,address -parse-as-library -O -g -wmo -use-ld=lld"
# module NAME SOURCES...: one library module, instrumented, as an object file.
module() {
    name=$1; shift
    swiftc $flags -module-name "$name" -I "$out" -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -emit-object -o "$out/$name.o" "$@"
}
module VMRRBase Sources/VMRRBase/*.swift
module VMRRJournal Sources/VMRRJournal/*.swift
module VMRRMMU Sources/VMRRMMU/*.swift
module VMRRReplay Sources/VMRRReplay/*.swift
swiftc $flags -module-name JournalFuzz -I "$out" \
    fuzz/JournalFuzz.swift "$support/FrontEndCheck.swift" "$support/Corruption.swift" \
    "$out/VMRRBase.o" "$out/VMRRJournal.o" "$out/VMRRMMU.o" "$out/VMRRReplay.o" -o fuzz/journal-fuzz
echo "built fuzz/journal-fuzz"
