#!/usr/bin/env python3
"""Compare the alerts of a disturbed run with those of an undisturbed reference run.

Written for kizuna (no third-party code). Used by tests/chaos/*.sh.

    chaos-compare.py --ref REF.ndjson --run RUN [--exact KINDS] [--only KINDS] [--no-dup KINDS]
                     [--label L]

REF is a JSON-lines alert file (out_json) of the reference run. RUN is either a JSON-lines
alert file or a list of alert ids (whitespace-separated, e.g. the loopback sink's "ids").
Alerts are compared by kizuna.alert_id, split by kizuna.kind (detection, correlation):

  lost       ids of the reference missing from the run
  extra      ids of the run the reference does not have
  repeated   ids the run holds more than once (re-deliveries, or decisions taken twice)

Prints "# " diagnostic lines (TAP) and exits 1 when, for a kind listed in --exact (default:
detection,correlation), an id is lost or extra, or when an id of a kind listed in --no-dup
(default: none) is repeated; other repeats are only reported. Kinds not listed are reported
and never fail. --only KINDS leaves alerts of other kinds out of the comparison
altogether (RUN must then be a JSON-lines file).
"""
import argparse
import collections
import json
import sys


def alert_id(a):
    k = a.get("kizuna", {})
    return k.get("alert_id") if isinstance(k, dict) else a.get("kizuna.alert_id")


def alert_kind(a):
    k = a.get("kizuna", {})
    return k.get("kind") if isinstance(k, dict) else a.get("kizuna.kind")


def alert_source(a):
    ev = a.get("kizuna", {}).get("evidence") or [{}]
    return ev[-1].get("kizuna", {}).get("source", "?")


def read_alerts(path):
    """[(id, kind, rule, source)] in file order, and the number of lines that are not JSON
    (torn by a crash: a killed process may leave a partial line); plain ids get kind None."""
    out = []
    torn = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                a = json.loads(line)
            except ValueError:
                torn += 1
                continue
            out.append((alert_id(a), alert_kind(a), a.get("rule", {}).get("id", "?"),
                        alert_source(a)))
    else:
        out = [(w, None, "?", "?") for w in text.split()]
    return out, torn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--exact", default="detection,correlation")
    ap.add_argument("--no-dup", default="")
    ap.add_argument("--only", default="")
    ap.add_argument("--label", default="run")
    a = ap.parse_args()
    exact = set(k for k in a.exact.split(",") if k)
    only = set(k for k in a.only.split(",") if k)
    no_dup = set(k for k in a.no_dup.split(",") if k)

    ref = {}
    ref_alerts, _ = read_alerts(a.ref)
    for i, kind, rule, src in ref_alerts:
        if not only or kind in only:
            ref[i] = (kind, rule, src)
    run, torn = read_alerts(a.run)
    if only:
        run = [r for r in run if r[1] in only]
        exact &= only
    count = collections.Counter(i for i, _, _, _ in run)
    run_kind = {i: kind for i, kind, _, _ in run}
    kinds = sorted(set(k for k, _, _ in ref.values()) | exact | only)
    bad = []
    print("# %s: reference %d ids, run %d records, %d distinct ids%s" %
          (a.label, len(ref), len(run), len(count),
           ", %d torn lines (not JSON)" % torn if torn else ""))
    for kind in kinds:
        want = set(i for i, v in ref.items() if v[0] == kind)
        got = set(i for i in count if (ref[i][0] if i in ref else run_kind[i]) == kind)
        lost = sorted(want - got, key=lambda i: ref[i][2])
        extra = sorted(got - want)
        rep = sorted(i for i in got if count[i] > 1)
        copies = sum(count[i] - 1 for i in rep)
        must = kind in exact
        print("#   %-11s reference %5d  lost %d  extra %d  repeated %d ids (%d extra copies)%s"
              % (kind, len(want), len(lost), len(extra), len(rep), copies,
                 "" if must or kind in no_dup else "  [reported only]"))
        for i in lost[:5]:
            print("#     lost %s %s at %s" % (i, ref[i][1], ref[i][2]))
        for i in extra[:5]:
            print("#     extra %s" % i)
        if must and (lost or extra):
            bad.append(kind)
        if kind in no_dup and rep:
            print("#     repeated: %s" % " ".join(rep[:5]))
            bad.append(kind + " repeats")
    unknown = sorted(i for i in count if i not in ref and run_kind[i] is None)
    if unknown:
        print("#   %d ids of unknown kind not in the reference: %s" %
              (len(unknown), " ".join(unknown[:5])))
        bad.append("unknown")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
