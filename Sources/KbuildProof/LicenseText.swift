import Foundation

/// Names the license of a LICENSE file as an SPDX identifier, when the file says so plainly.
public enum LicenseText {
    /// An `SPDX-License-Identifier:` line wins; else the title of a few common licenses; else nil (NOASSERTION).
    public static func identify(_ text: String) -> String? {
        for line in text.split(separator: "\n").prefix(50) {
            if let range = line.range(of: "SPDX-License-Identifier:") {
                let value = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || "-.+ ()".contains($0) }) {
                    return value
                }
            }
        }
        let head = text.prefix(2_000).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let titles: [(String, String)] = [
            ("Apache License Version 2.0", "Apache-2.0"),
            ("Apache License, Version 2.0", "Apache-2.0"),
            ("Mozilla Public License Version 2.0", "MPL-2.0"),
            ("Mozilla Public License, version 2.0", "MPL-2.0"),
            ("GNU GENERAL PUBLIC LICENSE Version 3", "GPL-3.0-only"),
            ("GNU GENERAL PUBLIC LICENSE Version 2", "GPL-2.0-only"),
            ("ISC License", "ISC"),
        ]
        for (title, identifier) in titles where head.contains(title) { return identifier }
        if head.hasPrefix("MIT License") || head.contains("Permission is hereby granted, free of charge") {
            return "MIT"
        }
        if head.contains("Redistribution and use in source and binary forms") {
            return head.contains("Neither the name") ? "BSD-3-Clause" : "BSD-2-Clause"
        }
        return nil
    }
}
