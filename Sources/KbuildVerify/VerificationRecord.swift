import Foundation
import KbuildCore
import KbuildDigest

/// That `kbuild verify`'s checks passed on a release's `_output` as its files are now, so `kbuild publish`
/// need not verify an unchanged release again. It is the state itself, not a digest of it: the stat
/// stamp of every file and directory verify reads (`release-tars/*`, `release-images/<arch>/*`) with its
/// ctime, which any write changes (even one that keeps the size and resets the mtime), plus kbuild's
/// version and the config's digest. A record matches only when all of it is equal; it is written after
/// a full pass, atomically, and read back as hostile input (bounded, decoded, compared field by field).
public struct VerificationRecord: Codable, Hashable, Sendable {
    /// Bump when what a record covers changes, so old records stop matching.
    public static let format = "kbuild-verified-v1"
    /// The largest record read back (a release has tens of files; this allows tens of thousands).
    public static let maxBytes = 16 << 20
    /// The most entries stamped: a larger release is verified every time.
    public static let maxEntries = 50_000

    var format: String
    /// kbuild's version: a newer kbuild may check more.
    var tool: String
    /// sha256 of the workspace's config file ("" without one).
    var config: String
    /// The workspace verify compared the sources with (nil for a release without one).
    var workspace: String?
    /// The `_output` directory, absolute.
    var output: String
    /// Path under `output` → its stamp, for every entry verify reads and the directories holding them.
    var entries: [String: FileSignature]

    /// What `lstat` says of one entry (a symlink is stamped, never followed); nil when it cannot.
    static func stamp(_ path: String) -> FileSignature? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileSignature(info)
    }

    /// The record `output` would have now; nil when it cannot be stamped (then verify runs).
    public static func current(output: String, workspace: String?, tool: String, config: String)
        -> VerificationRecord?
    {
        var entries: [String: FileSignature] = [:]
        // Directories first: a file added or removed changes its directory's mtime and ctime.
        for directory in ["release-tars", "release-images"] {
            guard let stamp = Self.stamp(output + "/" + directory) else {
                if directory == "release-images" { continue }  // a release without images
                return nil
            }
            entries[directory] = stamp
            guard stamp.mode & S_IFMT == S_IFDIR else { continue }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: output + "/" + directory)) ?? [] {
                let relative = directory + "/" + name
                guard let stamp = Self.stamp(output + "/" + relative) else { return nil }
                entries[relative] = stamp
                // release-images/<arch>/<bin>.tar and .docker_tag: one level deeper, never through a symlink.
                guard directory == "release-images", stamp.mode & S_IFMT == S_IFDIR else { continue }
                for inner in (try? FileManager.default.contentsOfDirectory(atPath: output + "/" + relative)) ?? [] {
                    guard let stamp = Self.stamp(output + "/" + relative + "/" + inner) else { return nil }
                    entries[relative + "/" + inner] = stamp
                }
            }
            if entries.count > maxEntries { return nil }
        }
        return VerificationRecord(
            format: format, tool: tool, config: config, workspace: workspace, output: output, entries: entries)
    }

    /// Where the record of `output` lives under `cache` (one per release directory, replaced by each pass).
    public static func path(cache: String, output: String) -> String {
        cache + "/verified/" + Digest.of(Data(output.utf8), .sha256).hex + ".json"
    }

    /// The cache directory: the workspace's `_output/cache` when `output` is its `_output`, else
    /// `$XDG_CACHE_HOME/kbuild` (`~/.cache/kbuild`).
    public static func cacheDirectory(output: String, workspace: String?, environment: [String: String]) -> String {
        if let workspace, output == workspace + "/_output" { return output + "/cache" }
        return UserCache.directory(environment)
    }

    /// Whether the record at `path` says exactly this: read without following a symlink, bounded.
    public func isRecorded(at path: String) -> Bool {
        let parent = Paths.parent(of: path)
        guard let data = try? Beneath(parent).read(Paths.name(of: path), limit: Self.maxBytes),
            let stored = try? JSONDecoder().decode(VerificationRecord.self, from: data)
        else { return false }
        return stored == self
    }

    /// Writes the record atomically (a failure only costs verifying again next time).
    public func write(to path: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return }
        try? FileOutput.writeAtomically(data, to: path, durable: false)
    }
}
