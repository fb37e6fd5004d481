# gdb commands for vmrr's gdb stub, as rr's: load with
#   gdb -x scripts/vmrr.gdb -ex 'target extended-remote | vmrr debug JOURNAL --gdb -'
# gdb 13 does not re-read registers after a `monitor` command, so a jump gdb
# follows goes through `run` (vRun), which gdb treats as a new run; it needs
# `target extended-remote` (docs/DEBUGGER.md, "gdb"). `restart` and
# `checkpoint` replace gdb's own, which fork a native process and mean
# nothing over a remote target (as rr's do); confirm is off while they are
# defined, so gdb does not ask, and on again afterwards.

set confirm off
define restart
  if $argc != 1
    echo restart N: N is a number from `checkpoint`\n
  else
    run c$arg0
  end
end
document restart
Go back to checkpoint N (made by `checkpoint`); gdb re-reads every register (vmrr's `run cN`).
end

define checkpoint
  monitor checkpoint
end
document checkpoint
Remember the current position as checkpoint N, for `restart N`.
end

define when
  monitor when
end
document when
Show the current event and the instruction count after it.
end
set confirm on
