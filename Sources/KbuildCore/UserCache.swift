import Foundation

/// The user's cache directory for what belongs to the machine rather than to one workspace (Go's
/// platform list per toolchain, the verification record of a release outside any workspace):
/// `$XDG_CACHE_HOME/kbuild`, else `~/.cache/kbuild`. Writing there leaves the workspace's git status
/// alone, so read-only commands (`kbuild version`, `kbuild plan`) never make a tree look dirty.
public enum UserCache {
    public static func directory(_ environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/kbuild" }
        let home = environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
        return home + "/.cache/kbuild"
    }
}
