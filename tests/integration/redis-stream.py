#!/usr/bin/env python3
"""Streams for the Redis state integration tests (tests/integration/test-redis-*.sh).

  redis-stream.py gen OUTDIR [--seed S] [--chunks N] [--lines L] [--partitions P]
                             [--lateness SECONDS] [--ips K]
      A deterministic sshd stream in N chunks of L lines (one line every 50 ms of event
      time, ~45 % "Failed password" from K addresses, skewed), cut into chunks that each
      end with a non-matching marker line at the chunk's end time in every partition, so
      that once a chunk is read every partition's watermark is the chunk end. A group
      "198.51.100.7" has 3 failures near the end of chunk 1 (released, i.e. applied,
      before chunk 1 ends) and 2 early in chunk 2: its 5th event completes a window that
      spans the chunk boundary. Partition of a line: crc32(address) % P.
      Writes OUTDIR/all.log (every line, time order: the file input's view),
      OUTDIR/c<K>.p<N> (chunk K's lines of partition N, produced with --partition N) and
      OUTDIR/lag<K> ("partition lag" lines: the lag each partition shows once chunks 1..K
      are read and every released match is acknowledged, given the allowed lateness).
  redis-stream.py lag EXPECT URL...
      Exit 0 when the kizuna_kafka_consumer_lag samples of the metrics endpoints, taken
      together, name every partition of EXPECT exactly once with the expected lag.
  redis-stream.py owners NPARTS URL...
      Exit 0 when partitions 0..NPARTS-1 are each assigned to exactly one of the endpoints
      and every endpoint has at least one (the group has settled over all of them).
  redis-stream.py ids FILE...
      Print the distinct kizuna.alert_id values of JSON-lines alert files, sorted.
  redis-stream.py ids-upto RULE TIME FILE...
      The same for the alerts of RULE raised at or before TIME (RFC 3339), and of every
      other rule; writes OUTDIR/clockK too (the clock once chunk K is read).
"""
import json
import os
import random
import re
import sys
import urllib.request
import zlib

T0 = 1725951300.0  # 2024-09-10T06:55:00Z
STEP = 0.05
SPECIAL = "198.51.100.7"


def stamp(t):
    us = int(round(t * 1e6))
    s, frac = divmod(us, 1000000)
    import time as _t
    return _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(s)) + ".%06dZ" % frac


def fail_line(t, ip, user, port):
    return "%s labsz sshd[%d]: Failed password for %s from %s port %d ssh2" % (
        stamp(t), 1000 + port % 5000, user, ip, port)


def other_line(t, i):
    return "%s labsz sshd[%d]: Connection closed by 10.9.%d.%d port %d [preauth]" % (
        stamp(t), 2000 + i % 3000, i % 200, i % 250, 40000 + i % 20000)


def marker_line(t):
    return "%s labsz cron[77]: (root) CMD (run-parts /etc/cron.hourly)" % stamp(t)


def part_of(ip, nparts):
    return zlib.crc32(ip.encode()) % nparts


