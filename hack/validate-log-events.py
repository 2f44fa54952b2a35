#!/usr/bin/env python3
"""Validates every line of a `kbuild … --log-format json` log against docs/log-format.schema.json.

usage: hack/validate-log-events.py SCHEMA LOG
Prints `valid: N events` and exits 0, or one line per invalid event and exits 1. A known-bad event
is checked first, so a schema that accepts anything fails here too.
"""
import json
import sys

import jsonschema


def main():
    schema_path, log_path = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bad_digest = {"v": 1, "event": "file-written", "command": "release", "time": "2026-01-01T00:00:00.000Z",
                  "path": "x", "kind": "src", "size": 1, "sha256": "not-hex"}
    if validator.is_valid(bad_digest):
        print("schema accepts a malformed sha256")
        return 1
    failures, count = 0, 0
    with open(log_path) as f:
        for number, line in enumerate(f, 1):
            count += 1
            try:
                event = json.loads(line)
            except ValueError as error:
                print(f"line {number}: not JSON: {error}")
                failures += 1
                continue
            for error in validator.iter_errors(event):
                print(f"line {number}: {error.message}: {line.strip()[:200]}")
                failures += 1
                break
    if failures:
        return 1
    print(f"valid: {count} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
