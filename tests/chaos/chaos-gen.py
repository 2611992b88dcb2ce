#!/usr/bin/env python3
"""Deterministic sshd-like workload for the chaos suite and the soak benchmark.

Written for kizuna (no third-party code). Same arguments, same bytes.

    chaos-gen.py --lines N [--seed S] [--ips K] [--first SEQ] [--start ISO] [--now]

Prints "KEY<TAB>LINE" records (tests/kafka-tool produce --key-lines): the key is the line's
source address, so all events of one address go to one Kafka partition, in order. Each line
is RFC 5424 syslog with a millisecond timestamp that never decreases (sequence SEQ is
START + SEQ * 100 ms, so batches generated with --first continue one timeline) and ends
with "seq=SEQ". About 40 % are "Failed password" (rules chaos-failed-password, and the
correlations over it), 10 % "Invalid user", the rest match nothing. A few of the K
addresses hammer (several event_count alerts each), most never reach a threshold.

--now stamps lines with the current wall-clock time instead (soak: latency is measured
from it); --stats prints "lines DETECTIONS" counts to stderr.
"""
import argparse
import calendar
import random
import sys
import time

USERS = ["root", "admin", "oracle", "test", "ubuntu", "pi", "git", "postgres", "deploy"]


def stamp(t):
    tm = time.gmtime(int(t))
    ms = int(round((t - int(t)) * 1000))
    if ms == 1000:
        tm = time.gmtime(int(t) + 1)
        ms = 0
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (tm.tm_year, tm.tm_mon, tm.tm_mday,
                                                  tm.tm_hour, tm.tm_min, tm.tm_sec, ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ips", type=int, default=24)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--start", default="2024-09-10T06:00:00")
    ap.add_argument("--now", action="store_true")
    ap.add_argument("--stats", action="store_true")
    a = ap.parse_args()

    # The address pool depends on the seed only; each line's choices on (seed, seq), so a
    # batch starting at --first is the same as that slice of one long run.
    r0 = random.Random(a.seed)
    ips = []
    while len(ips) < a.ips:
        ip = "%d.%d.%d.%d" % (11 + r0.randrange(200), r0.randrange(256), r0.randrange(256),
                              1 + r0.randrange(254))
        if ip not in ips:
            ips.append(ip)
    weights = [1.0 / (k + 1) ** 1.3 for k in range(len(ips))]
    base = float(calendar.timegm(time.strptime(a.start, "%Y-%m-%dT%H:%M:%S")))
    out = sys.stdout
    detections = 0
    for seq in range(a.first, a.first + a.lines):
        r = random.Random(a.seed * 1000003 + seq)
        t = time.time() if a.now else base + seq * 0.1
        ip = r.choices(ips, weights)[0]
        pid = 1000 + r.randrange(30000)
        port = 1024 + r.randrange(60000)
        k = r.random()
        if k < 0.40:
            user = USERS[r.randrange(len(USERS))]
            inv = "invalid user " if r.random() < 0.5 else ""
            msg = "Failed password for %s%s from %s port %d ssh2" % (inv, user, ip, port)
            detections += 1
        elif k < 0.50:
            msg = "Invalid user %s from %s port %d" % (USERS[r.randrange(len(USERS))], ip, port)
            detections += 1
        elif k < 0.65:
            msg = "Connection closed by %s port %d [preauth]" % (ip, port)
        elif k < 0.80:
            msg = "Accepted publickey for ops from 10.0.0.%d port %d ssh2" % (
                1 + r.randrange(20), port)
        else:
            msg = "pam_unix(sshd:session): session opened for user ops by (uid=0)"
        out.write("%s\t<38>1 %s gw sshd %d - - %s seq=%d\n" % (ip, stamp(t), pid, msg, seq))
    if a.stats:
        sys.stderr.write("lines %d detections %d\n" % (a.lines, detections))


if __name__ == "__main__":
    main()
