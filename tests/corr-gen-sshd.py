#!/usr/bin/env python3
"""Deterministic OpenSSH auth.log generator for kizuna's correlation tests.

Written for kizuna (no third-party code), so its output may be committed under
tests/data/corr/. Same arguments, same bytes: only random.Random(seed).random() is used.
Lines are classic BSD syslog ("Sep 10 06:55:46 gw sshd[123]: ..."), timestamps never
decrease (one-second resolution, so many lines share a second), and about a third of the
lines are "Failed password ... from IP port N ssh2" from a skewed pool of addresses: a few
addresses hammer, most appear now and then and never reach a 5-in-60s threshold.

usage: corr-gen-sshd.py --lines N --seed S [--rate LINES_PER_S] [--ips N] --out FILE
"""
import argparse
import calendar
import math
import random
import time

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
USERS = ["root", "admin", "oracle", "test", "ubuntu", "pi", "git", "postgres", "deploy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--rate", type=float, default=2.0, help="lines per simulated second")
    ap.add_argument("--ips", type=int, default=300)
    ap.add_argument("--start", default="2024-09-10T06:55:00")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    r = random.Random(a.seed)
    rnd = r.random
    ips = []
    while len(ips) < a.ips:
        ip = "%d.%d.%d.%d" % (11 + int(rnd() * 200), int(rnd() * 256), int(rnd() * 256),
                              1 + int(rnd() * 254))
        if ip not in ips:
            ips.append(ip)
    weights = [1.0 / (k + 1) ** 1.1 for k in range(len(ips))]
    total = sum(weights)
    cum = []
    acc = 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)

    def pick_ip():
        x = rnd()
        lo, hi = 0, len(cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return ips[lo]

    t = float(calendar.timegm(time.strptime(a.start, "%Y-%m-%dT%H:%M:%S")))
    with open(a.out, "w", encoding="ascii", newline="\n") as out:
        for _ in range(a.lines):
            t += -math.log(1.0 - rnd()) / a.rate
            tm = time.gmtime(int(t))
            stamp = "%s %2d %02d:%02d:%02d gw " % (MONTHS[tm.tm_mon - 1], tm.tm_mday,
                                                   tm.tm_hour, tm.tm_min, tm.tm_sec)
            pid = 1000 + int(rnd() * 30000)
            k = rnd()
            if k < 0.35:
                user = USERS[int(rnd() * len(USERS))]
                inv = "invalid user " if rnd() < 0.5 else ""
                msg = "sshd[%d]: Failed password for %s%s from %s port %d ssh2" % (
                    pid, inv, user, pick_ip(), 1024 + int(rnd() * 60000))
            elif k < 0.45:
                msg = "sshd[%d]: Accepted password for ops from 10.0.0.%d port %d ssh2" % (
                    pid, 1 + int(rnd() * 20), 1024 + int(rnd() * 60000))
            elif k < 0.60:
                msg = "sshd[%d]: Connection closed by %s port %d [preauth]" % (
                    pid, pick_ip(), 1024 + int(rnd() * 60000))
            elif k < 0.70:
                msg = "sshd[%d]: Failed publickey for root from %s port %d ssh2" % (
                    pid, pick_ip(), 1024 + int(rnd() * 60000))
            elif k < 0.80:
                msg = "sshd[%d]: Invalid user %s from %s" % (
                    pid, USERS[int(rnd() * len(USERS))], pick_ip())
            else:
                msg = "CRON[%d]: pam_unix(cron:session): session opened for user root" % pid
            out.write(stamp + msg + "\n")


if __name__ == "__main__":
    main()
