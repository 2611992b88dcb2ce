#!/usr/bin/env python3
"""Validate out_ocsf output against the OCSF schema source definitions.

usage: ocsf_check.py OCSF_DIR FILE [--used LIST]

OCSF_DIR holds OCSF metaschema sources (dictionary.json, categories.json, events/,
objects/, profiles/) as published in github.com/ocsf/ocsf-schema. FILE has one event per
line. Nothing about the Detection Finding class is written down here: the class is compiled
from the definition files the way the OCSF server does it --

  - a class or object is its "extends" chain merged parent first; "$include" brings in the
    attributes of a profile, which then belong to that profile unless a later definition
    sets "profile": null;
  - each attribute takes its type, is_array, enum and caption from dictionary.json, with the
    class/object entry overriding (enums are merged);
  - class_uid = category uid * 1000 + class uid, type_uid = class_uid * 100 + activity_id;
  - the observable type_id enum is made of the "observable" numbers of dictionary types,
    dictionary attributes and objects;

and every event is checked against it: required attributes present at every level, no
attribute the class or object does not define (inside `unmapped` anything goes), profile
attributes only when metadata.profiles names the profile, value types (string, integer,
long, float, boolean, object, arrays; type regex, range and max_len from dictionary types),
enum values, the caption siblings (severity for severity_id, activity_name, type_name,
class_name, category_name, observable type), and object constraints (at_least_one,
just_one). --used writes the definition files that were read, one path a line (to keep a
local copy minimal). Prints one line per problem; exits 1 if there was any.
"""
import json
import os
import re
import sys

BASE_TYPES = {
    "string_t": str, "integer_t": int, "long_t": int, "timestamp_t": int, "float_t": (int, float),
    "boolean_t": bool, "json_t": object,
}


class Schema:
    def __init__(self, root):
        self.root = root
        self.used = set()
        self.dictionary = self.load("dictionary.json")
        self.types = self.dictionary["types"]["attributes"]
        self.attrs = self.dictionary["attributes"]
        self.categories = self.load("categories.json")["attributes"]
        self.objects = {}
        self.observable_enum = self.make_observable_enum()

    def load(self, rel):
        self.used.add(rel)
        with open(os.path.join(self.root, rel), encoding="utf-8") as f:
            return json.load(f)

    def make_observable_enum(self):
        enum = {"0": "Unknown", "99": "Other"}
        for t in self.types.values():
            if "observable" in t:
                enum[str(t["observable"])] = t["caption"]
        for a in self.attrs.values():
            if "observable" in a:
                enum[str(a["observable"])] = a["caption"]
        objdir = os.path.join(self.root, "objects")
        for name in sorted(os.listdir(objdir)):
            with open(os.path.join(objdir, name), encoding="utf-8") as f:
                o = json.load(f)
            if "observable" in o:
                enum[str(o["observable"])] = o["caption"]
        return enum

    def merge_attributes(self, into, attrs):
        for name, a in attrs.items():
            if name == "$include":
                for rel in a if isinstance(a, list) else [a]:
                    prof = self.load(rel)
                    for pname, pa in prof["attributes"].items():
                        d = dict(into.get(pname, {}))
                        d.update(pa)
                        d["profile"] = prof["name"]
                        into[pname] = d
                continue
            d = dict(into.get(name, {}))
            enum = dict(d.get("enum", {}))
            d.update(a)
            if "enum" in a:
                enum.update(a["enum"])
                d["enum"] = enum
            into[name] = d

    def resolve(self, definition, loader):
        chain = [definition]
        while chain[-1].get("extends"):
            chain.append(loader(chain[-1]["extends"]))
        attrs = {}
        constraints = {}
        for d in reversed(chain):
            self.merge_attributes(attrs, d.get("attributes", {}))
            constraints.update(d.get("constraints", {}))
        full = {}
        for name, a in attrs.items():
            base = dict(self.attrs.get(name, {}))
            enum = dict(base.get("enum", {}))
            base.update(a)
            enum.update(a.get("enum", {}))
            if enum:
                base["enum"] = enum
            full[name] = base
        return full, constraints, chain

    def event_def(self, rel):
        return self.load(rel)

    def object_def(self, name):
        if name not in self.objects:
            raw = self.load(os.path.join("objects", name + ".json"))
            attrs, constraints, _ = self.resolve(
                raw, lambda n: self.load(os.path.join("objects", n + ".json")))
            if name == "observable":
                # Compiled from every "observable" number of the schema.
                attrs["type_id"] = dict(attrs["type_id"])
                attrs["type_id"]["enum"] = {k: {"caption": c}
                                            for k, c in self.observable_enum.items()}
            self.objects[name] = (raw, attrs, constraints)
        return self.objects[name]

    def base_type(self, t):
        seen = 0
        info = {}
        while t in self.types and t not in BASE_TYPES and seen < 10:
            d = self.types[t]
            for k in ("regex", "range", "max_len"):
                if k in d and k not in info:
                    info[k] = d[k]
            if "type" not in d:
                break
            t = d["type"]
            seen += 1
        return t, info


