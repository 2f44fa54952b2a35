import ArgumentParser
import Foundation
import KbuildRelease

/// The shared-cache options of the commands that build.
struct RemoteCacheOptions: ParsableArguments {
    @Option(
        name: .customLong("remote-cache"),
        help: ArgumentHelp(
            "A Bazel HTTP remote cache (bazel-remote, nginx WebDAV, …) consulted after _output/cache and filled after a build; `off` for none. Default: $KBUILD_REMOTE_CACHE, else cache.remote of the release config.",
            valueName: "url"))
    var remoteCache: String?

    @Option(
        name: .customLong("remote-cache-upload"),
        help: ArgumentHelp(
            "false: read the remote cache, never write it (untrusted jobs such as pull requests). Default: $KBUILD_REMOTE_CACHE_UPLOAD, else true.",
            valueName: "true|false"))
    var upload: Bool?

    /// The environment variables these options honour, for the commands' help.
    static let discussion = """
        Remote cache: --remote-cache URL (or KBUILD_REMOTE_CACHE, or cache.remote in the release config) \
        shares built binaries through GET/PUT URL/ac/<key> and URL/cas/<sha256>; every blob is checked \
        against its sha256. KBUILD_REMOTE_CACHE_UPLOAD=false reads only; KBUILD_REMOTE_CACHE_TIMEOUT=SECONDS \
        bounds each request whole (default 30); KBUILD_REMOTE_CACHE_MAX_BYTES=SIZE caps a blob (default 2G). \
        Redirects are not followed. A server that is down, slow or hostile costs one warning; the run goes \
        on locally.
        """

    /// Sets `options.remoteCache` from the flags, the environment and the config.
    func apply(to options: inout ReleaseOptions, plan: ReleasePlan, environment: [String: String]) throws {
        options.remoteCache = try RemoteCacheSetup.resolve(
            flag: remoteCache, uploadFlag: upload, environment: environment,
            config: plan.config.cache
        ) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
