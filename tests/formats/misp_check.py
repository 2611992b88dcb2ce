#!/usr/bin/env python3
"""Validate out_misp output: one MISP event ({"Event": {...}}) per line.

usage: misp_check.py MISP_DIR FILE

MISP_DIR is the corpus folder schemas/misp (not copied into kizuna: the MISP core-format
schema comes from an Internet-Draft whose repository asserts no licence). Each event is
validated against the MISP core format JSON schema MISP/format/2.5/schema.json (draft-04),
then against what the core format specification (misp-rfc/misp-core-format/raw.md) requires
and the schema cannot say:

  - every attribute's category/type pair is one of the specification's table (parsed from
    raw.md, section "type");
  - the members the specification says MUST/SHALL be present are (instance-local numeric ids
    -- id, org_id, orgc_id, event_id -- are not: kizuna is not a MISP instance);
  - value formats: uuids, threat_level_id 1-4, analysis 0-2, distribution 0-4 (event) and 0-5
    (attribute), sharing_group_id "0" unless distribution is 4, date YYYY-MM-DD, timestamps
    decimal seconds, info on one line of at most 256 characters;
  - ip-src/ip-dst are IP addresses, port 0-65535, hostname a DNS name;
  - (type, value) unique within an event, tag names unique, exactly one TLP 2.0 tag;
  - two events for the same alert carry the same uuids.

Prints one line per problem and exits 1 if there was any.
"""
import ipaddress
import json
import os
import re
import sys

import jsonschema

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
                      r"(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")
TLP2 = {"tlp:clear", "tlp:green", "tlp:amber", "tlp:amber+strict", "tlp:red"}

EVENT_MUST = ["uuid", "published", "info", "threat_level_id", "analysis", "date", "timestamp",
              "publish_timestamp", "distribution"]
ATTRIBUTE_MUST = ["uuid", "type", "category", "to_ids", "distribution", "timestamp", "deleted",
                  "value"]


def category_types(raw_md):
    """The category -> types table of section "type" of the core format draft."""
    text = open(raw_md, encoding="utf-8").read()
    start = text.index("#### type")
    end = text.index("#### category", start)
    table = {}
    lines = text[start:end].splitlines()
    for i, line in enumerate(lines[1:], 1):
        if line.startswith(":   ") and lines[i - 1].strip() and not lines[i - 1].startswith(":"):
            table[lines[i - 1].strip()] = {t.strip() for t in line[4:].split(",")}
    if len(table) < 10 or "Network activity" not in table:
        raise SystemExit("could not read the category/type table from %s" % raw_md)
    return table


def check(n, doc, validator, table, problems, seen):
    where = "line %d" % n

    def bad(msg):
        problems.append("%s: %s" % (where, msg))

    for e in validator.iter_errors(doc):
        bad("schema: %s at %s" % (e.message, list(e.absolute_path)))
    ev = doc.get("Event", {})
    for k in EVENT_MUST:
        if k not in ev:
            bad("Event.%s missing" % k)
    if not UUID.match(ev.get("uuid", "")):
        bad("Event.uuid %r" % ev.get("uuid"))
    if ev.get("threat_level_id") not in ("1", "2", "3", "4"):
        bad("threat_level_id %r" % ev.get("threat_level_id"))
    if ev.get("analysis") not in ("0", "1", "2"):
        bad("analysis %r" % ev.get("analysis"))
    if ev.get("distribution") not in ("0", "1", "2", "3", "4"):
        bad("distribution %r" % ev.get("distribution"))
    if ev.get("distribution") != "4" and ev.get("sharing_group_id", "0") != "0":
        bad("sharing_group_id must be 0 without a sharing group")
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", ev.get("date", "")):
        bad("date %r" % ev.get("date"))
    for k in ("timestamp", "publish_timestamp"):
        if not re.match(r"^\d+$", str(ev.get(k, ""))):
            bad("%s %r" % (k, ev.get(k)))
    info = ev.get("info", "")
    if "\n" in info or "\r" in info or len(info) > 256:
        bad("info not one line of at most 256 characters: %r" % info)
    if "Orgc" in ev and not UUID.match(ev["Orgc"].get("uuid", "")):
        bad("Orgc.uuid %r" % ev["Orgc"].get("uuid"))

    pairs = set()
    for i, a in enumerate(ev.get("Attribute", [])):
        aw = "Attribute[%d]" % i
        for k in ATTRIBUTE_MUST:
            if k not in a:
                bad("%s.%s missing" % (aw, k))
        cat, typ, val = a.get("category"), a.get("type"), a.get("value", "")
        if typ not in table.get(cat, ()):
            bad("%s: type %r is not valid in category %r" % (aw, typ, cat))
        if not UUID.match(a.get("uuid", "")):
            bad("%s.uuid %r" % (aw, a.get("uuid")))
        if a.get("distribution") not in ("0", "1", "2", "3", "4", "5"):
            bad("%s.distribution %r" % (aw, a.get("distribution")))
        if typ in ("ip-src", "ip-dst"):
            try:
                ipaddress.ip_address(val)
            except ValueError:
                bad("%s: %s value %r is not an IP address" % (aw, typ, val))
        if typ == "port" and not (val.isdigit() and 0 <= int(val) <= 65535):
            bad("%s: port %r" % (aw, val))
        if typ == "hostname" and not HOSTNAME.match(val):
            bad("%s: hostname %r" % (aw, val))
        if (typ, val) in pairs:
            bad("%s: duplicate %s %r" % (aw, typ, val))
        pairs.add((typ, val))
    names = [t.get("name") for t in ev.get("Tag", [])]
    if len(names) != len(set(names)):
        bad("duplicate tags %s" % names)
    if len([t for t in names if t in TLP2]) != 1:
        bad("expected exactly one TLP 2.0 tag, got %s" % names)

    alert = [a["value"] for a in ev.get("Attribute", []) if a.get("comment") == "kizuna.alert_id"]
    if alert:
        uuids = sorted([ev.get("uuid")] + [a.get("uuid") for a in ev.get("Attribute", [])])
        if alert[0] in seen and seen[alert[0]] != uuids:
            bad("alert %s delivered twice with different uuids" % alert[0])
        seen[alert[0]] = uuids


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root = sys.argv[1]
    with open(os.path.join(root, "MISP", "format", "2.5", "schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    table = category_types(os.path.join(root, "misp-rfc", "misp-core-format", "raw.md"))
    validator = jsonschema.Draft4Validator(schema)
    problems = []
    seen = {}
    count = 0
    with open(sys.argv[2], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                doc = json.loads(line)
            except ValueError as e:
                problems.append("line %d: not JSON: %s" % (n, e))
                continue
            check(n, doc, validator, table, problems, seen)
            count += 1
    for p in problems:
        print(p)
    print("%d events, %d problems" % (count, len(problems)))
    sys.exit(1 if problems or count == 0 else 0)


if __name__ == "__main__":
    main()
