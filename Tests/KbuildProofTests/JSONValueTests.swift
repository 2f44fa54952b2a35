import Foundation
import Testing

@testable import KbuildProof

/// The one JSON tree kbuild reads documents into: what it parses, what it refuses, and that writing what
/// it read gives canonical bytes.
@Suite struct JSONValueTests {
    @Test func parsesObjectsArraysAndScalarsAndWritesThemCanonically() throws {
        let text = #"{"b": [1, true, null, "x/y"], "a": {"z": -7, "\u00e9": "caf\u00e9"}}"#
        let value = try #require(JSONValue.parse(Data(text.utf8)))
        #expect(value["b"]?.array?.count == 4)
        #expect(value["a"]?["z"] == .int(-7))
        #expect(value["b"]?.array?[1] == .bool(true))
        #expect(value["b"]?.array?[2] == .null)
        #expect(value["missing"] == nil)
        #expect(value["b"]?["not an object"] == nil)
        #expect(
            String(decoding: value.serialized(), as: UTF8.self) == #"{"a":{"z":-7,"é":"café"},"b":[1,true,null,"x/y"]}"#
        )
    }

    @Test func refusesWhatTheTreeCannotHold() {
        for text in ["1.5", #"{"a": 2.5e-1}"#, "18446744073709551616", "{", "", #"{"a": }"#] {
            #expect(JSONValue.parse(Data(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONValue.parse(Data("\"text\"".utf8)) == .string("text"))
    }
}
