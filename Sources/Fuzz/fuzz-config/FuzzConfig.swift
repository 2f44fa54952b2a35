import Foundation
import FuzzSupport
import KbuildConfig
import KbuildCore

// Not in Package.swift until KbuildConfig's loader is merged; see hack/fuzz for the line to add.

/// The release config loader on arbitrary YAML, against a small workspace shaped like examples/.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = workspace + "/release/kbuild.yaml"
    Fuzz.write(Fuzz.bytes(data, size), to: file)
    do {
        let config = try ConfigLoader.load(
            file: file, workspace: workspace, knownPlatforms: ReleaseConfig.knownPlatforms)
        let names = config.binaries.map(\.name)
        if Set(names).count != names.count { Fuzz.fail("duplicate binaries accepted: \(names)") }
        for kind in ReleaseConfig.Kind.allCases {
            let platforms = config.platforms(for: kind)
            if platforms != platforms.sorted() { Fuzz.fail("platforms(for: \(kind)) not sorted: \(platforms)") }
            if !platforms.allSatisfy(ReleaseConfig.knownPlatforms.contains) {
                Fuzz.fail("unknown platform accepted for \(kind): \(platforms)")
            }
        }
    } catch is ConfigError {
        // The expected outcome for almost every input.
    } catch {
        Fuzz.fail("load threw \(type(of: error)), not ConfigError: \(error)")
    }
    return 0
}

/// go.mod, main packages, base.go, add-ons and a base image file, as the seeds in hack/fuzz-seeds/config name them.
let workspace: String = {
    let root = Fuzz.directory + "/workspace"
    let files = [
        "go.mod": "module k8s.io/example\n\ngo 1.19\n",
        "pkg/version/base.go": "package version\n\nvar gitVersion = \"v0.0.0-master+$Format:%H$\"\n",
        "cluster/addons/dns/dns.yaml": "kind: Service\n",
        "cluster/addons/demo/demo.yaml": "kind: Pod\n",
        "images/base.tar": "",
        "release/kbuild.yaml": "",
    ].merging(
        ["kubectl", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kubelet"].map {
            ("cmd/\($0)/main.go", "package main\n\nfunc main() {}\n")
        }, uniquingKeysWith: { first, _ in first })
    for (path, text) in files {
        let full = root + "/" + path
        try? FileManager.default.createDirectory(atPath: Paths.parent(of: full), withIntermediateDirectories: true)
        Fuzz.write(Array(text.utf8), to: full)
    }
    return root
}()

@main enum FuzzConfig {
    static func main() { Fuzz.run { data, size in withInput(data, size, fuzz) } }
}
