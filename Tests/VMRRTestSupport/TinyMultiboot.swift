import Foundation

/// Tiny multiboot guests assembled at test time (GNU as and ld): ELF32
/// images at 1 MiB whose 32-bit code prints "A" on COM1 and then does one
/// thing. They are not in fixtures/guests because they execute what the
/// fixture build refuses (int3, vmcall).
public enum TinyMultiboot {
    public static let linkerScript = """
        ENTRY(_start)
        SECTIONS {
            . = 0x100000;
            .text : { KEEP(*(.multiboot)) *(.text) }
            /DISCARD/ : { *(.note.gnu.property) *(.note.GNU-stack) }
        }
        """

    /// Builds `name.elf` in `dir` whose code after printing "A" is `tail`,
    /// starting at the global label `tail_start`.
    public static func build(_ name: String, tail: String, in dir: URL) throws -> String {
        let source = """
                .section .multiboot, "a"
                .align 4
                .long 0x1BADB002, 0, -0x1BADB002
                .text
                .code32
                .globl _start
            _start:
                mov $0x3f8, %dx
                mov $0x41, %al
                out %al, %dx
                .globl tail_start
            tail_start:
            \(tail)
            """
        try source.write(to: dir.appendingPathComponent("\(name).s"), atomically: true, encoding: .utf8)
        try linkerScript.write(to: dir.appendingPathComponent("tiny.ld"), atomically: true, encoding: .utf8)
        try E2E.shell("as --32 -o \(name).o \(name).s && ld -m elf_i386 -T tiny.ld -z max-page-size=4096 -o \(name).elf \(name).o",
                      cwd: dir)
        return dir.appendingPathComponent("\(name).elf").path
    }
}
