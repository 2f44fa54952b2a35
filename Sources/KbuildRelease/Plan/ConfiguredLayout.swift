import KbuildArtifact
import KbuildConfig
import KbuildCore
import KbuildProof
import KbuildVersion

/// A layout the config declares (`archives:`): each archive once per platform, its name, format, wrap
/// directory, binaries, files and generated files rendered from the config's templates.
struct ConfiguredLayout {
    let config: ReleaseConfig
    let version: VersionInfo
    let archives: [ReleaseConfig.Archive]
    /// The workspace files and trees of the archives' `files`, walked before planning.
    let listing: WorkspaceListing

    /// Every archive, in config order, platforms sorted (binary assets: one per binary), and the side
    /// files: each archive's configured checksum files, then the sums, artifacts.json, the SBOM and the
    /// proofs. One pass: each archive's templates are rendered once.
    func planned() -> (archives: [PlannedArchive], sideFiles: [SideFile]) {
        var planned: [PlannedArchive] = []
        var files: [SideFile] = []
        for archive in archives {
            for platform in platforms(of: archive) {
                let made = self.planned(archive, platform)
                planned += made
                files += made.flatMap { checksumFiles(of: $0.name, archive.checksums) }
            }
        }
        return (planned, files + ReleasePlanner.documents(project: config.project, sums: config.sums))
    }

    /// The archive's platforms, narrowed as the environment narrowed the config (`KUBE_BUILD_PLATFORMS`).
    private func platforms(of archive: ReleaseConfig.Archive) -> [Platform] {
        let kinds = Set(config.binaries.filter { archive.binaries.contains($0.name) }.flatMap(\.kinds))
        let configured = Set(kinds.flatMap { config.platforms(for: $0) })
        // An archive of workspace files alone ships on every configured platform.
        let available = kinds.isEmpty ? Set(config.allPlatforms) : configured
        return (archive.platforms ?? available.sorted()).filter(available.contains)
    }

    private func values(_ platform: Platform) -> [NameTemplate.Field: String] {
        let bare = version.version.hasPrefix("v") ? String(version.version.dropFirst()) : version.version
        return [
            .project: config.project, .version: version.version, .bareVersion: bare, .os: platform.os,
            .arch: platform.arch,
        ]
    }

    private func planned(_ archive: ReleaseConfig.Archive, _ platform: Platform) -> [PlannedArchive] {
        var values = values(platform)
        let format = archive.format(on: platform.os)
        if format == .binary {
            return archive.binaries.map { binary in
                values[.binary] = binary
                let name = archive.name.render(values) + platform.executableSuffix
                return PlannedArchive(
                    name: name, kind: .binary, format: .binary, platform: platform, stageDirectory: "assets/\(name)",
                    entries: [.binary(binary, platform, at: name)])
            }
        }
        if archive.binaries.count == 1 { values[.binary] = archive.binaries[0] }
        let root = archive.wrap.map { $0.render(values) } ?? ""
        func inside(_ path: String) -> String { root.isEmpty ? path : root + "/" + path }
        var entries: [ArchiveEntry] = archive.binaries.map { binary in
            var named = values
            named[.binary] = binary
            return .binary(binary, platform, at: inside(archive.binaryPath.render(named) + platform.executableSuffix))
        }
        for file in archive.files {
            entries += listing.entries(of: file.source, at: inside(file.destination))
        }
        for generated in archive.generated {
            entries.append(.generated(generated.content.render(values), at: inside(generated.destination)))
        }
        let name = archive.name.render(values) + format.suffix
        return [
            PlannedArchive(
                name: name, kind: .archive, format: format, platform: platform, stageDirectory: "archives/\(name)",
                entries: entries)
        ]
    }

    /// The checksum side files configured for the archive `name`.
    private func checksumFiles(of name: String, _ checksums: [ReleaseConfig.Archive.Checksum]) -> [SideFile] {
        checksums.map { checksum in
            switch checksum {
            case .sha256, .sha512:
                return SideFile(
                    name: "\(name).\(checksum.rawValue)", kind: .digest, algorithm: checksum.rawValue, of: name)
            case .sha256sum:
                return SideFile(name: "\(name).sha256sum", kind: .digestLine, algorithm: "sha256", of: name)
            }
        }
    }
}
