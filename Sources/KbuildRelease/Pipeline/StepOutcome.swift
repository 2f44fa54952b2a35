import KbuildGo

/// What a step did, as values: what it wrote, that its outputs were reused, or why it did not run.
/// Tests compare these; the text the CLI prints is `summary`, rendered here and nowhere else.
public enum StepOutcome: Sendable, Hashable {
    /// Binaries built now (`count`) and up to date; the compilers' sandbox, nil when nothing was built.
    case built(count: Int, upToDate: Int, sandbox: SandboxStatus?)
    /// Image tarballs written now (`count`) and up to date.
    case wroteImages(count: Int, upToDate: Int)
    /// The release laid out in the scratch `release-stage`, which becomes `directory`.
    case staged(directory: String)
    /// Every archive of the plan packed.
    case packed(archives: Int)
    /// The SBOM, naming every binary.
    case wroteSBOM(file: String, binaries: Int)
    /// The sums and digest files (`files` summed) and `artifacts.json` (`images` among its entries).
    case summed(files: Int, images: Int)
    /// The provenance, and the signature with the signing key's id when signed.
    case wroteProvenance(file: String, signature: Signature?)
    /// `release-stage` and `release-tars` swapped in; `directory` is `release-tars`.
    case published(directory: String)
    /// A shard's directory with its binaries and images.
    case sharded(directory: String, binaries: Int, images: Int)
    /// Shards checked and placed.
    case merged(shards: Int, binaries: Int, images: Int)
    /// The whole phase's outputs were reused: nothing it depends on changed since the last release.
    case reused
    /// Not run, and why.
    case skipped(SkipReason)

    public struct Signature: Sendable, Hashable {
        public var file: String
        public var keyID: String
    }

    public enum SkipReason: Sendable, Hashable {
        /// No binary of the config has `image: true`.
        case noImageBinaries
    }

    /// Ran, reused (nothing to do), or not run: the `outcome` of `--log-format json`'s `step-finished`.
    public enum Kind: String, Sendable {
        case done, reused, skipped
    }

    public var kind: Kind {
        switch self {
        case .built(let count, _, _), .wroteImages(let count, _): return count == 0 ? .reused : .done
        case .reused: return .reused
        case .skipped: return .skipped
        default: return .done
        }
    }

    /// The CLI's text: what was written, or the reason a step was skipped.
    public var summary: String {
        switch self {
        case .built(let count, let upToDate, let sandbox):
            return "\(count) built, \(upToDate) up to date" + (sandbox.map { ", sandbox: \($0)" } ?? "")
        case .wroteImages(let count, let upToDate): return "\(count) written, \(upToDate) up to date"
        case .staged(let directory), .published(let directory): return directory
        case .packed(let archives): return "\(archives) tarballs"
        case .wroteSBOM(let file, let binaries): return "\(file): \(binaries) binaries"
        case .summed(let files, let images): return "\(files) files in the sums, \(images) images in artifacts.json"
        case .wroteProvenance(let file, nil): return "\(file), unsigned"
        case .wroteProvenance(let file, let signature?):
            return "\(file) and \(signature.file), signed by key \(signature.keyID.prefix(16))"
        case .sharded(let directory, let binaries, let images):
            return "\(directory): \(binaries) binaries, \(images) images"
        case .merged(let shards, let binaries, let images):
            return "\(shards) shards, \(binaries) binaries, \(images) images"
        case .reused: return "nothing changed since the last release"
        case .skipped(.noImageBinaries): return "no binary has image: true"
        }
    }
}
