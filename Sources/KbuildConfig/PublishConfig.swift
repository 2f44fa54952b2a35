import Foundation
import KbuildCore
import KbuildImage
import Yams

extension ReleaseConfig {
    /// The `publish` section: where `kbuild publish` sends the release (flags and KUBE_DOCKER_REGISTRY win).
    public struct Publish: Sendable, Hashable, Codable {
        /// `publish.registry`: `host[:port][/path]` the images go to.
        public var registry: String?
        /// `publish.upload`: `http(s)://host[:port]/path` the release files are PUT under.
        public var upload: String?
        /// `publish.caFile`: a PEM file of CA certificates also trusted for both, relative to the config.
        public var caFile: String?

        public init(registry: String? = nil, upload: String? = nil, caFile: String? = nil) {
            self.registry = registry
            self.upload = upload
            self.caFile = caFile
        }
    }
}

extension ConfigReader {
    func readPublish(_ entry: Entry?) throws -> ReleaseConfig.Publish {
        let fields =
            try entry.map { try mapping($0.value, "publish", allowed: ["registry", "upload", "caFile"]) } ?? [:]
        var publish = ReleaseConfig.Publish()
        if let given = fields["registry"], !isNull(given.value) {
            let text = try string(given.value, "publish.registry")
            if let problem = ImageName.registryProblem(text) {
                throw fail(given.value, "publish.registry", "\"\(Self.escaped(text))\": \(problem)")
            }
            publish.registry = text
        }
        if let given = fields["upload"], !isNull(given.value) {
            let text = try string(given.value, "publish.upload")
            let components = URLComponents(string: text)
            guard components?.scheme == "http" || components?.scheme == "https", components?.host?.isEmpty == false,
                components?.user == nil, components?.password == nil
            else {
                throw fail(
                    given.value, "publish.upload",
                    "\"\(Self.escaped(text))\" is not a URL prefix; allowed: http(s)://host[:port]/path, without credentials (netrc or KBUILD_UPLOAD_TOKEN carry those)"
                )
            }
            publish.upload = text
        }
        if let given = fields["caFile"], !isNull(given.value) {
            let text = try string(given.value, "publish.caFile")
            let path = text.hasPrefix("/") ? text : Paths.parent(of: file) + "/" + text
            if let problem = CertificateFile.problem(path) {
                throw fail(
                    given.value, "publish.caFile",
                    "\"\(Self.escaped(text))\" \(problem); allowed: a PEM file of CA certificates, relative to the config"
                )
            }
            publish.caFile = path
        }
        return publish
    }
}
