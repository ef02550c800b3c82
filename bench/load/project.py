#!/usr/bin/env python3
"""Writes a project document (the export format) with N flags shaped like real ones, for load tests."""
import json, sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
flags = []
for i in range(count):
    kind = i % 4
    if kind == 0:
        rules = [
            {"clauses": [{"property": "userId", "operator": "STR_EQUAL", "values": ["u-1001", "u-1002", "u-1003", "u-1004", "u-1005"]}], "serve": {"variation": "on"}},
        ]
        default = {"split": {"buckets": [{"variation": "on", "weight": 25}, {"variation": "off", "weight": 75}]}}
    elif kind == 1:
        rules = [{"clauses": [{"property": "email", "operator": "STR_ENDS_WITH", "values": ["@acme.com", "@example.org"]},
                              {"property": "plan", "operator": "STR_EQUAL", "values": ["pro", "enterprise"]}], "serve": {"variation": "on"}}]
        default = {"variation": "off"}
    elif kind == 2:
        rules = [{"clauses": [{"property": "appVersion", "operator": "SEMVER_GTE", "version": "2.4.0"},
                              {"property": "country", "operator": "STR_EQUAL", "values": ["FR", "DE", "ES", "IT", "NL", "BE", "PT", "AT", "IE", "FI"]}], "serve": {"variation": "on"}}]
        default = {"variation": "off"}
    else:
        rules = [{"clauses": [], "serve": {"variation": "on"}, "schedule": {"from": "2025-01-01T00:00:00Z"}}]
        default = {"variation": "off"}
    flags.append({
        "key": f"flag-{i:04d}", "name": f"Flag {i}", "kind": "release", "valueType": "boolean",
        "variations": [{"key": "on", "value": True}, {"key": "off", "fallback": True}],
        "environments": {"production": {"enabled": True, "rules": rules, "defaultServe": default}},
    })
print(json.dumps({"flagstaff": 1, "key": "load", "name": "Load test", "environments": [{"key": "production", "name": "Production", "critical": True}], "flags": flags}))
