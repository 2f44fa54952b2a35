import Foundation
import KbuildCore
import KbuildVersion

/// `--skip-build` packs binaries it did not build: each must carry this release's stamped version.
///
/// kbuild builds with `-trimpath`, and Go then leaves `-ldflags` out of the build info, so
/// `go version -m` cannot show the `-X` values. The linker stores each `-X` value as its own
/// NUL-terminated string (cmd/link `addstrdata`), in any binary, stripped (`-s -w`) or not, for every
/// OS: the check looks for `<value>\0` of each version, build date and commit variable the config stamps
/// (Kubernetes' gitVersion, buildDate, gitCommit; GoReleaser's `main.version` holds the bare version) in the
/// file's bytes. A binary built for another version, commit or date lacks at least one of them.
enum StampCheck {
    /// Throws `stampMismatch` naming the first binary of `plan` (those its tarballs pack) that does
    /// not carry the values the release stamps; binaries not there are left to the package step's own
    /// "does not exist" error.
    static func verify(plan: ReleasePlan) throws(ReleaseError) {
        let version = plan.version
        let stamped = version.identifyingValues(plan.config.version.stamp).map { ($0.variable, $0.value) }
        guard !stamped.isEmpty else { return }
        var binaries: [String: String] = [:]
        for archive in plan.archives {
            for (name, platform) in archive.builtBinaries {
                binaries[plan.layout.binary(name, platform)] = "\(name) for \(platform)"
            }
        }
        for (path, binary) in binaries.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let missing = try missingValues(in: path, stamped)
            if let (variable, value) = missing.first {
                throw .stampMismatch(
                    binary: binary, path: plan.relative(path), variable: variable, expected: value,
                    version: version.version)
            }
        }
    }

    /// The `(variable, value)` pairs whose `value\0` does not occur in the file at `path`.
    static func missingValues(in path: String, _ stamped: [(String, String)]) throws(ReleaseError) -> [(String, String)]
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .io(path: path, reason: "not a regular file; allowed: a Go binary built by kbuild build")
        }
        let size = Int(info.st_size)
        guard size > 0 else { return stamped }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .io(path: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        defer { munmap(base, size) }
        return stamped.filter { _, value in !contains(base, size, Array(value.utf8) + [0]) }
    }

    /// True when `needle` occurs in the `size` bytes at `base` (memchr for its first byte, then memcmp).
    static func contains(_ base: UnsafeMutableRawPointer, _ size: Int, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= size else { return false }
        return needle.withUnsafeBytes { pattern in
            guard let patternStart = pattern.baseAddress else { return false }
            var offset = 0
            while offset + needle.count <= size {
                guard let hit = memchr(base + offset, Int32(first), size - offset - needle.count + 1) else {
                    return false
                }
                if memcmp(hit, patternStart, needle.count) == 0 { return true }
                offset = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit)) + 1
            }
            return false
        }
    }
}
