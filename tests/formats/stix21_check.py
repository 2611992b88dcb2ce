#!/usr/bin/env python3
"""Validate out_stix21 output: one STIX 2.1 bundle per line.

usage: stix21_check.py SCHEMA_DIR FILE

Each bundle is validated against the OASIS STIX 2.1 JSON schemas (SCHEMA_DIR holds the
schemas/ tree of oasis-open/cti-stix2-json-schemas; the files $ref each other by relative
path, resolved here from their $id with a local `referencing` registry -- or, with jsonschema
older than 4.18, a RefResolver store -- never the network),
and every object also against the schema of its own type. Then the rules the schemas cannot
express:

  - SCO ids are the STIX 2.1 deterministic ids: UUIDv5 in the STIX namespace over the RFC 8785
    canonical JSON of the ID contributing properties (recomputed here with Python's uuid);
  - the TLP marking-definition is exactly one of the five TLP 2.0 objects OASIS publishes;
  - every *_ref / *_refs points to an object of the same bundle, every SDO/SRO is created by
    the bundle's identity and marked with the bundle's TLP marking;
  - indicator patterns are STIX patterns of the form [type:value = '...'];
  - first_seen <= last_seen, first_observed <= last_observed;
  - one report stands for the alert and refers to every other object of the bundle;
  - two bundles for the same alert (same kizuna-alert reference) use the same object ids.

Prints one line per problem and exits 1 if there was any.
"""
import json
import os
import re
import sys
import uuid

import jsonschema

try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError:  # older jsonschema (Debian 12 has 4.10): RefResolver with a local store
    Registry = None

STIX_SCO_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

# STIX 2.1 section 6: ID contributing properties of the SCOs kizuna writes.
CONTRIBUTING = {
    "ipv4-addr": ["value"],
    "ipv6-addr": ["value"],
    "domain-name": ["value"],
    "user-account": ["account_type", "user_id", "account_login"],
    "network-traffic": ["start", "end", "src_ref", "dst_ref", "src_port", "dst_port",
                        "protocols", "extensions"],
}

# The TLP 2.0 marking definitions of oasis-open/cti-stix-common-objects.
TLP2_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

SDO_TYPES = {"attack-pattern", "identity", "indicator", "observed-data", "relationship",
             "report", "sighting"}
PATTERN = re.compile(r"^\[(ipv4-addr|ipv6-addr|domain-name):value = '(?:[^'\\]|\\.)*'\]$")


def load_schemas(root):
    """All schemas of the tree, by $id (as a registry or a store) and by relative path."""
    store = {}
    by_file = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".json"):
                continue
            with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                schema = json.load(f)
            store[schema["$id"]] = schema
            by_file[os.path.relpath(os.path.join(dirpath, name), root)] = schema
    if Registry is None:
        return store, by_file
    resources = [(i, Resource.from_contents(s, default_specification=DRAFT202012))
                 for i, s in store.items()]
    return Registry().with_resources(resources), by_file


def validator(schema, registry):
    """A draft 2020-12 validator whose $refs resolve within the local tree, never the network."""
    checker = jsonschema.FormatChecker()
    if Registry is None:
        resolver = jsonschema.RefResolver(schema["$id"], schema, store=registry)
        return jsonschema.Draft202012Validator(schema, resolver=resolver, format_checker=checker)
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=checker)


def type_schema(by_file, t):
    for sub in ("sdos", "sros", "observables", "common"):
        s = by_file.get(os.path.join(sub, t + ".json"))
        if s is not None:
            return s
    return None


