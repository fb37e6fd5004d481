// zlib for `vmrr timeline -o FILE.json.gz` (Sources/VMRRTimeline/Gzip.swift).
// deflateInit2 is a macro Swift cannot import; this is its one thin wrapper.
#include <zlib.h>

/// The window bits that ask deflate for a gzip wrapper (15 + 16, zlib.h).
static const int vmrr_gzip_window_bits = 15 + 16;

/// deflateInit2 for a gzip stream at `level`, memory level 8, the default strategy.
static inline int vmrr_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, vmrr_gzip_window_bits, 8, Z_DEFAULT_STRATEGY);
}