def gen(args):
    out, seed, nchunks, nlines, nparts, lateness, nips = args
    rnd = random.Random(seed)
    ips = ["203.0.%d.%d" % (113 + i // 250, 1 + i % 250) for i in range(nips)]
    weights = [1.0 / (k + 1) ** 1.1 for k in range(nips)]
    users = ["root", "admin", "test", "oracle", "ubuntu", "pi"]
    os.makedirs(out, exist_ok=True)
    allf = open(os.path.join(out, "all.log"), "w")
    # per partition: list of (time, is_match) in order, over all chunks so far
    hist = {p: [] for p in range(nparts)}
    t = T0
    for c in range(1, nchunks + 1):
        lines = []
        start = t
        end = start + nlines * STEP
        special = []
        if c == 1:
            special = [end - 40.0, end - 35.0, end - 30.0]
        elif c == 2:
            special = [start + 5.0, start + 10.0]
        for i in range(nlines):
            lt = start + i * STEP
            if rnd.random() < 0.45:
                ip = rnd.choices(ips, weights)[0]
                lines.append((lt, part_of(ip, nparts), fail_line(lt, ip, rnd.choice(users),
                              rnd.randint(1024, 65535)), True))
            else:
                lines.append((lt, rnd.randrange(nparts), other_line(lt, i), False))
        for st in special:
            lines.append((st + STEP / 2, part_of(SPECIAL, nparts),
                          fail_line(st + STEP / 2, SPECIAL, "root", 2222), True))
        lines.sort(key=lambda x: x[0])
        for p in range(nparts):
            lines.append((end, p, marker_line(end), False))
        files = {p: open(os.path.join(out, "c%d.p%d" % (c, p)), "w") for p in range(nparts)}
        for lt, p, text, m in lines:
            files[p].write(text + "\n")
            allf.write(text + "\n")
            hist[p].append((lt, m))
        for f in files.values():
            f.close()
        # After chunk c: every partition's newest time is `end`, so the clock is end - L;
        # matches after it wait in the reorder buffer and hold the stored offset.
        clock = end - lateness
        with open(os.path.join(out, "clock%d" % c), "w") as f:
            f.write(stamp(clock) + "\n")
        with open(os.path.join(out, "lag%d" % c), "w") as f:
            for p in range(nparts):
                h = hist[p]
                first = next((i for i, (lt, m) in enumerate(h) if m and lt > clock), None)
                f.write("%d %d\n" % (p, 0 if first is None else len(h) - first))
        t = end + 1.0
    allf.close()


def samples(urls):
    """{partition: lag} over the endpoints, and the number of partitions of each; None when
    a partition is reported twice (a rebalance in progress) or an endpoint is down."""
    got, per = {}, []
    for url in urls:
        try:
            text = urllib.request.urlopen(url, timeout=2).read().decode()
        except Exception:
            return None, None
        n = 0
        for l in text.splitlines():
            m = re.match(r'kizuna_kafka_consumer_lag\{.*partition="(\d+)".*\} (\S+)', l)
            if m:
                p = int(m.group(1))
                if p in got:
                    return None, None
                got[p] = int(float(m.group(2)))
                n += 1
        per.append(n)
    return got, per


def lag(expect_path, urls):
    want = {}
    for l in open(expect_path):
        p, n = l.split()
        want[int(p)] = int(n)
    got, _ = samples(urls)
    return 0 if got == want else 1


def owners(nparts, urls):
    got, per = samples(urls)
    if got is None or sorted(got) != list(range(nparts)) or min(per) == 0:
        return 1
    return 0


def ids(paths, rule=None, upto=None):
    s = set()
    for path in paths:
        if not os.path.exists(path):
            continue
        for l in open(path):
            l = l.strip()
            if not l:
                continue
            try:
                a = json.loads(l)
                if rule is not None and a["rule"]["id"] == rule and a["@timestamp"] > upto:
                    continue
                s.add(a["kizuna"]["alert_id"])
            except ValueError:
                # the last line of a process killed with SIGKILL may be cut: its alert is
                # delivered again by the successor (at-least-once)
                continue
    for i in sorted(s):
        print(i)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = sys.argv[1]
    if cmd == "gen":
        a = sys.argv[2:]
        out = a[0]
        opts = {"--seed": 7, "--chunks": 3, "--lines": 6000, "--partitions": 6,
                "--lateness": 20, "--ips": 300}
        for i in range(1, len(a), 2):
            opts[a[i]] = int(a[i + 1])
        gen((out, opts["--seed"], opts["--chunks"], opts["--lines"], opts["--partitions"],
             float(opts["--lateness"]), opts["--ips"]))
        return 0
    if cmd == "lag":
        return lag(sys.argv[2], sys.argv[3:])
    if cmd == "owners":
        return owners(int(sys.argv[2]), sys.argv[3:])
    if cmd == "ids":
        ids(sys.argv[2:])
        return 0
    if cmd == "ids-upto":
        ids(sys.argv[4:], sys.argv[2], sys.argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
