#!/bin/sh
# Fuzzes the journal reader, bundle decoding and the replay front end with
# libFuzzer for SECONDS (default 60), starting from fuzz/corpus.
#   fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
# New interesting inputs go to fuzz/work/corpus (not committed); crashes to
# fuzz/work/ as crash-*, with the broken property in the log. To add what a
# run found to the committed corpus, keeping it small:
#   fuzz/journal-fuzz -merge=1 fuzz/corpus fuzz/work/corpus
# To reproduce a crash: fuzz/journal-fuzz fuzz/work/crash-...
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
if [ ! -x fuzz/journal-fuzz ] || [ -n "$(find Sources/VMRRBase Sources/VMRRJournal Sources/VMRRMMU Sources/VMRRReplay fuzz/JournalFuzz.swift \
        Tests/VMRRTestSupport/FrontEndCheck.swift Tests/VMRRTestSupport/Corruption.swift -newer fuzz/journal-fuzz -name '*.swift' | head -1)" ]; then
    fuzz/build.sh
fi
mkdir -p fuzz/work/corpus
# Quiet ASan about the large allocations a hostile count may legitimately ask
# for; a real overflow still aborts.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=0}
exec fuzz/journal-fuzz -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=262144 \
    -dict=fuzz/journal.dict -print_final_stats=1 -artifact_prefix=fuzz/work/ "$@" \
    fuzz/work/corpus fuzz/corpus
