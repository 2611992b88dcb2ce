#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz/fuzz-format.c (tests/fuzz/corpus-format/).

The seeds are alerts in the target's input encoding (see the comment atop fuzz-format.c):
for each of the eight plugins, a detection with typical ECS fields and default options, a
correlation with hostile strings, evidence and flipped options, and a minimal alert. Run
from anywhere: python3 tests/fuzz/gen-format-seeds.py; the output is deterministic.
"""
import os
import struct

PLUGINS = ["json", "stix21", "misp", "ocsf", "idmef", "iodef", "cef", "syslog"]
# Option tables, in order: (type, name); types S string, I int, B bool.
OPTIONS = {
    "json": [("B", "pretty"), ("I", "max_value_bytes"), ("S", "dataset")],
    "stix21": [("S", "identity_name"), ("S", "identity_class")],
    "misp": [("I", "distribution"), ("S", "org"), ("S", "org_uuid"), ("I", "analysis")],
    "ocsf": [("S", "vendor_name"), ("B", "raw_data")],
    "idmef": [("S", "analyzer_name"), ("S", "rule_url")],
    "iodef": [("S", "contact_name"), ("S", "contact_email"), ("S", "lang")],
    "cef": [("S", "device_vendor"), ("S", "device_product"), ("S", "device_version"),
            ("B", "custom")],
    "syslog": [("S", "facility"), ("S", "app_name"), ("S", "sd_id"), ("B", "bom")],
}
TIME_MIN = -62135596800000000
T0 = 1795741323000004  # 2026-11-27T01:02:03.000004Z


def s(v):
    b = v.encode() if isinstance(v, str) else v
    if len(b) < 0xdf:
        return bytes([len(b)]) + b
    return b"\xdf" + struct.pack(">H", len(b)) + b


def u64(v):
    return struct.pack(">Q", v & 0xffffffffffffffff)


def t(us):
    return u64(us - TIME_MIN)


def pairs(lst):
    return bytes([len(lst)]) + b"".join(s(n) + s(v) for n, v in lst)


def alert(plugin, flags, opts, b, rid, title, tags, times, count, value, tlp, partner, host,
          gkey, group, fields, evidence):
    out = bytes([PLUGINS.index(plugin), flags])
    for (kind, _), val in zip(OPTIONS[plugin], opts):
        if kind == "S" and flags & 2:
            out += s(val)
        if kind == "I" and flags & 4:
            out += u64(val)
    out += bytes([b]) + s(rid) + s(title) + bytes([len(tags)]) + b"".join(s(x) for x in tags)
    out += u64(0x0123456789abcdef) + u64(0xfedcba9876543210) + u64(0x0f1e2d3c4b5a6978)
    out += b"".join(t(x) for x in times) + u64(count << 1) + struct.pack(">d", value)
    out += bytes([tlp]) + s(partner) + s(host) + s(gkey) + pairs(group) + pairs(fields)
    out += bytes([len(evidence)]) + b"".join(pairs(e) for e in evidence)
    return out


DET_FIELDS = [
    ("@timestamp", "2026-11-27T01:02:03.000004Z"),
    ("message", "Failed password for root from 203.0.113.7 port 52214 ssh2"),
    ("event.original", "<38>Nov 27 01:02:03 web-1 sshd[4242]: Failed password for root"),
    ("host.name", "web-1"), ("process.name", "sshd"), ("source.ip", "203.0.113.7"),
    ("source.port", "52214"), ("destination.ip", "192.0.2.10"), ("destination.port", "22"),
    ("network.transport", "tcp"), ("user.name", "root"), ("event.outcome", "failure"),
]
HOSTILE_FIELDS = [
    ("message", "line1\nline2\r\n<x>&'\"|=\\] end"),
    ("user.name", "a\"b\\c]d e=f|g"), ("source.ip", "not-an-ip<script>"),
    ("source.ip", "2001:db8::dead:beef"), ("destination.ip", "::ffff:198.51.100.23"),
    ("destination.port", "99999"), ("host.name", "bad host name!"),
    ("event.original", b"\xff\xfe\xc0\xaf invalid \xed\xa0\x80 utf-8 \x01\x7f\x00nul"),
    ("weird name=|\\", "v=1|2\\3\n"), ("unicode", "Grüße 日本 🎌"),
    ("cef.ext.cs1", "should not clash"), ("cef.ext.src", "10.0.0.1"), ("a", "1"),
    ("a.b", "2"), ("a.b", "3"), ("", "empty name"), ("msg", "\"quoted\""),
    ("url.original", "https://example.org/a?b=c&d=e#f"), ("source.mac", "00:11:22:33:44:55"),
]


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-format")
    os.makedirs(d, exist_ok=True)
    for p in PLUGINS:
        det = alert(p, 0, [], 0x03, "ssh-failed-password", "SSH failed password",
                    ["attack.t1110.001", "attack.credential_access"], [T0, T0, T0], 1, 0.0, 3,
                    "cert", "kz-1", "", [], DET_FIELDS, [])
        opts = {
            "json": [1, 16, "kizuna.alerts"], "stix21": ["CERT \"A\"", "organization"],
            "misp": [2, "Org <A>", "", 1], "ocsf": ["vendor|x", 0],
            "idmef": ["an\"alyzer", "https://x/?a=1&b="], "iodef": ["C<o>", "a@b&c", "en-GB"],
            "cef": ["ven|dor", "pro\\duct", "1.0\n", 0], "syslog": ["local7", "app", "x@1", 0],
        }[p]
        corr = alert(p, 7, opts, 0x9a, "id|with\\pipe=eq",
                     b"Title \"quoted\" <b>&amp;</b> ]bracket| new\nline \xc3\xa9 \xff",
                     ["attack.t1078", "attack.initial_access", "x\"y<z>&|=\\", "tlp.red", ""],
                     [T0 + 1, T0 - 63000004, T0], 12, 12.5, 4, "p\"artner", "kz host<1>",
                     "k=\"v\"]|\\", [("user.name", "a\"b\\c]d"), ("source.ip", "2001:db8::1")],
                     HOSTILE_FIELDS,
                     [[("source.ip", "198.51.100.99"), ("user.name", "]\"\\")],
                      [("event.original", "<evidence> & \"quotes\""), ("source.port", "1")]])
        minimal = alert(p, 0, [], 0x00, "minimal", "Minimal", [], [0, 0, 0], 0, 0.0, 0, "", "",
                        "", [], [], [])
        for name, data in (("det", det), ("corr-hostile", corr), ("minimal", minimal)):
            with open(os.path.join(d, "%s-%s" % (p, name)), "wb") as f:
                f.write(data)


def regress():
    """Inputs that made a plugin fail, kept after the fix (tests/fuzz/regress/format/)."""
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regress", "format")
    os.makedirs(d, exist_ok=True)
    cases = {
        # out_json: two values of "a" beside "a.b" are renamed "a.value"; the rename read
        # past the new name (heap-buffer-overflow in json_name_cmp).
        "json-value-rename-overflow": alert(
            "json", 0, [], 0, "r", "t", [], [T0, T0, T0], 1, 0.0, 3, "", "", "", [],
            [("a", "1"), ("a", "2"), ("a.b", "3")], []),
        # out_json: an evidence event without fields: qsort(NULL, 0) (undefined behaviour).
        "json-empty-evidence": alert(
            "json", 0, [], 0, "r", "t", [], [T0, T0, T0], 1, 0.0, 3, "", "", "", [],
            [("a", "1")], [[]]),
        # out_cef: a value ending in '|' (here the group key, cs2) got no blank before the
        # next pair, so decode_cef read "cs2Label=groupKey" as part of cs2's value.
        "cef-value-ends-in-pipe": alert(
            "cef", 0, [], 0x1a, "r", "t", [], [T0, T0, T0], 1, 0.0, 3, "", "h|", "key|", [],
            [("message", "m|"), ("user.name", "u|")], []),
        # out_cef: a value starting with '"' (the host) and a later one ending in '"' (the
        # group key): decode_cef's quoted-value leniency took everything between as one value.
        "cef-leading-quote-swallows": alert(
            "cef", 0, [], 0x1a, "r", "t", [], [T0, T0, T0], 1, 0.0, 3, "", "\"host", "key\"",
            [], [("message", "\"quoted\" m")], []),
        # out_json: names differing only in invalid UTF-8 are written alike (U+FFFD): the
        # same key twice in one object.
        "json-invalid-utf8-names": alert(
            "json", 0, [], 0, "r", "t", [], [T0, T0, T0], 1, 0.0, 3, "", "", "", [],
            [(b"\xff", "1"), (b"\xfe", "2"), (b"a.\xc0", "3"), (b"a.\xc1", "4")], []),
    }
    for name, data in cases.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    regress()
    main()
