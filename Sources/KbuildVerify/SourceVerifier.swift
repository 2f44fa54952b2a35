import Foundation
import KbuildArchive
import KbuildCore

/// Checks `<project>-src.tar.gz` against the git repository it came from: exactly the files git tracks at
/// the release commit in the workspace's subtree (names relative to the workspace, types, sizes), plus
/// `.kube-git-version`.
struct SourceVerifier {
    let workspace: String
    let runner: any ProcessRunner
    /// True when the release lies in this workspace: then its commit must be in this repository.
    var isOrigin = true

    /// The release commit and version recorded in the src tarball's `.kube-git-version`.
    static func recorded(in srcTarball: String) -> (commit: String?, version: String?, entries: [TarHeader])? {
        guard let reader = try? TarReader(path: srcTarball) else { return nil }
        var entries: [TarHeader] = []
        var text = ""
        while let header = try? reader.next() {
            entries.append(header)
            if header.path == ".kube-git-version", let bytes = try? reader.readAll(limit: 1 << 16) {
                text = String(decoding: bytes, as: UTF8.self)
            }
        }
        return (value("KUBE_GIT_COMMIT", in: text), value("KUBE_GIT_VERSION", in: text), entries)
    }

    /// `KEY='value'` of `.kube-git-version` (quotes dropped), or nil when no line sets `key`.
    private static func value(_ key: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(key + "=") {
            return line.dropFirst(key.count + 1).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        return nil
    }

    /// Only the version `.kube-git-version` records, read up to that entry: it sorts first, so a large
    /// src tarball is not inflated whole (kbuild publish asks for it on every run).
    static func recordedVersion(in srcTarball: String) -> String? {
        guard let reader = try? TarReader(path: srcTarball) else { return nil }
        while let header = try? reader.next() {
            guard header.path == ".kube-git-version" else { continue }
            let text = String(decoding: (try? reader.readAll(limit: 1 << 16)) ?? [], as: UTF8.self)
            return value("KUBE_GIT_VERSION", in: text)
        }
        return nil
    }

    func verify(_ path: String, name: String) async -> [VerifyCheck] {
        guard let inside = try? await runner.run(Command("git", ["-C", workspace, "rev-parse", "--git-dir"])),
            inside.succeeded
        else {
            return [
                VerifyCheck(
                    .skip, "source", name, "\(workspace) is not a git repository: cannot compare with git ls-files")
            ]
        }
        // Reading the tarball blocks: on a thread of its own, never on the cooperative pool.
        guard let recorded = await Blocking.run({ Self.recorded(in: path) }) else {
            return [.fail("source", name, "does not open as a tar.gz")]
        }
        guard let commit = recorded.commit, !commit.isEmpty else {
            return [.fail("source", name, ".kube-git-version names no KUBE_GIT_COMMIT")]
        }
        let tree: CommandResult
        do {
            tree = try await runner.run(
                // The workspace's subtree, paths relative to it: what the release packs for a workspace below
                // the repository's top (a monorepo's subdirectory), the whole tree at the top.
                Command("git", ["-C", workspace, "ls-tree", "-r", "-l", "-z", commit]))
        } catch {
            return [.fail("source", name, "git ls-tree \(commit) cannot run: \(error)")]
        }
        guard tree.succeeded else {
            guard isOrigin else {
                return [
                    VerifyCheck(
                        .skip, "source", name,
                        "release commit \(commit.prefix(14)) is not in \(workspace); give -C the repository it came from"
                    )
                ]
            }
            return [.fail("source", name, "release commit \(commit) is not in the repository at \(workspace)")]
        }
        // `<mode> <type> <object> <size>\t<path>`; submodules (commits) are not part of a source tarball.
        var tracked: [String: (kind: TarHeader.Kind, size: Int64)] = [:]
        for record in tree.stdout.split(separator: "\0") {
            guard let tab = record.firstIndex(of: "\t") else { continue }
            let fields = record[..<tab].split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 4, fields[1] == "blob" else { continue }
            let kind: TarHeader.Kind = fields[0] == "120000" ? .symlink : .file
            tracked[String(record[record.index(after: tab)...])] = (kind, Int64(fields[3]) ?? -1)
        }
        var failures: [VerifyCheck] = []
        var packed: Set<String> = []
        for entry in recorded.entries where entry.kind != .directory && entry.path != ".kube-git-version" {
            packed.insert(entry.path)
            guard let want = tracked[entry.path] else {
                failures.append(
                    .fail("source", "\(name)!\(entry.path)", "is not tracked by git at \(commit.prefix(14))"))
                continue
            }
            if want.kind != entry.kind {
                failures.append(
                    .fail("source", "\(name)!\(entry.path)", "is a \(entry.kind) in the tarball, a \(want.kind) in git")
                )
            } else if entry.kind == .file, want.size != entry.size {
                failures.append(
                    .fail("source", "\(name)!\(entry.path)", "has \(entry.size) bytes, git has \(want.size)"))
            }
        }
        for missing in Set(tracked.keys).subtracting(packed).sorted() {
            failures.append(.fail("source", name, "lacks \(missing), which git tracks at \(commit.prefix(14))"))
        }
        guard failures.isEmpty else { return failures }
        return [
            .ok(
                "source", name,
                "exactly the \(tracked.count) files git tracks at \(commit.prefix(14)), plus .kube-git-version")
        ]
    }
}
