// liblz4 for the Linux loader's host-side decompression of a bzImage
// payload (Sources/VMRRGuest/LinuxPayload.swift). Nothing but the header:
// LZ4_decompress_safe is called from Swift directly.
#include <lz4.h>
