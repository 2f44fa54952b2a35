import Foundation

/// What the action cache (`/ac/<key>`) holds for one step: a Bazel `ActionResult` in its proto3 JSON
/// form, so servers that validate action results (bazel-remote) accept it as they accept Bazel's.
/// Outputs are named relative to the workspace, so a clone in another directory can use them.
public struct ActionRecord: Codable, Sendable, Equatable {
    /// One output file: where it goes, its blob in the CAS, and whether it is executable.
    public struct OutputFile: Codable, Sendable, Equatable {
        /// Workspace-relative path, e.g. `_output/local/bin/linux/amd64/kube-proxy`.
        public var path: String
        public var digest: BlobDigest
        public var isExecutable: Bool

        public init(path: String, digest: BlobDigest, isExecutable: Bool) {
            self.path = path
            self.digest = digest
            self.isExecutable = isExecutable
        }

        enum CodingKeys: String, CodingKey { case path, digest, isExecutable }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decode(String.self, forKey: .path)
            digest = try container.decode(BlobDigest.self, forKey: .digest)
            // proto3 JSON leaves out false.
            isExecutable = try container.decodeIfPresent(Bool.self, forKey: .isExecutable) ?? false
        }
    }

    /// A CAS address: lowercase hex sha256 and size (`build.bazel.remote.execution.v2.Digest`).
    public struct BlobDigest: Codable, Sendable, Equatable {
        public var hash: String
        public var sizeBytes: Int64

        public init(hash: String, sizeBytes: Int64) {
            self.hash = hash
            self.sizeBytes = sizeBytes
        }

        enum CodingKeys: String, CodingKey { case hash, sizeBytes }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            hash = try container.decode(String.self, forKey: .hash)
            // proto3 JSON writes int64 as a string; accept a number too, and leave out 0.
            if let text = try? container.decodeIfPresent(String.self, forKey: .sizeBytes) {
                guard let size = Int64(text) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .sizeBytes, in: container, debugDescription: "not an integer")
                }
                sizeBytes = size
            } else {
                sizeBytes = try container.decodeIfPresent(Int64.self, forKey: .sizeBytes) ?? 0
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(hash, forKey: .hash)
            try container.encode(String(sizeBytes), forKey: .sizeBytes)
        }
    }

    public var outputFiles: [OutputFile]
    /// What the step returned (its cache payload), carried as the action's stdout.
    public var stdoutRaw: Data

    public init(outputFiles: [OutputFile], stdoutRaw: Data) {
        self.outputFiles = outputFiles
        self.stdoutRaw = stdoutRaw
    }

    enum CodingKeys: String, CodingKey { case outputFiles, stdoutRaw }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        outputFiles = try container.decodeIfPresent([OutputFile].self, forKey: .outputFiles) ?? []
        stdoutRaw = try container.decodeIfPresent(Data.self, forKey: .stdoutRaw) ?? Data()
    }

    /// Sorted keys, so two machines upload the same bytes for the same record.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}
