import Foundation
import KbuildCore
import KbuildRelease
import TestSupport
import Testing

/// Add-on manifests are parsed, not grepped.
@Suite struct AddonManifestParseTests {
    static let labelled =
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\n  labels:\n    kubernetes.io/cluster-service: \"true\"\n"

    /// The error `find` throws for one manifest `name` holding `text`, or nil when it is accepted.
    func problem(_ name: String, _ text: String) throws -> String? {
        let dir = try TemporaryDirectory("kbuild-addon-parse")
        defer { dir.remove() }
        let file = dir.appending("cluster/addons/" + name)
        try FileManager.default.createDirectory(atPath: Paths.parent(of: file), withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        do {
            _ = try AddonManifests.find(workspace: dir.path, directories: ["cluster/addons"], exclude: [])
            return nil
        } catch {
            return "\(error)".replacingOccurrences(of: dir.path + "/", with: "")
        }
    }

    @Test func parseErrorsNameTheFileTheDocumentAndTheLine() throws {
        let notYAML = try problem("a.yaml", "apiVersion: v1\nkind: [Service\nmetadata: {}\n")
        #expect(notYAML?.hasPrefix("cluster/addons/a.yaml:3:") == true, "\(notYAML ?? "accepted")")
        #expect(notYAML?.contains("document 1: malformed YAML") == true)
        #expect(notYAML?.contains("allowed: YAML (every document of a multi-document file) or JSON") == true)
        let second = try problem("b.yaml", Self.labelled + "---\n" + Self.labelled + "---\nkind: \"open\n")
        #expect(second?.contains("document 3: malformed YAML") == true, "\(second ?? "accepted")")
        let json = try problem(
            "c.json", "{\n  \"metadata\": {\"labels\": {\"addonmanager.kubernetes.io/mode\": \"Reconcile\"}\n")
        #expect(
            json
                == "cluster/addons/c.json:3:1: document 1: malformed JSON: unexpected end of file (an unclosed {?); allowed: YAML (every document of a multi-document file) or JSON add-on manifests, or exclude the file with addons.exclude"
        )
        let trailingComma = try problem(
            "d.json", "{\"metadata\": {\"labels\": {\"addonmanager.kubernetes.io/mode\": \"x\",}}}")
        #expect(
            trailingComma?.contains("d.json:1:65: document 1: malformed JSON: expected a \"key\"") == true,
            "\(trailingComma ?? "accepted")")
    }

    @Test func theLabelMustBeUnderMetadataLabels() throws {
        // Only in a comment, or somewhere else than metadata.labels: refused.
        let comment = try problem(
            "a.yaml", "# kubernetes.io/cluster-service: \"true\"\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        )
        #expect(
            comment?.contains("cluster/addons/a.yaml: add-on manifest lacks the label") == true,
            "\(comment ?? "accepted")")
        let annotation = try problem(
            "b.yaml", "kind: Service\nmetadata:\n  annotations:\n    addonmanager.kubernetes.io/mode: Reconcile\n")
        #expect(annotation?.contains("lacks the label") == true)
        let json = try problem(
            "c.json", #"{"kind": "Service", "spec": {"labels": {"kubernetes.io/cluster-service": "true"}}}"#)
        #expect(json?.contains("c.json: add-on manifest lacks the label") == true)
        // Every document; comment-only documents are skipped.
        let multi = try problem(
            "d.yaml", Self.labelled + "---\n# nothing\n---\nkind: ConfigMap\nmetadata:\n  name: x\n")
        #expect(multi?.contains("d.yaml (document 3): add-on manifest lacks") == true, "\(multi ?? "accepted")")
        let commentOnly = try problem("e.yaml", Self.labelled + "---\n# only a comment\n")
        #expect(commentOnly == nil, "\(commentOnly ?? "")")
        #expect(
            try problem("f.json", #"{"metadata": {"labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}}}"#)
                == nil)
    }

    @Test func listItemsAreCheckedOneByOne() throws {
        let list =
            "apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata:\n    labels:\n      addonmanager.kubernetes.io/mode: Reconcile\n- kind: ConfigMap\n  metadata:\n    name: x\n"
        #expect(
            try problem("list.yaml", list)
                == "cluster/addons/list.yaml (items[1]): add-on manifest lacks the label kubernetes.io/cluster-service: \"true\" (or addonmanager.kubernetes.io/mode); add it, or exclude the file with addons.exclude"
        )
    }

    @Test func templatesAreCheckedAroundTheirExpressions() throws {
        let template =
            "{% if pillar.get('x') %}\n" + Self.labelled
            + "spec:\n  replicas: {{ pillar['replicas'] }}\n  name: \"{{ name }}\"\n{% endif %}\n"
        #expect(try problem("t.yaml.in", template) == nil)
        let unlabelled = "kind: Service\nmetadata:\n  name: {{ name }}\n"
        #expect(try problem("u.yaml.in", unlabelled)?.contains("lacks the label") == true)
    }
}
