import KbuildCore

extension ReleasePlan {
    /// `path` relative to the workspace when it lies inside it, as a user would type it.
    public func relative(_ path: String) -> String {
        Paths.inside(path, workspace) ?? path
    }

    /// The build matrix alone, as `kbuild build --dry-run` prints it.
    public var renderedBuilds: String {
        var lines = ["version \(version.version), \(builds.count) builds:"]
        for build in builds {
            lines.append(
                "  \(build.platform.description.padding(14)) \(build.binary.padding(26)) \(build.package.padding(30)) \(relative(build.output))"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The plan as `kbuild plan` prints it: paths relative to the workspace.
    public var rendered: String {
        var lines: [String] = []
        lines.append("project:     \(project)")
        lines.append("version:     \(version.version) (from \(version.source.rawValue))")
        lines.append("source date: \(sourceDate) (\(sourceDate.rfc3339))")
        lines.append("")
        lines.append("builds (\(builds.count)):")
        for build in builds {
            let mode = build.isStatic ? "static" : "cgo"
            lines.append(
                "  \(build.platform.description.padding(14)) \(build.binary.padding(26)) \(mode.padding(6)) \(relative(build.output))"
            )
        }
        lines.append("")
        lines.append("images (\(images.count)):")
        for image in images {
            let request = image.request
            lines.append(
                "  \(request.platform.description.padding(14)) \(request.binary.padding(26)) \(relative(image.tarball))"
            )
        }
        lines.append("")
        // Kubernetes' layout calls them tarballs; a configured one may ship zips and plain binaries.
        let heading = releaseLayout.isKubernetes ? "tarballs" : "archives"
        lines.append("\(heading) (\(archives.count)):")
        for archive in archives {
            var detail = archive.binaries.joined(separator: ", ")
            if !archive.images.isEmpty { detail += "; images: " + archive.images.joined(separator: ", ") }
            lines.append("  \(relative(archivePath(archive)).padding(58)) \(detail)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
