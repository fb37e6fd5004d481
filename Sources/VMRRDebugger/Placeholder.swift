// The debugger REPL lands here.
