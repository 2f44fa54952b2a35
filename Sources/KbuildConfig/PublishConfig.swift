import Foundation
import KbuildArtifact
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
        /// `publish.tags`: the multi-arch index's tags as templates of project, version, bareVersion and
        /// binary; nil: the version tag alone.
        public var tags: [NameTemplate]?

        public init(
            registry: String? = nil, upload: String? = nil, caFile: String? = nil, tags: [NameTemplate]? = nil
        ) {
            self.registry = registry
            self.upload = upload
            self.caFile = caFile
            self.tags = tags
        }

        /// The fields a tag template may use.
        public static let tagFields: [NameTemplate.Field] = [.project, .version, .bareVersion, .binary]

        /// `templates` rendered for one binary of a release of `version`, `+` as `_` (not allowed in tags).
        public static func render(_ templates: [NameTemplate], project: String, version: String, binary: String)
            -> [String]
        {
            let bare = version.hasPrefix("v") ? String(version.dropFirst()) : version
            return templates.map {
                $0.render([.project: project, .version: version, .bareVersion: bare, .binary: binary])
                    .replacingOccurrences(of: "+", with: "_")
            }
        }
    }
}

extension ConfigReader {
    func readPublish(_ entry: Entry?) throws -> ReleaseConfig.Publish {
        let fields =
            try entry.map { try mapping($0.value, "publish", allowed: ["registry", "upload", "caFile", "tags"]) } ?? [:]
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
        if let given = fields["tags"], !isNull(given.value) { publish.tags = try readTags(given.value) }
        return publish
    }

    /// `publish.tags`: templates, each an OCI tag once rendered, none twice, at least one.
    private func readTags(_ node: Node) throws -> [NameTemplate] {
        let items = try stringList(node, "publish.tags")
        guard !items.isEmpty else {
            throw fail(node, "publish.tags", "empty; allowed: one tag or more, e.g. [\"{{version}}\", latest]")
        }
        var seen: [String: String] = [:]
        return try items.map { text, item, path in
            let template: NameTemplate
            do throws(TemplateError) {
                template = try NameTemplate(text)
            } catch {
                throw fail(item, path, "\"\(Self.escaped(text))\": \(error.problem)")
            }
            let allowed = ReleaseConfig.Publish.tagFields
            if let field = template.fields.first(where: { !allowed.contains($0) }) {
                throw fail(
                    item, path,
                    "\"\(Self.escaped(text))\": {{\(field.rawValue)}} is not known for an index over every platform; allowed: \(allowed.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let sample = ReleaseConfig.Publish.render(
                [template], project: "project", version: "v1.2.3-rc.1+a1b2", binary: "binary")[0]
            guard ImageTag.isValid(sample) else {
                throw fail(
                    item, path,
                    "\"\(Self.escaped(text))\" renders \"\(Self.escaped(sample))\", not an OCI tag; allowed: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
                )
            }
            if let earlier = seen.updateValue(text, forKey: sample) {
                throw fail(
                    item, path,
                    "\"\(Self.escaped(text))\" names the same tag as \"\(Self.escaped(earlier))\"; allowed: each tag once"
                )
            }
            return template
        }
    }
}
