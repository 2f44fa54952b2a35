import Foundation
import KbuildArchive
import KbuildCore
import KbuildImage
import TestSupport
import Testing

/// Inputs hack/fuzz found trouble with; each must give a clean error.
@Suite struct FuzzRegressionTests {
    /// fuzz-base-image: a docker-archive whose config.json is empty made Foundation leak its read
    /// buffer (LeakSanitizer); it must be a clear error that names the member.
    @Test func anEmptyConfigIsAClearError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let base = dir.appending("base.tar")
        try Tarball.write(
            [
                .data("manifest.json", #"[{"Config":"config.json","RepoTags":null,"Layers":["layer.tar"]}]"#),
                .data("config.json", ""), .data("layer.tar", ""),
            ], to: base, options: TarOptions(compression: .none, mtime: try SourceDate(seconds: 0)))
        #expect(throws: ImageError.invalidBase(base: base, reason: "config.json is empty; expected a JSON document")) {
            try BaseImage.load(path: base, scratch: dir.appending("scratch"))
        }
    }
}
