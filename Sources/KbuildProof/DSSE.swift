import Foundation
import KbuildDigest

/// Dead Simple Signing Envelope (https://github.com/secure-systems-lab/dsse): the signature covers the
/// pre-authentication encoding of the payload type and payload, never the JSON around them.
public enum DSSE {
    /// `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in ASCII decimal bytes.
    public static func pae(payloadType: String, payload: Data) -> Data {
        let type = Data(payloadType.utf8)
        return Data("DSSEv1 \(type.count) ".utf8) + type + Data(" \(payload.count) ".utf8) + payload
    }

    /// The envelope as one compact JSON object: `payload`, `payloadType`, `signatures` [{`keyid`, `sig`}].
    public static func envelope(payload: Data, payloadType: String, key: Ed25519PrivateKey) throws(DigestError) -> Data
    {
        let signature = try key.sign(pae(payloadType: payloadType, payload: payload))
        let envelope: JSONValue = [
            "payload": .string(payload.base64EncodedString()),
            "payloadType": .string(payloadType),
            "signatures": [
                ["keyid": .string(key.publicKey.keyID), "sig": .string(Data(signature).base64EncodedString())]
            ],
        ]
        return envelope.serialized()
    }

    /// An envelope's payload, when one of its signatures is `key`'s over it; nil otherwise.
    public static func verifiedPayload(_ envelope: Data, key: Ed25519PublicKey) -> (payloadType: String, payload: Data)?
    {
        guard let object = JSONValue.parse(envelope), let type = object["payloadType"]?.string,
            let payload = object["payload"]?.string.flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        let message = pae(payloadType: type, payload: payload)
        for sig in signatures(of: object) where key.verify(signature: sig, of: message) { return (type, payload) }
        return nil
    }

    /// The decodable `sig` values of an envelope's `signatures`.
    public static func signatures(of envelope: JSONValue) -> [Data] {
        (envelope["signatures"]?.array ?? []).compactMap { $0["sig"]?.string.flatMap { Data(base64Encoded: $0) } }
    }
}
