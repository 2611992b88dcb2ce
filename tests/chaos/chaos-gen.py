#!/usr/bin/env python3
"""Deterministic sshd-like workload for the chaos suite and the soak benchmark.

Written for kizuna (no third-party code). Same arguments, same bytes.

    chaos-gen.py --lines N [--seed S] [--ips K] [--skew X] [--first SEQ] [--start ISO] [--stats]
    chaos-gen.py --rate R --seconds S [--seed S] [--ips K] [--skew X]

Prints "KEY<TAB>LINE" records (tests/kafka-tool produce --key-lines): the key is the line's
source address, so all events of one address go to one Kafka partition, in order. Each line
is RFC 5424 syslog with a millisecond timestamp that never decreases and ends with
"seq=SEQ". About 40 % are "Failed password" (rule chaos-failed-password, and the
correlations over it), 10 % "Invalid user", the rest match nothing. Address k (1..K) is
drawn with weight 1/k^X (--skew, default 1.3): a few hammer (several event_count alerts
each), most never reach a threshold. With many addresses a flatter skew spreads the load
over the partitions (the mock cluster keeps only about 5 MiB per partition).

Fixed mode (--lines): line SEQ is stamped START + SEQ * 100 ms and its choices depend on
(seed, SEQ) only, so batches generated with --first continue one timeline. --stats prints
"lines N detections D" to stderr.

Paced mode (--rate, for the soak benchmark): R lines a second for S seconds, written in
10 ms slices and flushed, each stamped with the wall-clock time it was written (so the
time from an event to its alert can be measured). Ends early when stdout closes.
"""
import argparse
import bisect
import calendar
import itertools
import random
import sys
import time

USERS = ["root", "admin", "oracle", "test", "ubuntu", "pi", "git", "postgres", "deploy"]


def stamp(t):
    ms = int(round(t * 1000))
    tm = time.gmtime(ms // 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (tm.tm_year, tm.tm_mon, tm.tm_mday,
                                                  tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000)


class Workload:
    def __init__(self, seed, nips, skew):
        r0 = random.Random(seed)
        ips, seen = [], set()
        while len(ips) < nips:
            ip = "%d.%d.%d.%d" % (11 + r0.randrange(200), r0.randrange(256), r0.randrange(256),
                                  1 + r0.randrange(254))
            if ip not in seen:
                seen.add(ip)
                ips.append(ip)
        self.ips = ips
        # as random.choices(ips, weights) does it, with the sums computed once
        self.cum = list(itertools.accumulate(1.0 / (k + 1) ** skew for k in range(nips)))
        self.detections = 0

    def line(self, r, seq, t):
        """One record for sequence number seq at time t, drawing from r."""
        ip = self.ips[bisect.bisect(self.cum, r.random() * self.cum[-1], 0, len(self.ips) - 1)]
        pid = 1000 + r.randrange(30000)
        port = 1024 + r.randrange(60000)
        k = r.random()
        if k < 0.40:
            user = USERS[r.randrange(len(USERS))]
            inv = "invalid user " if r.random() < 0.5 else ""
            msg = "Failed password for %s%s from %s port %d ssh2" % (inv, user, ip, port)
            self.detections += 1
        elif k < 0.50:
            msg = "Invalid user %s from %s port %d" % (USERS[r.randrange(len(USERS))], ip, port)
            self.detections += 1
        elif k < 0.65:
            msg = "Connection closed by %s port %d [preauth]" % (ip, port)
        elif k < 0.80:
            msg = "Accepted publickey for ops from 10.0.0.%d port %d ssh2" % (
                1 + r.randrange(20), port)
        else:
            msg = "pam_unix(sshd:session): session opened for user ops by (uid=0)"
        return "%s\t<38>1 %s gw sshd %d - - %s seq=%d\n" % (ip, stamp(t), pid, msg, seq)


def paced(w, a):
    r = random.Random(a.seed)
    out = sys.stdout
    t0 = time.time()
    seq = 0
    while True:
        now = time.time()
        if now - t0 >= a.seconds:
            return
        due = int((now - t0) * a.rate)
        if due > seq:
            out.write("".join(w.line(r, s, now) for s in range(seq, due)))
            out.flush()
            seq = due
        time.sleep(0.01)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int)
    ap.add_argument("--rate", type=float)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ips", type=int, default=24)
    ap.add_argument("--skew", type=float, default=1.3)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--start", default="2024-09-10T06:00:00")
    ap.add_argument("--stats", action="store_true")
    a = ap.parse_args()
    if (a.lines is None) == (a.rate is None):
        ap.error("give --lines or --rate")

    w = Workload(a.seed, a.ips, a.skew)
    try:
        if a.rate is not None:
            paced(w, a)
            return
        base = float(calendar.timegm(time.strptime(a.start, "%Y-%m-%dT%H:%M:%S")))
        out = sys.stdout
        for seq in range(a.first, a.first + a.lines):
            out.write(w.line(random.Random(a.seed * 1000003 + seq), seq, base + seq * 0.1))
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away: stop quietly
        return
    if a.stats:
        sys.stderr.write("lines %d detections %d\n" % (a.lines, w.detections))


if __name__ == "__main__":
    main()
