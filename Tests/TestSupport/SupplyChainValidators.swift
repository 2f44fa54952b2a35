import Foundation

/// The outside validators of supply-chain documents: spdx-tools, the NTIA checker, the in-toto attestation
/// bindings, securesystemslib and openssl. Each throws (via `Tool.check`) when the document fails.
public enum SupplyChainValidators {
    /// `pyspdxtools -i FILE` (SPDX 2.3 validation) and `ntia-checker FILE` (NTIA minimum elements).
    public static func checkSBOM(_ path: String) async throws {
        try await Tool.check("pyspdxtools", ["-i", path])
        try await Tool.check("ntia-checker", [path])
    }

    /// Parses the statement into the in-toto protobufs strictly (unknown fields fail), validates the Statement
    /// and every ResourceDescriptor, and checks the SLSA v1 required fields. Prints the subject count.
    public static func checkProvenance(statementJSON path: String) async throws -> String {
        try await Tool.check("python3", ["-c", provenanceScript, path])
    }

    /// Verifies a DSSE envelope with securesystemslib's `Envelope.verify` and the Ed25519 public key; prints
    /// the payload type then the payload.
    public static func verifyDSSE(envelope path: String, publicKeyPEM: String, keyID: String) async throws -> String {
        try await Tool.check("python3", ["-c", dsseScript, path, publicKeyPEM, keyID])
    }

    /// `openssl pkeyutl -verify -rawin` of a raw Ed25519 signature.
    public static func verifyRaw(signature: String, of file: String, publicKeyPEM: String) async throws {
        try await Tool.check(
            "openssl",
            ["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", publicKeyPEM, "-sigfile", signature, "-in", file])
    }

    static let provenanceScript = """
        import json, sys
        from google.protobuf import json_format
        import in_toto_attestation.v1.statement_pb2 as spb
        from in_toto_attestation.v1.statement import Statement
        from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
        import in_toto_attestation.predicates.provenance.v1.provenance_pb2 as ppb
        text = open(sys.argv[1]).read()
        statement = Statement.copy_from_pb(json_format.Parse(text, spb.Statement()))
        statement.validate()
        assert statement.pb.predicate_type == "https://slsa.dev/provenance/v1", statement.pb.predicate_type
        provenance = json_format.ParseDict(json.loads(text)["predicate"], ppb.Provenance())
        assert provenance.build_definition.build_type, "buildType required"
        assert len(provenance.build_definition.external_parameters) > 0, "externalParameters required"
        assert provenance.run_details.builder.id, "builder.id required"
        for dependency in provenance.build_definition.resolved_dependencies:
            ResourceDescriptor.copy_from_pb(dependency).validate()
        print(len(statement.pb.subject))
        """

    static let dsseScript = """
        import json, sys
        from cryptography.hazmat.primitives import serialization
        from securesystemslib.dsse import Envelope
        from securesystemslib.signer import SSlibKey
        envelope = Envelope.from_dict(json.load(open(sys.argv[1])))
        public = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
        key = SSlibKey.from_crypto(public, keyid=sys.argv[3])
        verified = envelope.verify([key], 1)
        assert sys.argv[3] in verified, verified
        print(envelope.payload_type)
        print(envelope.payload.decode())
        """
}
