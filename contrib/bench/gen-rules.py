#!/usr/bin/env python3
"""Deterministic generator of realistic kizuna detection rule sets for benchmarks.

Usage: gen-rules.py --rules N [--seed S] --out FILE

Rule 1 is the SSH failed-password rule of the documentation. Rules 2..50 are the 49
match-only regexes of the SEC 50-rule baseline (/work/shared/bench/sec/rules50.sec),
rewritten as kizuna rules (program name -> process.name, the rest -> message|re), so
"50 rules" runs the same regexes as SEC and as the naive C loop. Beyond 50, rules are
synthetic but shaped like real rule packs: some forty products (sshd, sudo, postfix,
nginx, kernel, ...), each rule a process name plus a contains/startswith/regex/keyword
test on the message, with `and not` filters, CIDR exclusions, lists, wildcards and
numeric tests mixed in. Most rules match no line of the sshd generator's output; a few
sshd ones do, like in production. Only random.Random is used: same seed, same bytes.
"""
import argparse
import random

SEC49 = [
    ("sshd", r"Accepted password for (?<user>\S+) from (?<src>\S+) port (\d+) ssh2"),
    ("sshd", r"Accepted publickey for (?<user>\S+) from (?<src>\S+) port (\d+) ssh2"),
    ("sshd", r"Invalid user (?<user>\S*) from (?<src>\S+)"),
    ("sshd", r"input_userauth_request: invalid user (\S*) \[preauth\]"),
    ("sshd", r"Connection closed by (?<src>\S+)(?: port \d+)? \[preauth\]"),
    ("sshd", r"Received disconnect from (\S+)(?: port \d+)?: ?(\d+): (.*?) \[preauth\]"),
    ("sshd", r"pam_unix\(sshd:auth\): authentication failure; .*rhost=(\S+)(?:\s+user=(\S+))?"),
    ("sshd", r"pam_unix\(sshd:auth\): check pass; user unknown"),
    ("sshd", r"pam_unix\((\w+):session\): session opened for user (\S+) by"),
    ("sshd", r"pam_unix\((\w+):session\): session closed for user (\S+)"),
    ("sshd", r"reverse mapping checking getaddrinfo for (\S+) \[(\S+)\] failed - POSSIBLE BREAK-IN ATTEMPT!"),
    ("sshd", r"Did not receive identification string from (\S+)"),
    ("sshd", r"Disconnecting: Too many authentication failures for (\S+) \[preauth\]"),
    ("sshd", r"PAM (\d+) more authentication failures; .*rhost=(\S+)"),
    ("sshd", r"Failed publickey for (\S+) from (\S+) port (\d+) ssh2"),
    ("sshd", r"Failed none for (?:invalid user )?(\S+) from (\S+) port (\d+) ssh2"),
    ("sshd", r"error: maximum authentication attempts exceeded for (?:invalid user )?(\S+) from (\S+) port (\d+) ssh2"),
    ("sshd", r"Bad protocol version identification '(.*)' from (\S+)"),
    ("sshd", r"Unable to negotiate with (\S+) port (\d+): no matching (\S+) method found"),
    ("sshd", r"Connection reset by (\S+) port (\d+)"),
    ("sshd", r"Timeout before authentication for (\S+)"),
    ("sshd", r"Server listening on (\S+) port (\d+)\."),
    ("sshd", r"Received signal (\d+); terminating\."),
    ("sshd", r"fatal: Read from socket failed: (.*) \[preauth\]"),
    ("sshd", r"Postponed publickey for (\S+) from (\S+) port (\d+) ssh2"),
    ("sshd", r"User (\S+) from (\S+) not allowed because (.*)"),
    ("sshd", r"ROOT LOGIN REFUSED FROM (\S+)"),
    ("sshd", r"Address (\S+) maps to (\S+), but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!"),
    ("sudo", r"^\s*(\S+) : TTY=(\S+) ; PWD=(\S+) ; USER=(\S+) ; COMMAND=(.*)"),
    ("sudo", r"pam_unix\(sudo:auth\): authentication failure; .*ruser=(\S*) rhost=\S* +user=(\S+)"),
    ("su", r"FAILED SU \(to (\S+)\) (\S+) on (\S+)"),
    ("useradd", r"new user: name=(\S+), UID=(\d+)"),
    ("passwd", r"pam_unix\(passwd:chauthtok\): password changed for (\S+)"),
    ("groupadd", r"new group: name=(\S+), GID=(\d+)"),
    ("CRON", r"\((\S+)\) CMD \((.*)\)"),
    ("kernel", r"\[\s*\d+\.\d+\] \[UFW BLOCK\] IN=(\S*) OUT=(\S*) .*SRC=(\S+) DST=(\S+) .*PROTO=(\S+)(?: SPT=(\d+) DPT=(\d+))?"),
    ("kernel", r".*?(\S+)\[(\d+)\]: segfault at (\S+)"),
    ("kernel", r".*Out of memory: Killed process (\d+) \((\S+)\)"),
    ("systemd", r"Started Session (\d+) of user (\S+)\."),
    ("systemd-logind", r"New session (\d+) of user (\S+)\."),
    ("systemd-logind", r"Removed session (\d+)\."),
    ("dhclient", r"DHCPACK of (\S+) from (\S+)"),
    ("ntpd", r"Soliciting pool server (\S+)"),
    ("postfix/smtpd", r"NOQUEUE: reject: RCPT from (\S+)\[(\S+)\]: (\d{3})"),
    ("postfix/smtpd", r"warning: (\S+)\[(\S+)\]: SASL (\S+) authentication failed"),
    ("dovecot", r"(?:imap|pop3)-login: Disconnected \(auth failed, (\d+) attempts.*\): user=<(\S*)>.*rip=(\S+),"),
    ("vsftpd", r"\[(\S+)\] FAIL LOGIN: Client \"(?:::ffff:)?(\S+)\""),
    ("nginx", r".*user \"(\S+)\": password mismatch, client: (\S+)"),
    ("openvpn", r"(\S+):(\d+) TLS Error: TLS handshake failed"),
]

