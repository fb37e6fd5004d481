// libedit through its readline-compatible API (<editline/readline.h>).
// Only static inline setters (and one getter) for C globals Swift cannot
// assign under strict concurrency belong here.
#include <stdio.h>
#include <editline/readline.h>

/// The application name ~/.editrc lines can be prefixed with ("vmrr:bind ...").
static inline void vmrr_rl_set_readline_name(const char *name) { rl_readline_name = name; }

/// Called on TAB with the word and its bounds; returns the matches (or NULL).
static inline void vmrr_rl_set_attempted_completion(rl_completion_func_t *f) { rl_attempted_completion_function = f; }

/// The generator rl_completion_matches calls; also libedit's fallback.
static inline void vmrr_rl_set_completion_entry(rl_compentry_func_t *f) { rl_completion_entry_function = f; }

/// Nonzero: no file-name completion when the attempted completion finds nothing.
static inline void vmrr_rl_set_attempted_completion_over(int over) { rl_attempted_completion_over = over; }

/// The characters that separate words for completion.
static inline void vmrr_rl_set_word_break_characters(const char *chars) { rl_basic_word_break_characters = chars; }

/// Zero: libedit leaves the signal handlers alone while it reads a line.
static inline void vmrr_rl_set_catch_signals(int on) { rl_catch_signals = on; }

/// The line being edited (valid during a completion callback).
static inline const char *vmrr_rl_line_buffer(void) { return rl_line_buffer; }
