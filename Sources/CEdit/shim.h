// libedit through its readline-compatible API (<editline/readline.h>).
// Only static inline setters for C globals Swift cannot assign under strict
// concurrency belong here.
#include <stdio.h>
#include <editline/readline.h>