PRODUCTS = [
    "sshd", "sudo", "su", "CRON", "kernel", "systemd", "systemd-logind", "postfix/smtpd",
    "postfix/qmgr", "dovecot", "nginx", "httpd", "haproxy", "squid", "named", "dhcpd",
    "dhclient", "ntpd", "chronyd", "mysqld", "postgres", "redis-server", "slapd", "smbd",
    "nmbd", "vsftpd", "proftpd", "openvpn", "strongswan", "dockerd", "containerd",
    "kubelet", "auditd", "polkitd", "rsyslogd", "snmpd", "zabbix_agentd", "fail2ban",
    "clamd", "freshclam", "cups", "NetworkManager", "wpa_supplicant", "pppd",
]
WORDS = [
    "error", "warning", "denied", "refused", "timeout", "failed", "invalid", "unknown",
    "rejected", "blocked", "unauthorized", "forbidden", "overflow", "corrupt", "expired",
    "revoked", "mismatch", "violation", "suspicious", "anomaly", "exceeded", "disconnect",
    "handshake", "certificate", "token", "session", "password", "credential", "privilege",
    "escalation", "module", "signature", "checksum", "quota", "limit", "segment", "socket",
    "connection", "request", "response", "upstream", "backend", "cluster", "replica",
    "lease", "zone", "transfer", "query", "cache", "policy", "rule", "chain", "table",
    "kernel", "driver", "firmware", "device", "volume", "mount", "filesystem", "journal",
    "tenant", "namespace", "container", "image", "registry", "pod", "volume", "secret",
]
# Things sshd really logs, to build near-miss rules on sshd lines.
SSHD_STEMS = [
    "Failed password for", "Accepted password for", "Accepted publickey for",
    "Invalid user", "Connection closed by", "Received disconnect from",
    "pam_unix(sshd:auth): authentication failure", "Did not receive identification string",
    "reverse mapping checking getaddrinfo", "Disconnecting: Too many authentication failures",
    "input_userauth_request: invalid user", "PAM", "session opened for user",
]
SSHD_TAILS = [
    "keyboard-interactive/pam", "hostbased", "gssapi-with-mic", "for illegal user",
    "from 0.0.0.0", "[net]", "port 0", "maximum", "(none)", "by authenticating user",
    "on tty9", "via proxy", "with an unsupported key", "after 600 seconds",
]
LEVELS = ["informational", "low", "medium", "high", "critical"]


def q(s):
    """YAML single-quoted scalar."""
    return "'" + s.replace("'", "''") + "'"


def rule_doc(rid, title, level, body, fields=None, tags=None):
    out = ["id: %s" % rid, "title: %s" % q(title), "level: %s" % level]
    if tags:
        out.append("tags: [%s]" % ", ".join(tags))
    out.append("detection:")
    out.extend("  " + line for line in body)
    if fields:
        out.append("fields:")
        out.extend("  %s: %s" % kv for kv in fields)
    return "\n".join(out) + "\n"


