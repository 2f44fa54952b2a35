import Foundation
import KbuildCore

/// What `git archive` wrote into a tree's `export-subst` placeholders: the commit (`$Format:%H$`) and the
/// refs (`$Format:%D$`, e.g. `HEAD -> main, tag: v1.8.3`) naming its tag. An unpacked archive has no
/// `.git`; this is how it still knows its version (tree state `archive`), as hack/lib/version.sh does.
public struct ArchiveStamp: Sendable, Equatable {
    /// The archived commit, 40 (or 64) hex digits.
    public var commit: String
    /// The first `v*` tag in the refs, as version.sh's `tag:\ (v[^ ,]+)` takes it; nil for an untagged commit.
    public var tag: String?
    /// Workspace-relative file it was read from.
    public var file: String
    /// The commit time (`$Format:%ct$`, kbuild's file only): the source date without git.
    public var commitTime: Int64? = nil

    /// Kubernetes' own carrier: `KUBE_GIT_COMMIT='$Format:%H$'` and `if [[ '$Format:%D$' =~ tag:\ (v…`.
    public static let kubernetesFile = "hack/lib/version.sh"
    /// kbuild's carrier for repositories without version.sh (`kbuild init` offers it).
    public static let kbuildFile = ".kbuild-archive-version"
    /// The contents of `kbuildFile`; `git archive` fills the placeholders when `.gitattributes` says
    /// `.kbuild-archive-version export-subst`.
    public static let kbuildTemplate = """
        # Filled in by `git archive` (export-subst in .gitattributes): an unpacked archive of a tagged
        # commit releases that tag, tree state archive. Written by kbuild init; keep it as it is.
        commit: $Format:%H$
        refs: $Format:%D$
        date: $Format:%ct$

        """
    /// The `.gitattributes` line that makes `git archive` fill `kbuildFile`.
    public static let kbuildAttribute = "/\(kbuildFile) export-subst"

    /// The stamp in `workspace`, from `kbuildFile` or else `kubernetesFile`; nil when neither holds
    /// substituted placeholders (a checkout, or a tarball made some other way).
    public static func read(workspace: String) -> ArchiveStamp? {
        for file in [kbuildFile, kubernetesFile] {
            guard let data = try? FileKind.readRegularFile(workspace + "/" + file, limit: 1 << 20),
                let stamp = parse(String(decoding: data, as: UTF8.self), file: file)
            else { continue }
            return stamp
        }
        return nil
    }

    /// The stamp in one file's text; nil while the placeholders are unfilled.
    static func parse(_ text: String, file: String) -> ArchiveStamp? {
        var commit: String?
        var refs: String?
        var date: Int64?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let value = quoted(line, after: "KUBE_GIT_COMMIT='") ?? field(line, "commit: "), isHex(value) {
                commit = commit ?? value
            } else if line.contains("=~ tag:"), let value = quoted(line, after: "[[ '") {
                refs = refs ?? value
            } else if let value = field(line, "refs: ") {
                refs = refs ?? value
            } else if let value = field(line, "date: ").flatMap({ Int64($0) }) {
                date = date ?? value
            }
        }
        guard let commit else { return nil }
        let tag = refs?.components(separatedBy: ", ").lazy.compactMap { ref -> String? in
            guard ref.hasPrefix("tag: v") else { return nil }
            return String(ref.dropFirst("tag: ".count).prefix { $0 != " " && $0 != "," })
        }.first
        return ArchiveStamp(commit: commit, tag: tag, file: file, commitTime: date)
    }

    /// What follows `opening` (which ends in a quote) up to the next `'`.
    private static func quoted(_ line: String, after opening: String) -> String? {
        guard let start = line.range(of: opening) else { return nil }
        let rest = line[start.upperBound...]
        return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
    }

    /// The rest of a `name: value` line of kbuild's file.
    private static func field(_ line: String, _ name: String) -> String? {
        line.hasPrefix(name) ? String(line.dropFirst(name.count)) : nil
    }

    private static func isHex(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64)
            && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
