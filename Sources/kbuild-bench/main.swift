// kbuild-bench: drives the library the way the release pipeline does, for hack/bench.
//   kbuild-bench pack [--jobs N] [--level L] [--compression fast|gzip] [--no-digests] [--no-cache | --cache DIR]
//                     --out DIR SRC...
//     packs each SRC directory into DIR/<basename>.tar.gz (SRC=NAME: DIR/NAME.tar.gz), up to N at once
//     (default: cores), the sha256 and sha512 of each computed while it is written, as a release does;
//     fast: each distinct entry-aligned block deflated once (a DeflateCache in memory, and in DIR with
//     --cache; --no-cache deflates every block); prints the cache's counts
//   kbuild-bench zip [--jobs N] [--level L] [--no-digests] --out DIR SRC...
//     zips each SRC directory into DIR/<basename>.zip (SRC=NAME: DIR/NAME.zip), up to N at once, one
//     deflate pool for all of them, as a release writes its zip archives
//   kbuild-bench sums [--jobs N] --out DIR FILE...
//     writes DIR/SHA256SUMS and DIR/SHA512SUMS, one read per file for both digests
// Each prints `key=value` lines (seconds, cpu_seconds, bytes, peak_rss_kb) for the script to parse.
import Foundation
import KbuildArchive
import KbuildCore
import KbuildDigest

struct Usage: Error, CustomStringConvertible {
    let description: String
}

struct Arguments {
    var command = ""
    var jobs = ProcessInfo.processInfo.activeProcessorCount
    var level = 6
    var compression = "fast"
    var digests = true
    var cache = true
    var cacheDirectory: String?
    var out = ""
    var inputs: [String] = []

    init(_ raw: [String]) throws {
        var rest = raw[...]
        guard let command = rest.popFirst() else { throw Usage(description: "missing command: pack, zip or sums") }
        self.command = command
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw Usage(description: "\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--jobs": jobs = try Int(value(argument)) ?? 0
            case "--level": level = try Int(value(argument)) ?? 0
            case "--compression": compression = try value(argument)
            case "--no-digests": digests = false
            case "--no-cache": cache = false
            case "--cache": cacheDirectory = try value(argument)
            case "--out": out = try value(argument)
            default: inputs.append(argument)
            }
        }
        guard jobs > 0 else { throw Usage(description: "--jobs must be a positive integer") }
        guard !out.isEmpty, !inputs.isEmpty else { throw Usage(description: "need --out DIR and at least one input") }
    }
}

func usage() -> rusage {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage
}

func peakRSSKilobytes() -> Int { usage().ru_maxrss }

/// User + system CPU seconds of every thread so far: steadier than wall time on a loaded machine.
func cpuSeconds() -> Double {
    let now = usage()
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(now.ru_utime) + seconds(now.ru_stime)
}

func pack(_ arguments: Arguments) async throws {
    let compression: TarOptions.Compression
    let cache = arguments.cache ? DeflateCache(directory: arguments.cacheDirectory) : nil
    switch arguments.compression {
    case "fast":
        compression = .fastGzip(
            level: arguments.level,
            pool: DeflatePool(threads: ProcessInfo.processInfo.activeProcessorCount, cache: cache))
    case "gzip": compression = .gzip(level: arguments.level)
    default: throw Usage(description: "--compression must be fast or gzip, not \(arguments.compression)")
    }
    let options = TarOptions(
        compression: compression, mtime: try SourceDate(seconds: 0),
        hashing: arguments.digests ? .checksums : .none)
    try await archiveEach(arguments, suffix: ".tar.gz") { entries, path in
        try Tarball.write(entries, to: path, options: options)
    }
    if let counts = cache?.snapshot {
        print("blocks_deflated=\(counts.deflated)")
        print("blocks_from_memory=\(counts.memoryHits)")
        print("blocks_from_disk=\(counts.diskHits)")
    }
}

/// Writes each input directory (SRC or SRC=NAME) as OUT/NAME<suffix>, up to --jobs at once, and
/// prints the time, bytes, CPU and peak RSS.
func archiveEach(
    _ arguments: Arguments, suffix: String,
    write: @escaping @Sendable ([TarEntry], String) throws -> WrittenArchive
) async throws {
    let out = arguments.out
    let start = Date()
    let written = try await concurrentMap(arguments.inputs, limit: arguments.jobs) { input in
        let parts = input.split(separator: "=", maxSplits: 1).map(String.init)
        let source = parts[0]
        let name = parts.count == 2 ? parts[1] : URL(fileURLWithPath: source).lastPathComponent
        return try await Blocking.run {
            try write(try TarEntry.tree(of: source, under: name), "\(out)/\(name)\(suffix)")
        }
    }
    print("seconds=\(Date().timeIntervalSince(start))")
    print("bytes=\(written.reduce(0) { $0 + $1.size })")
    print("cpu_seconds=\(cpuSeconds())")
    print("peak_rss_kb=\(peakRSSKilobytes())")
}

func zipArchives(_ arguments: Arguments) async throws {
    let pool = DeflatePool(threads: ProcessInfo.processInfo.activeProcessorCount)
    defer { pool.shutdown() }
    let options = ZipOptions(
        mtime: try SourceDate(seconds: 0), level: arguments.level, hashing: arguments.digests ? .checksums : .none,
        pool: pool)
    try await archiveEach(arguments, suffix: ".zip") { entries, path in
        try Zip.write(entries, to: path, options: options)
    }
}

func sums(_ arguments: Arguments) async throws {
    let start = Date()
    let digests = try await concurrentMap(arguments.inputs, limit: arguments.jobs) { file in
        try await Blocking.run { try Checksums.file(file) }
    }
    for (name, digest) in [("SHA256SUMS", \Checksums.sha256), ("SHA512SUMS", \Checksums.sha512)] {
        let lines = zip(arguments.inputs, digests).map { file, checksums in
            "\(checksums[keyPath: digest].hex)  \(URL(fileURLWithPath: file).lastPathComponent)\n"
        }
        try FileOutput.writeAtomically(lines.joined(), to: "\(arguments.out)/\(name)")
    }
    print("seconds=\(Date().timeIntervalSince(start))")
    print("cpu_seconds=\(cpuSeconds())")
    print("peak_rss_kb=\(peakRSSKilobytes())")
}

do {
    let arguments = try Arguments(Array(CommandLine.arguments.dropFirst()))
    switch arguments.command {
    case "pack": try await pack(arguments)
    case "zip": try await zipArchives(arguments)
    case "sums": try await sums(arguments)
    default: throw Usage(description: "unknown command \(arguments.command): use pack, zip or sums")
    }
} catch {
    FileHandle.standardError.write(Data("kbuild-bench: \(error)\n".utf8))
    exit(1)
}
