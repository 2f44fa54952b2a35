/// Failures of reading the inputs of supply-chain documents.
public enum ProofError: Error, CustomStringConvertible, Equatable {
    /// An input that is not in the form expected (a checksum file, Go build info).
    case malformed(what: String, problem: String)

    public var description: String {
        switch self {
        case .malformed(let what, let problem):
            return "\(what.replacingOccurrences(of: "\n", with: "\\n")): \(problem)"
        }
    }
}