def first_rule():
    return rule_doc(
        "ssh-failed-password", "SSH failed password", "medium",
        ["failed:",
         "  process.name: sshd",
         "  message|re: " + q(r"Failed password for (?:invalid user )?(?<user>\S+) from (?<src>[0-9a-fA-F:.]+)"),
         "from_lab:",
         "  source.ip|cidr: [10.0.0.0/8, 192.168.0.0/16]",
         "condition: failed and not from_lab"],
        fields=[("user", "user.name"), ("src", "source.ip")],
        tags=["attack.credential_access", "attack.t1110.001"])


def sec_rule(i, prog, rx):
    return rule_doc("sec-%02d" % i, "SEC baseline rule %d" % i, "low",
                    ["sel:", "  process.name: %s" % q(prog), "  message|re: " + q(rx),
                     "condition: sel"])


def phrase(r, n):
    return " ".join(r.choice(WORDS) for _ in range(n))


def synth_rule(r, i):
    prog = r.choice(PRODUCTS)
    lvl = r.choice(LEVELS)
    kind = r.random()
    rid = "synth-%05d" % i
    tok = "%s-%04x" % (r.choice(WORDS), r.randrange(65536))
    if kind < 0.12:
        # near miss on sshd lines: real stem, tail sshd never writes
        stem, tail = r.choice(SSHD_STEMS), r.choice(SSHD_TAILS)
        body = ["sel:", "  process.name: sshd",
                "  message|contains|all: [%s, %s]" % (q(stem), q(tail)), "condition: sel"]
    elif kind < 0.20:
        stem = r.choice(SSHD_STEMS)
        rx = r"%s (?<user>\S+) %s (?<src>\S+)" % (
            stem.replace("(", r"\(").replace(")", r"\)"), r.choice(["via", "using", "over"]))
        body = ["sel:", "  process.name: [sshd, sshd-session]", "  message|re: " + q(rx),
                "filter:", "  source.ip|cidr: [10.0.0.0/8, 'fd00::/8']",
                "condition: sel and not filter"]
    elif kind < 0.45:
        body = ["sel:", "  process.name: %s" % q(prog),
                "  message|contains: %s" % q(phrase(r, 2) + " " + tok), "condition: sel"]
    elif kind < 0.60:
        rx = r"%s (?<obj>\S+) %s=(\d+)" % (phrase(r, 2), r.choice(WORDS))
        body = ["sel:", "  process.name: %s" % q(prog), "  message|re: " + q(rx),
                "condition: sel"]
    elif kind < 0.68:
        body = ["keywords:", "  - %s" % q(tok), "  - %s" % q(phrase(r, 3)),
                "condition: keywords"]
    elif kind < 0.76:
        body = ["sel:", "  process.name: %s" % q(prog),
                "  message|startswith: %s" % q(phrase(r, 2).capitalize() + ":"),
                "filter:", "  message|contains: %s" % q(r.choice(WORDS) + " ok"),
                "condition: sel and not filter"]
    elif kind < 0.84:
        body = ["sel_a:", "  process.name: %s" % q(prog),
                "  message|contains: %s" % q(tok),
                "sel_b:", "  - message|contains: %s" % q(phrase(r, 2) + " " + tok[::-1]),
                "  - message|endswith: %s" % q(" " + tok.upper()),
                "condition: 1 of sel_*"]
    elif kind < 0.92:
        body = ["sel:", "  process.name: %s" % q(prog),
                "  message|re: " + q(r"(?i)%s [a-z]+ \d{3,5}" % r.choice(WORDS) + " " + tok),
                "  process.pid|gt: %d" % r.randrange(100, 5000),
                "condition: sel"]
    else:
        body = ["sel:", "  process.name: [%s, %s]" % (q(prog), q(r.choice(PRODUCTS))),
                "  message: %s" % q("*" + tok + "*" + r.choice(WORDS) + "*"),
                "condition: sel"]
    return rule_doc(rid, "synthetic %s rule %d" % (prog, i), lvl, body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    r = random.Random(a.seed)
    docs = [first_rule()]
    for i, (prog, rx) in enumerate(SEC49, 1):
        if len(docs) >= a.rules:
            break
        docs.append(sec_rule(i, prog, rx))
    i = 0
    while len(docs) < a.rules:
        docs.append(synth_rule(r, i))
        i += 1
    with open(a.out, "w") as fh:
        fh.write("# generated by gen-rules.py --rules %d --seed %d\n" % (a.rules, a.seed))
        fh.write("---\n".join(docs))


if __name__ == "__main__":
    main()
