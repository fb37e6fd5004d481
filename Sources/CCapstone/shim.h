// Capstone disassembler (Debian libcapstone-dev).
#include <capstone/capstone.h>