class Checker:
    def __init__(self, schema, class_files):
        self.s = schema
        paths = {"base_event": "events/base_event.json"}
        for rel in class_files:
            d = schema.load(rel)
            paths[d["name"]] = rel
        self.paths = paths
        leaf = schema.load(class_files[-1])
        self.cls_attrs, self.cls_constraints, chain = schema.resolve(
            leaf, lambda n: schema.load(paths[n]))
        self.cls = leaf
        category = None
        for d in chain:
            if d.get("category"):
                category = d["category"]
                break
        self.category = self.s.categories[category]
        self.class_uid = self.category["uid"] * 1000 + leaf["uid"]
        # The compiler's own enums: this category, this class, type_uid per activity.
        acts = self.cls_attrs["activity_id"].get("enum", {})
        self.cls_attrs["category_uid"] = dict(self.cls_attrs["category_uid"],
                                              enum={str(self.category["uid"]):
                                                    {"caption": self.category["caption"]}})
        self.cls_attrs["class_uid"] = dict(self.cls_attrs["class_uid"],
                                           enum={str(self.class_uid):
                                                 {"caption": leaf["caption"]}})
        self.cls_attrs["type_uid"] = dict(self.cls_attrs["type_uid"], enum={
            str(self.class_uid * 100 + int(k)): {"caption": "%s: %s" % (leaf["caption"],
                                                                      a["caption"])}
            for k, a in acts.items()})
        self.problems = []

    def bad(self, where, msg):
        self.problems.append("%s: %s" % (where, msg))

    def check_value(self, where, name, adef, v, profiles):
        t = adef.get("type")
        if t is None:
            self.bad(where, "attribute %s has no type in the dictionary" % name)
            return
        if adef.get("is_array"):
            if not isinstance(v, list):
                self.bad(where, "%s must be an array" % name)
                return
            for i, item in enumerate(v):
                self.check_scalar("%s.%s[%d]" % (where, name, i), name, adef, t, item, profiles)
        else:
            self.check_scalar("%s.%s" % (where, name), name, adef, t, v, profiles)

    def check_scalar(self, where, name, adef, t, v, profiles):
        if t == "object" and name == "unmapped":
            if not isinstance(v, dict):
                self.bad(where, "must be an object")
            return
        if t in self.s.types:
            base, info = self.s.base_type(t)
            py = BASE_TYPES.get(base)
            if py is None:
                self.bad(where, "unknown base type %s" % base)
                return
            if py is int and (not isinstance(v, int) or isinstance(v, bool)):
                self.bad(where, "%r is not an integer (%s)" % (v, t))
                return
            if py == (int, float) and (not isinstance(v, (int, float)) or isinstance(v, bool)):
                self.bad(where, "%r is not a number (%s)" % (v, t))
                return
            if py is not object and py not in (int, (int, float)) and not isinstance(v, py):
                self.bad(where, "%r is not %s (%s)" % (v, py.__name__, t))
                return
            if "regex" in info and isinstance(v, str) and not re.search(info["regex"], v):
                self.bad(where, "%r does not match the %s pattern" % (v, t))
            lo, hi = info.get("range", (None, None))
            if lo is not None and isinstance(v, int) and not lo <= v <= hi:
                self.bad(where, "%r out of range %s (%s)" % (v, info["range"], t))
            if "max_len" in info and isinstance(v, str) and len(v) > info["max_len"]:
                self.bad(where, "%r longer than %d (%s)" % (v, info["max_len"], t))
            if "enum" in adef:
                enum = adef["enum"]
                if str(v) not in enum:
                    self.bad(where, "%r is not one of the enum values %s" % (v, sorted(enum)))
            return
        # an object type
        if not isinstance(v, dict):
            self.bad(where, "must be an object of type %s" % t)
            return
        self.check_object(where, t, v, profiles)

    def check_attrs(self, where, attrs, constraints, v, profiles, what):
        for name, adef in attrs.items():
            if adef.get("requirement") == "required" and name not in v:
                if adef.get("profile") and adef["profile"] not in profiles:
                    continue
                self.bad(where, "required attribute %s of %s missing" % (name, what))
        for name, val in v.items():
            adef = attrs.get(name)
            if adef is None:
                self.bad(where, "%s has no attribute %s" % (what, name))
                continue
            if adef.get("profile") and adef["profile"] not in profiles:
                self.bad(where, "%s is from profile %s, not declared in metadata.profiles"
                         % (name, adef["profile"]))
            self.check_value(where, name, adef, val, profiles)
            sib = adef.get("sibling")
            enum = adef.get("enum", {})
            if sib and sib in v and str(val) in enum and str(val) != "99":
                cap = adef["enum"][str(val)].get("caption")
                if v[sib] != cap:
                    self.bad(where, "%s is %r, the caption of %s %r is %r" % (sib, v[sib], name,
                                                                              val, cap))
        for kind, names in constraints.items():
            present = [n for n in names if n in v]
            if kind == "at_least_one" and not present:
                self.bad(where, "%s needs at least one of %s" % (what, names))
            if kind == "just_one" and len(present) != 1:
                self.bad(where, "%s needs exactly one of %s" % (what, names))

    def check_object(self, where, name, v, profiles):
        try:
            raw, attrs, constraints = self.s.object_def(name)
        except OSError:
            self.bad(where, "no definition for object %s" % name)
            return
        self.check_attrs(where, attrs, constraints, v, profiles, "object " + name)

    def check_event(self, where, ev):
        profiles = set(ev.get("metadata", {}).get("profiles", []))
        self.check_attrs(where, self.cls_attrs, self.cls_constraints, ev, profiles,
                         "class " + self.cls["name"])
        if ev.get("class_uid") != self.class_uid:
            self.bad(where, "class_uid %r, the class is %d" % (ev.get("class_uid"), self.class_uid))
        if ev.get("category_uid") != self.category["uid"]:
            self.bad(where, "category_uid %r, the category is %d" % (ev.get("category_uid"),
                                                                   self.category["uid"]))
        if "category_name" in ev and ev["category_name"] != self.category["caption"]:
            self.bad(where, "category_name %r" % ev["category_name"])
        if "class_name" in ev and ev["class_name"] != self.cls["caption"]:
            self.bad(where, "class_name %r" % ev["class_name"])
        act = ev.get("activity_id")
        if ev.get("type_uid") != self.class_uid * 100 + (act if isinstance(act, int) else 0):
            self.bad(where, "type_uid %r is not class_uid * 100 + activity_id" % ev.get("type_uid"))
        acts = self.cls_attrs["activity_id"].get("enum", {})
        if str(act) in acts:
            cap = acts[str(act)]["caption"]
            if ev.get("activity_name", cap) != cap:
                self.bad(where, "activity_name %r" % ev.get("activity_name"))
            type_name = self.cls["caption"] + ": " + cap
            if ev.get("type_name", type_name) != type_name:
                self.bad(where, "type_name %r" % ev.get("type_name"))


def main():
    args = sys.argv[1:]
    used_out = None
    if "--used" in args:
        i = args.index("--used")
        used_out = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    schema = Schema(args[0])
    checker = Checker(schema, ["events/findings/finding.json",
                               "events/findings/detection_finding.json"])
    count = 0
    with open(args[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                ev = json.loads(line)
            except ValueError as e:
                checker.bad("line %d" % n, "not JSON: %s" % e)
                continue
            checker.check_event("line %d" % n, ev)
            count += 1
    for p in checker.problems:
        print(p)
    print("%d events, class %s (%d), %d problems" % (count, checker.cls["name"],
                                                     checker.class_uid, len(checker.problems)))
    if used_out:
        with open(used_out, "w") as f:
            for rel in sorted(schema.used):
                f.write(rel + "\n")
    sys.exit(1 if checker.problems or count == 0 else 0)


if __name__ == "__main__":
    main()
