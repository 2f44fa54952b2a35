import Foundation

#if KBUILD_FUZZING
    import CFuzzer
#endif

/// What every fuzz target shares: the entry point, a private work directory, invariant failures.
///
/// SwiftPM links every executable with `main` aliased to the module's entry point, so a fuzz target
/// cannot leave `main` to libFuzzer. Instead each target keeps an ordinary `@main` that calls `run`:
/// built by hack/fuzz (`-sanitize=fuzzer,address -DKBUILD_FUZZING`) it hands control to libFuzzer's
/// driver; in the normal build it replays the input files named on the command line, which keeps the
/// targets compiling and doubles as a corpus or crash replayer without the sanitizer.
public enum Fuzz {
    /// The C signature of a fuzz target's `LLVMFuzzerTestOneInput`.
    public typealias Target = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer on `target` (fuzzing build) or replays the files and directories given as arguments.
    public static func run(_ target: Target) -> Never {
        _ = directory
        atexit { try? FileManager.default.removeItem(atPath: Fuzz.directory) }
        #if KBUILD_FUZZING
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, target))
        #else
            let arguments = CommandLine.arguments.dropFirst()
            guard !arguments.isEmpty else {
                let name = (CommandLine.arguments.first ?? "fuzz").split(separator: "/").last ?? "fuzz"
                FileHandle.standardError.write(
                    Data(
                        "usage: \(name) FILE|DIR...: replays inputs (build with hack/fuzz to fuzz)\n".utf8))
                exit(2)
            }
            var count = 0
            for file in arguments.flatMap(inputs(at:)) {
                guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                let bytes = [UInt8](data)
                _ = bytes.withUnsafeBufferPointer { target($0.baseAddress, $0.count) }
                count += 1
            }
            print("replayed \(count) inputs without a failure")
            exit(0)
        #endif
    }

    /// The regular files at `path`: itself, or a directory's files sorted by name.
    private static func inputs(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            fail("no such input \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }.filter { !$0.hasSuffix("/.gitkeep") }
    }

    /// The input as bytes (libFuzzer may hand over a null pointer with size 0).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// A broken invariant: abort, so libFuzzer records the input as a crash.
    public static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("fuzz invariant broken: \(message)\n".utf8))
        abort()
    }

    /// A fresh directory private to this process, under `$TMPDIR`, removed at exit.
    public static let directory: String = {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/kbuild-fuzz.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fail("cannot create a directory under \(base)")
        }
        return String(cString: made)
    }()

    /// Writes `bytes` to `path`, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fail("cannot write \(path)") }
    }

    /// The names in `directory`, sorted.
    public static func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}

/// Calls a target's `fuzz(_:_:)` with a non-null pointer even for an empty input.
public func withInput(
    _ data: UnsafePointer<UInt8>?, _ size: Int, _ body: (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    if let data { return body(data, size) }
    var empty: UInt8 = 0
    return body(&empty, 0)
}
