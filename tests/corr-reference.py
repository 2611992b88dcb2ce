#!/usr/bin/env python3
"""Independent reference evaluator for kizuna's event_count correlation.

Written from the specification, not from kizuna's code: SEC's SingleWithThreshold rule
evaluated on event time (the syslog timestamp), per source IP of the sshd lines
"Failed password for [invalid user ]USER from IPv4 port N ssh2".

For each IP, in file order (timestamps never decrease):
  - an event at t during a suppression (t < suppressed_until) is absorbed: not counted;
  - events older than the window leave it: while window and window[0] + WINDOW <= t, pop;
    the window holds [first, first + WINDOW), an event at first + WINDOW is outside;
  - the event joins the window; when it holds THRESHOLD events an alert fires at t with
    window start window[0]; the IP is suppressed until window[0] + WINDOW (or t + SUPPRESS
    when --suppress is given) and the window is emptied.

Prints one line per alert, in the order they fire: "IP ALERT_TIME_US WINDOW_START_US COUNT".
usage: corr-reference.py [--year 2024] [--window 60] [--threshold 5] [--suppress S] LOG
"""
import argparse
import calendar
import re
import sys

MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
LINE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) ")
FAILED = re.compile(r"Failed password for (?:invalid user )?\S+ from (\d{1,3}(?:\.\d{1,3}){3})"
                    r" port \d+ ssh2")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--threshold", type=int, default=5)
    ap.add_argument("--suppress", type=float, default=None)
    ap.add_argument("log")
    a = ap.parse_args()
    window = int(a.window * 1000000)
    suppress = None if a.suppress is None else int(a.suppress * 1000000)

    windows = {}
    until = {}
    out = sys.stdout
    with open(a.log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m is None:
                continue
            hit = FAILED.search(line, m.end())
            if hit is None:
                continue
            mon, day, hh, mm, ss = m.groups()
            t = calendar.timegm((a.year, MONTHS[mon], int(day), int(hh), int(mm), int(ss))) * 1000000
            ip = hit.group(1)
            if t < until.get(ip, t):
                continue
            w = windows.setdefault(ip, [])
            while w and w[0] + window <= t:
                w.pop(0)
            w.append(t)
            if len(w) >= a.threshold:
                out.write("%s %d %d %d\n" % (ip, t, w[0], len(w)))
                until[ip] = t + suppress if suppress is not None else w[0] + window
                w.clear()


if __name__ == "__main__":
    main()