def canonical(obj):
    """RFC 8785 for the values STIX SCOs use (strings, integers, lists, objects)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_bundle(n, bundle, registry, by_file, problems, seen_alerts):
    where = "line %d" % n

    def bad(msg):
        problems.append("%s: %s" % (where, msg))

    bundle_schema = by_file[os.path.join("common", "bundle.json")]
    v = validator(bundle_schema, registry)
    for e in v.iter_errors(bundle):
        bad("bundle schema: %s at %s" % (e.message, list(e.absolute_path)))
    objs = bundle.get("objects", [])
    ids = {}
    for o in objs:
        t = o.get("type")
        s = type_schema(by_file, t)
        if s is None:
            bad("no schema for object type %r" % t)
            continue
        ov = validator(s, registry)
        for e in ov.iter_errors(o):
            bad("%s %s: %s at %s" % (t, o.get("id"), e.message, list(e.absolute_path)))
        if o.get("id") in ids:
            bad("duplicate id %s" % o.get("id"))
        ids[o.get("id")] = o

    markings = [o for o in objs if o.get("type") == "marking-definition"]
    if len(markings) != 1:
        bad("expected one marking-definition, got %d" % len(markings))
        return
    m = markings[0]
    ext = m.get("extensions", {}).get(TLP2_EXT, {})
    label = ext.get("tlp_2_0")
    want = {
        "type": "marking-definition", "spec_version": "2.1", "id": TLP2.get(label),
        "created": "2022-10-01T00:00:00.000Z", "name": "TLP:" + str(label).upper(),
        "extensions": {TLP2_EXT: {"extension_type": "property-extension", "tlp_2_0": label}},
    }
    if label not in TLP2 or m != want:
        bad("marking-definition is not the OASIS TLP 2.0 object: %s" % json.dumps(m))
    identities = [o for o in objs if o.get("type") == "identity"]
    if len(identities) != 1:
        bad("expected one identity, got %d" % len(identities))
        return
    identity = identities[0]["id"]

    for o in objs:
        t = o.get("type")
        for k, val in o.items():
            refs = val if k.endswith("_refs") else [val] if k.endswith("_ref") else []
            for r in refs:
                if r not in ids:
                    bad("%s %s: %s -> %s is not in the bundle" % (t, o["id"], k, r))
        if t in CONTRIBUTING:
            props = {k: o[k] for k in CONTRIBUTING[t] if k in o}
            want_id = "%s--%s" % (t, uuid.uuid5(STIX_SCO_NS, canonical(props)))
            if o["id"] != want_id:
                bad("%s id %s is not the deterministic id %s of %s" % (t, o["id"], want_id,
                                                                        canonical(props)))
        if t in SDO_TYPES and t != "identity":
            if o.get("created_by_ref") != identity:
                bad("%s %s not created by the bundle's identity" % (t, o["id"]))
            if o.get("object_marking_refs") != [m["id"]]:
                bad("%s %s not marked with the bundle's TLP" % (t, o["id"]))
            if o.get("created") != o.get("modified"):
                bad("%s %s: created != modified" % (t, o["id"]))
        if t == "indicator" and not PATTERN.match(o.get("pattern", "")):
            bad("indicator %s: pattern %r" % (o["id"], o.get("pattern")))
        if t == "sighting" and o["first_seen"] > o["last_seen"]:
            bad("sighting %s: first_seen after last_seen" % o["id"])
        if t == "observed-data" and o["first_observed"] > o["last_observed"]:
            bad("observed-data %s: first_observed after last_observed" % o["id"])

    reports = [o for o in objs if o.get("type") == "report"]
    if len(reports) != 1:
        bad("expected one report (the alert), got %d" % len(reports))
    else:
        others = {i for i in ids if not i.startswith(("marking-definition--", "report--"))}
        if set(reports[0]["object_refs"]) != others:
            bad("the report does not refer to exactly the other objects of the bundle")

    alert = None
    for o in objs:
        for ref in o.get("external_references", []):
            if ref.get("source_name") == "kizuna-alert":
                alert = ref.get("external_id")
    if alert is not None:
        mine = sorted(i for i in ids if not i.startswith("marking-definition--"))
        if alert in seen_alerts and seen_alerts[alert] != mine:
            bad("alert %s delivered twice with different object ids" % alert)
        seen_alerts[alert] = mine


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    registry, by_file = load_schemas(sys.argv[1])
    problems = []
    seen_alerts = {}
    count = 0
    with open(sys.argv[2], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                bundle = json.loads(line)
            except ValueError as e:
                problems.append("line %d: not JSON: %s" % (n, e))
                continue
            check_bundle(n, bundle, registry, by_file, problems, seen_alerts)
            count += 1
    for p in problems:
        print(p)
    print("%d bundles, %d problems" % (count, len(problems)))
    sys.exit(1 if problems or count == 0 else 0)


if __name__ == "__main__":
    main()
