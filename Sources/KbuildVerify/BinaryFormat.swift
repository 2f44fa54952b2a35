import Foundation

/// The executable format and architecture of a binary, read from its header (as krel's
/// CheckBinaryArchitectures does): ELF e_machine and class, PE machine, Mach-O cputype.
public struct BinaryFormat: Sendable, Hashable, CustomStringConvertible {
    public enum Container: String, Sendable, Hashable {
        case elf = "ELF", pe = "PE", machO = "Mach-O"
    }

    public var container: Container
    /// Go's GOARCH name for the machine, or `machine 0x…` when unknown.
    public var arch: String

    public var description: String { "\(container.rawValue) \(arch)" }

    /// How many leading bytes `detect` needs at most (PE headers sit behind `e_lfanew`).
    public static let headerSize = 4096

    /// The format of a binary starting with `bytes`; nil when it is none of ELF, PE, Mach-O.
    public static func detect(_ bytes: [UInt8]) -> BinaryFormat? {
        if bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]), bytes.count >= 20 {
            let is64 = bytes[4] == 2
            let littleEndian = bytes[5] == 1
            let machine =
                littleEndian ? UInt16(bytes[18]) | UInt16(bytes[19]) << 8 : UInt16(bytes[19]) | UInt16(bytes[18]) << 8
            return BinaryFormat(container: .elf, arch: elfArch(machine, is64: is64, littleEndian: littleEndian))
        }
        if bytes.starts(with: [0x4d, 0x5a]), bytes.count >= 0x40 {
            let offset = Int(le32(bytes, 0x3c))
            guard offset + 6 <= bytes.count, bytes[offset..<(offset + 4)].elementsEqual([0x50, 0x45, 0, 0]) else {
                return nil
            }
            let machine = UInt16(bytes[offset + 4]) | UInt16(bytes[offset + 5]) << 8
            let arch: String
            switch machine {
            case 0x14c: arch = "386"
            case 0x8664: arch = "amd64"
            case 0x1c0, 0x1c4: arch = "arm"
            case 0xaa64: arch = "arm64"
            default: arch = "machine 0x" + String(machine, radix: 16)
            }
            return BinaryFormat(container: .pe, arch: arch)
        }
        if bytes.count >= 8 {
            let magic = le32(bytes, 0)
            guard magic == 0xfeed_facf || magic == 0xfeed_face else { return nil }
            let cpu = le32(bytes, 4)
            let arch: String
            switch cpu {
            case 0x0100_0007: arch = "amd64"
            case 0x0100_000c: arch = "arm64"
            case 7: arch = "386"
            case 12: arch = "arm"
            default: arch = "cputype 0x" + String(cpu, radix: 16)
            }
            return BinaryFormat(container: .machO, arch: arch)
        }
        return nil
    }

    /// The format Go produces for `os`/`arch`.
    public static func expected(os: String, arch: String) -> BinaryFormat {
        switch os {
        case "windows": return BinaryFormat(container: .pe, arch: arch)
        case "darwin", "ios": return BinaryFormat(container: .machO, arch: arch)
        default: return BinaryFormat(container: .elf, arch: arch)
        }
    }

    private static func elfArch(_ machine: UInt16, is64: Bool, littleEndian: Bool) -> String {
        switch (machine, is64) {
        case (3, false): return "386"
        case (62, true): return "amd64"
        case (40, false): return "arm"
        case (183, true): return "arm64"
        case (21, true): return littleEndian ? "ppc64le" : "ppc64"
        case (22, true): return "s390x"
        case (243, true): return "riscv64"
        case (258, true): return "loong64"
        case (8, false): return littleEndian ? "mipsle" : "mips"
        case (8, true): return littleEndian ? "mips64le" : "mips64"
        default: return "machine \(machine) (\(is64 ? "64" : "32")-bit)"
        }
    }

    private static func le32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        guard offset + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }
}

/// Streams a binary's bytes: keeps its header for `BinaryFormat` and looks for a byte string (the version)
/// across chunk boundaries.
struct BinaryScanner {
    private(set) var header: [UInt8] = []
    private let needle: [UInt8]
    private var carry: [UInt8] = []
    private(set) var found = false

    init(looking needle: String) {
        self.needle = Array(needle.utf8)
        found = self.needle.isEmpty
    }

    mutating func update(_ chunk: UnsafeRawBufferPointer) {
        if header.count < BinaryFormat.headerSize {
            header += chunk.prefix(BinaryFormat.headerSize - header.count)
        }
        guard !found else { return }
        // Search the tail of the previous chunk plus this one, so a match across the boundary counts.
        let window = carry + chunk
        found = Self.contains(window, needle)
        carry = Array(window.suffix(max(needle.count - 1, 0)))
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        // memchr for the first byte, memcmp for the rest (Glibc's memmem is not exported to Swift).
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { wanted in
                guard let base = hay.baseAddress, let target = wanted.baseAddress else { return false }
                let last = hay.count - wanted.count
                var offset = 0
                while offset <= last {
                    guard let found = memchr(base + offset, Int32(needle[0]), last - offset + 1) else { return false }
                    let position = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(base + position, target, wanted.count) == 0 { return true }
                    offset = position + 1
                }
                return false
            }
        }
    }
}
