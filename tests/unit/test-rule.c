/*
 * Detection rule semantics, table-driven: each case is a detection block, an event and the
 * expected result, checked with the prefilter on, off, and through ruleset_explain().
 * Then captures, rule metadata, long lines, the regex match limit and Unicode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule.h"
#include "tap.h"
#include "test-rule-util.h"
#include "xmalloc.h"

struct rcase {
    const char *det;    /* detection block (indented by the harness) */
    const char *extra;  /* more top-level YAML (fields:), or NULL */
    const char *ev[17]; /* name, value, ..., NULL */
    int want;
};

#define EV(...) {__VA_ARGS__, NULL}

static const struct rcase cases[] = {
    /* plain equality, case folding, lists, wildcards */
    {"sel: {process.name: sshd}\ncondition: sel", NULL, EV("process.name", "sshd"), 1},
    {"sel: {process.name: sshd}\ncondition: sel", NULL, EV("process.name", "SSHD"), 1},
    {"sel: {process.name: sshd}\ncondition: sel", NULL, EV("process.name", "sshd2"), 0},
    {"sel: {process.name: sshd}\ncondition: sel", NULL, EV("host.name", "sshd"), 0},
    {"sel: {process.name|cased: sshd}\ncondition: sel", NULL, EV("process.name", "SSHD"), 0},
    {"sel: {process.name|cased: sshd}\ncondition: sel", NULL, EV("process.name", "sshd"), 1},
    {"sel: {process.name: [cron, sshd]}\ncondition: sel", NULL, EV("process.name", "sshd"), 1},
    {"sel: {process.name: [cron, sshd]}\ncondition: sel", NULL, EV("process.name", "su"), 0},
    {"sel: {process.name: 'ssh*'}\ncondition: sel", NULL, EV("process.name", "sshd"), 1},
    {"sel: {process.name: 'ssh*'}\ncondition: sel", NULL, EV("process.name", "xsshd"), 0},
    {"sel: {process.name: '*hd'}\ncondition: sel", NULL, EV("process.name", "SSHD"), 1},
    {"sel: {process.name: 's?hd'}\ncondition: sel", NULL, EV("process.name", "sshd"), 1},
    {"sel: {process.name: 's?hd'}\ncondition: sel", NULL, EV("process.name", "shd"), 0},
    {"sel: {process.name: 's*h*d'}\ncondition: sel", NULL, EV("process.name", "sxxhyyd"), 1},
    {"sel: {process.name: 's*h*d'}\ncondition: sel", NULL, EV("process.name", "sxxhyydz"), 0},
    {"sel: {process.name: '*'}\ncondition: sel", NULL, EV("process.name", ""), 1},
    {"sel: {process.name: '*'}\ncondition: sel", NULL, EV("host.name", "x"), 0},
    {"sel: {f: 'a\\*b'}\ncondition: sel", NULL, EV("f", "a*b"), 1},
    {"sel: {f: 'a\\*b'}\ncondition: sel", NULL, EV("f", "axb"), 0},
    {"sel: {f: 'a\\?b'}\ncondition: sel", NULL, EV("f", "a?b"), 1},
    {"sel: {f: 'a\\?b'}\ncondition: sel", NULL, EV("f", "axb"), 0},
    {"sel: {f: 'C:\\Windows\\System32\\cmd.exe'}\ncondition: sel", NULL,
     EV("f", "c:\\windows\\system32\\CMD.EXE"), 1},
    {"sel: {f: 'a\\\\*'}\ncondition: sel", NULL, EV("f", "a\\anything"), 1},
    {"sel: {f: 'a\\\\\\*'}\ncondition: sel", NULL, EV("f", "a\\*"), 1},
    {"sel: {f: 'a\\\\\\*'}\ncondition: sel", NULL, EV("f", "a\\x"), 0},
    {"sel: {f: ''}\ncondition: sel", NULL, EV("f", ""), 1},
    {"sel: {f: ''}\ncondition: sel", NULL, EV("f", "x"), 0},
    {"sel: {f: ''}\ncondition: sel", NULL, EV("g", ""), 0},
    {"sel: {f: null}\ncondition: sel", NULL, EV("g", "x"), 1},
    {"sel: {f: null}\ncondition: sel", NULL, EV("f", ""), 1},
    {"sel: {f: null}\ncondition: sel", NULL, EV("f", "x"), 0},
    {"sel: {f: ~}\ncondition: sel", NULL, EV("f", "x"), 0},
    {"sel: {f: 'null'}\ncondition: sel", NULL, EV("f", "NULL"), 1},
    {"sel: {tag: b}\ncondition: sel", NULL, EV("tag", "a", "tag", "b"), 1},
    {"sel: {tag: c}\ncondition: sel", NULL, EV("tag", "a", "tag", "b"), 0},
    {"sel: {a: x, b: y}\ncondition: sel", NULL, EV("a", "x", "b", "y"), 1},
    {"sel: {a: x, b: y}\ncondition: sel", NULL, EV("a", "x", "b", "z"), 0},
    {"sel: {a: x, b: y}\ncondition: sel", NULL, EV("a", "x"), 0},
    {"sel: [{a: x}, {b: y}]\ncondition: sel", NULL, EV("b", "y"), 1},
    {"sel: [{a: x}, {b: y}]\ncondition: sel", NULL, EV("a", "y", "b", "x"), 0},
    {"sel: {f: true}\ncondition: sel", NULL, EV("f", "True"), 1},

    /* contains / startswith / endswith */
    {"sel: {message|contains: 'failed password'}\ncondition: sel", NULL,
     EV("message", "Failed password for root"), 1},
    {"sel: {message|contains: 'failed password'}\ncondition: sel", NULL,
     EV("message", "Failed publickey for root"), 0},
    {"sel: {message|contains|cased: 'failed'}\ncondition: sel", NULL,
     EV("message", "Failed password"), 0},
    {"sel: {message|contains|cased: 'Failed'}\ncondition: sel", NULL,
     EV("message", "xx Failed password"), 1},
    {"sel: {message|startswith: fail}\ncondition: sel", NULL, EV("message", "FAILED x"), 1},
    {"sel: {message|startswith: fail}\ncondition: sel", NULL, EV("message", "xfail"), 0},
    {"sel: {message|startswith: fail}\ncondition: sel", NULL, EV("message", "fai"), 0},
    {"sel: {message|endswith: ssh2}\ncondition: sel", NULL, EV("message", "port 22 SSH2"), 1},
    {"sel: {message|endswith: ssh2}\ncondition: sel", NULL, EV("message", "ssh2 x"), 0},
    {"sel: {message|contains: 'a*c'}\ncondition: sel", NULL, EV("message", "xxabbbcxx"), 1},
    {"sel: {message|contains: 'a*c'}\ncondition: sel", NULL, EV("message", "xxcbbbaxx"), 0},
    {"sel: {message|contains: ''}\ncondition: sel", NULL, EV("message", "anything"), 1},
    {"sel: {message|contains|all: [foo, bar]}\ncondition: sel", NULL, EV("message", "bar foo"),
     1},
    {"sel: {message|contains|all: [foo, bar]}\ncondition: sel", NULL, EV("message", "foo"), 0},
    {"sel: {message|contains: [foo, bar]}\ncondition: sel", NULL, EV("message", "xbarx"), 1},
    {"sel: {message|contains: 'ab'}\ncondition: sel", NULL, EV("message", "aab"), 1},
    {"sel: {message|endswith: 'aab'}\ncondition: sel", NULL, EV("message", "ab"), 0},

    /* re (case-sensitive like Sigma), sub-modifiers i m s */
    {"sel: {message|re: 'Failed password for (?:invalid user )?\\S+ from'}\ncondition: sel",
     NULL, EV("message", "Failed password for invalid user bob from 1.2.3.4"), 1},
    {"sel: {message|re: 'failed'}\ncondition: sel", NULL, EV("message", "Failed"), 0},
    {"sel: {message|re: '(?i)failed'}\ncondition: sel", NULL, EV("message", "FAILED"), 1},
    {"sel: {message|re|i: 'failed'}\ncondition: sel", NULL, EV("message", "FaIlEd"), 1},
    {"sel: {message|re: '^bar$'}\ncondition: sel", NULL, EV("message", "foo\nbar"), 0},
    {"sel: {message|re|m: '^bar$'}\ncondition: sel", NULL, EV("message", "foo\nbar"), 1},
    {"sel: {message|re: 'foo.bar'}\ncondition: sel", NULL, EV("message", "foo\nbar"), 0},
    {"sel: {message|re|s: 'foo.bar'}\ncondition: sel", NULL, EV("message", "foo\nbar"), 1},
    {"sel: {message|re: 'pass'}\ncondition: sel", NULL, EV("message", "password"), 1},
    {"sel: {message|re: '^Invalid'}\ncondition: sel", NULL, EV("message", "x Invalid"), 0},
    {"sel: {message|re: ['^a', 'b$']}\ncondition: sel", NULL, EV("message", "xxb"), 1},
    {"sel: {message|re|all: ['^a', 'b$']}\ncondition: sel", NULL, EV("message", "xxb"), 0},
    {"sel: {message|re|all: ['^a', 'b$']}\ncondition: sel", NULL, EV("message", "axb"), 1},
    {"sel: {message|re: 'abc|xyz'}\ncondition: sel", NULL, EV("message", "--XYZ--xyz"), 1},
    {"sel: {message|re: 'ab(c|d)+e'}\ncondition: sel", NULL, EV("message", "abcdcde"), 1},
    {"sel: {message|re: 'user=(\\w+)?x'}\ncondition: sel", NULL, EV("message", "user=x"), 1},

    /* cidr */
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL, EV("source.ip", "10.1.2.3"), 1},
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL, EV("source.ip", "11.0.0.1"), 0},
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL, EV("source.ip", "not-ip"), 0},
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL, EV("source.ip", ""), 0},
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL, EV("host.ip", "10.0.0.1"), 0},
    {"sel: {source.ip|cidr: [10.0.0.0/8, 192.168.0.0/16]}\ncondition: sel", NULL,
     EV("source.ip", "192.168.5.5"), 1},
    {"sel: {source.ip|cidr: '2001:db8::/32'}\ncondition: sel", NULL,
     EV("source.ip", "2001:db8:1::5"), 1},
    {"sel: {source.ip|cidr: '2001:db8::/32'}\ncondition: sel", NULL,
     EV("source.ip", "2001:db9::1"), 0},
    {"sel: {source.ip|cidr: '2001:db8::/32'}\ncondition: sel", NULL,
     EV("source.ip", "10.0.0.1"), 0},
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL,
     EV("source.ip", "::ffff:10.0.0.1"), 1},
    {"sel: {source.ip|cidr: 0.0.0.0/0}\ncondition: sel", NULL, EV("source.ip", "1.2.3.4"), 1},
    {"sel: {source.ip|cidr: 0.0.0.0/0}\ncondition: sel", NULL, EV("source.ip", "2001::1"), 0},
    {"sel: {source.ip|cidr: '::/0'}\ncondition: sel", NULL, EV("source.ip", "1.2.3.4"), 1},
    {"sel: {source.ip|cidr: 1.2.3.4}\ncondition: sel", NULL, EV("source.ip", "1.2.3.4"), 1},
    {"sel: {source.ip|cidr: 1.2.3.4}\ncondition: sel", NULL, EV("source.ip", "1.2.3.5"), 0},
    {"sel: {source.ip|cidr: 'fe80::/10'}\ncondition: sel", NULL,
     EV("source.ip", "fe80::1%eth0"), 1},
    {"sel: {source.ip|cidr: 10.1.2.3/8}\ncondition: sel", NULL, EV("source.ip", "10.200.0.1"), 1},
    {"sel: {source.ip|cidr: 192.168.1.0/25}\ncondition: sel", NULL,
     EV("source.ip", "192.168.1.127"), 1},
    {"sel: {source.ip|cidr: 192.168.1.0/25}\ncondition: sel", NULL,
     EV("source.ip", "192.168.1.128"), 0},
    {"sel: {source.ip|cidr: 10.0.0.0/8}\ncondition: sel", NULL,
     EV("source.ip", "1.1.1.1", "source.ip", "10.9.9.9"), 1},

    /* exists */
    {"sel: {f|exists: true}\ncondition: sel", NULL, EV("f", ""), 1},
    {"sel: {f|exists: true}\ncondition: sel", NULL, EV("g", "x"), 0},
    {"sel: {f|exists: false}\ncondition: sel", NULL, EV("g", "x"), 1},
    {"sel: {f|exists: false}\ncondition: sel", NULL, EV("f", "x"), 0},

    /* numbers */
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "22"), 1},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "22.0"), 1},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "022"), 1},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "+22"), 1},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "2.2e1"), 1},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "23"), 0},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "22 "), 0},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "abc"), 0},
    {"sel: {port: 22}\ncondition: sel", NULL, EV("port", "0x16"), 0},
    {"sel: {port: '22'}\ncondition: sel", NULL, EV("port", "22.0"), 0},
    {"sel: {port: '22'}\ncondition: sel", NULL, EV("port", "22"), 1},
    {"sel: {port: 1.5}\ncondition: sel", NULL, EV("port", "1.50"), 1},
    {"sel: {port: -0}\ncondition: sel", NULL, EV("port", "0.0"), 1},
    {"sel: {port: [22, 2222]}\ncondition: sel", NULL, EV("port", "2222"), 1},
    {"sel: {id: 12345678901234567890}\ncondition: sel", NULL, EV("id", "12345678901234567890"), 1},
    {"sel: {id: 12345678901234567890}\ncondition: sel", NULL, EV("id", "12345678901234567891"), 0},
    {"sel: {port|gt: 1024}\ncondition: sel", NULL, EV("port", "2048"), 1},
    {"sel: {port|gt: 1024}\ncondition: sel", NULL, EV("port", "80"), 0},
    {"sel: {port|gt: 1024}\ncondition: sel", NULL, EV("port", "1024"), 0},
    {"sel: {port|gt: 1024}\ncondition: sel", NULL, EV("port", "abc"), 0},
    {"sel: {port|gt: 1024}\ncondition: sel", NULL, EV("port", ""), 0},
    {"sel: {port|gte: 1024}\ncondition: sel", NULL, EV("port", "1024"), 1},
    {"sel: {port|lt: 1}\ncondition: sel", NULL, EV("port", "0.5"), 1},
    {"sel: {port|lt: 1}\ncondition: sel", NULL, EV("port", "1"), 0},
    {"sel: {port|lte: -5}\ncondition: sel", NULL, EV("port", "-5.0"), 1},
    {"sel: {port|lte: -5}\ncondition: sel", NULL, EV("port", "-4.9"), 0},
    {"sel: {port|lt: '1e3'}\ncondition: sel", NULL, EV("port", "999"), 1},
    {"sel: {port|gt: 10}\ncondition: sel", NULL, EV("port", "5", "port", "50"), 1},
    {"sel: {port|gt: 10, port|lt: 20}\ncondition: sel", NULL, EV("port", "15"), 1},
    {"sel: {port|gt: 10, port|lt: 20}\ncondition: sel", NULL, EV("port", "25"), 0},

    /* neq */
    {"sel: {process.name|neq: sshd}\ncondition: sel", NULL, EV("process.name", "cron"), 1},
    {"sel: {process.name|neq: sshd}\ncondition: sel", NULL, EV("process.name", "SSHD"), 0},
    {"sel: {process.name|neq: sshd}\ncondition: sel", NULL, EV("host.name", "x"), 0},
    {"sel: {port|neq: 22}\ncondition: sel", NULL, EV("port", "23"), 1},
    {"sel: {port|neq: 22}\ncondition: sel", NULL, EV("port", "22.0"), 0},
    {"sel: {process.name|neq: [a, b]}\ncondition: sel", NULL, EV("process.name", "c"), 1},
    {"sel: {process.name|neq: [a, b]}\ncondition: sel", NULL, EV("process.name", "b"), 0},
    {"sel: {message|contains|neq: foo}\ncondition: sel", NULL, EV("message", "bar"), 1},

    /* all */
    {"sel: {tag|all: [a, b]}\ncondition: sel", NULL, EV("tag", "b", "tag", "a"), 1},
    {"sel: {tag|all: [a, b]}\ncondition: sel", NULL, EV("tag", "a"), 0},
    {"sel: {tag|all: a}\ncondition: sel", NULL, EV("tag", "a"), 1},

    /* keywords */
    {"keywords: [mimikatz, 'event::clear']\ncondition: keywords", NULL,
     EV("message", "x EVENT::CLEAR y"), 1},
    {"keywords: [mimikatz, 'event::clear']\ncondition: keywords", NULL,
     EV("message", "event::drop"), 0},
    {"kw: password\ncondition: kw", NULL, EV("message", "bad PASSWORD"), 1},
    {"kw: {'|all': [foo, bar]}\ncondition: kw", NULL, EV("message", "bar.foo"), 1},
    {"kw: {'|all': [foo, bar]}\ncondition: kw", NULL, EV("message", "bar"), 0},
    {"kw: {'|re': 'fo+x'}\ncondition: kw", NULL, EV("message", "afoooox"), 1},
    {"kw: {'|startswith': 'Error'}\ncondition: kw", NULL, EV("message", "error: x"), 1},
    {"kw: {'|startswith': 'Error'}\ncondition: kw", NULL, EV("message", "x error"), 0},
    {"kw: {'|cased': 'Error'}\ncondition: kw", NULL, EV("message", "an error"), 0},
    {"kw: [password]\ncondition: kw", NULL, EV("event.original", "bad password"), 1},
    {"kw: [password]\ncondition: kw", NULL,
     EV("message", "nothing", "event.original", "bad password"), 0},
    {"kw: ['fail*root']\ncondition: kw", NULL, EV("message", "Failed password for root"), 1},
    {"kw: ['fail*root']\ncondition: kw", NULL, EV("message", "root Failed"), 0},
    {"kw: [password]\ncondition: kw", NULL, EV("message", "a", "message", "password"), 1},
    {"kw: ['404']\ncondition: kw", NULL, EV("message", "GET / 404 12"), 1},

    /* conditions */
    {"a: {x: 1}\nb: {y: 1}\ncondition: a and b", NULL, EV("x", "1", "y", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: a and b", NULL, EV("x", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\ncondition: a or b", NULL, EV("y", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: a or b", NULL, EV("z", "1"), 0},
    {"a: {x: 1}\ncondition: not a", NULL, EV("z", "1"), 1},
    {"a: {x: 1}\ncondition: not a", NULL, EV("x", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\ncondition: a and not b", NULL, EV("x", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: a and not b", NULL, EV("x", "1", "y", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\nc: {z: 1}\ncondition: (a or b) and c", NULL, EV("y", "1", "z", "1"),
     1},
    {"a: {x: 1}\nb: {y: 1}\nc: {z: 1}\ncondition: (a or b) and c", NULL, EV("y", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\nc: {z: 1}\ncondition: a or b and c", NULL, EV("x", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\nc: {z: 1}\ncondition: a or b and c", NULL, EV("y", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\ncondition: not a and b", NULL, EV("y", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: not a and b", NULL, EV("z", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\ncondition: not (a or b)", NULL, EV("z", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: not not a", NULL, EV("x", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: a AND NOT b", NULL, EV("x", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: 1 of sel_*", NULL, EV("y", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: 1 of sel_*", NULL, EV("z", "1"), 0},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: any of sel*", NULL, EV("x", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: all of sel_*", NULL,
     EV("x", "1", "y", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: all of sel_*", NULL, EV("x", "1"),
     0},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: 1 of them", NULL, EV("z", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\n_skip: {z: 1}\ncondition: 1 of them", NULL, EV("z", "1"), 0},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\n_skip: {z: 1}\ncondition: all of them", NULL,
     EV("x", "1", "y", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nother: {z: 1}\ncondition: all of them", NULL,
     EV("x", "1", "y", "1"), 0},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nf: {z: 1}\ncondition: 1 of sel_* and not f", NULL,
     EV("x", "1"), 1},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nf: {z: 1}\ncondition: 1 of sel_* and not f", NULL,
     EV("x", "1", "z", "1"), 0},
    {"sel_a: {x: 1}\nsel_b: {y: 1}\nf: {z: 1}\ncondition: not 1 of sel_*", NULL, EV("z", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: [a, b]", NULL, EV("y", "1"), 1},
    {"a: {x: 1}\nb: {y: 1}\ncondition: [a, b]", NULL, EV("z", "1"), 0},
    {"a: {x: 1}\nb: {y: 1}\ncondition: ((a))", NULL, EV("x", "1"), 1},

    /* captures are visible to later selections, whatever the condition's order */
    {"failed:\n  message|re: 'Failed password for (?<user>\\S+) from (?<src>[0-9a-f.:]+)'\n"
     "from_lab:\n  source.ip|cidr: 10.0.0.0/8\ncondition: failed and not from_lab",
     "fields: {user: user.name, src: source.ip}",
     EV("message", "Failed password for root from 1.2.3.4 port 22"), 1},
    {"failed:\n  message|re: 'Failed password for (?<user>\\S+) from (?<src>[0-9a-f.:]+)'\n"
     "from_lab:\n  source.ip|cidr: 10.0.0.0/8\ncondition: failed and not from_lab",
     "fields: {user: user.name, src: source.ip}",
     EV("message", "Failed password for root from 10.1.1.1 port 22"), 0},
    {"failed:\n  message|re: 'Failed password for (?<user>\\S+) from (?<src>[0-9a-f.:]+)'\n"
     "from_lab:\n  source.ip|cidr: 10.0.0.0/8\ncondition: not from_lab and failed",
     "fields: {user: user.name, src: source.ip}",
     EV("message", "Failed password for root from 10.1.1.1 port 22"), 0},
    {"failed:\n  message|re: 'Failed password for (?<user>\\S+) from'\n"
     "admin:\n  user: 'adm*'\ncondition: admin and failed", NULL,
     EV("message", "Failed password for admin1 from 1.2.3.4"), 1},
    {"failed:\n  message|re: 'Failed password for (?<user>\\S+) from'\n"
     "admin:\n  user.name: root\ncondition: admin and failed", "fields: {user: user.name}",
     EV("message", "Failed password for root from 1.2.3.4"), 1},
    {"failed:\n  message|re: 'Failed password for (?<user>\\S+) from'\n"
     "admin:\n  user.name: root\ncondition: admin and failed", "fields: {user: user.name}",
     EV("message", "Failed password for bob from 1.2.3.4"), 0},
    /* a failing map takes back its captures */
    {"p:\n  message|re: '(?<who>\\w+)'\n  x: nope\nq:\n  who: hello\ncondition: p or q", NULL,
     EV("message", "hello world"), 0},
    {"p:\n  message|re: '(?<who>\\w+)'\nq:\n  who: hello\ncondition: q", NULL,
     EV("message", "hello world"), 1},
    /* later test of the same map sees the capture */
    {"p:\n  message|re: '(?<who>\\w+)'\n  who: hello\ncondition: p", NULL,
     EV("message", "hello world"), 1},

    /* Unicode: ASCII case folding only; regexes with (*UTF) fold Unicode */
    {"sel: {name: 'Müller'}\ncondition: sel", NULL, EV("name", "müller"), 1},
    {"sel: {name: 'Müller'}\ncondition: sel", NULL, EV("name", "MÜLLER"), 0},
    {"sel: {name: 'M?ller'}\ncondition: sel", NULL, EV("name", "Müller"), 1},
    {"sel: {name|contains: 'ü'}\ncondition: sel", NULL, EV("name", "Müller"), 1},
    {"sel: {name|re: '(*UTF)(?i)müller'}\ncondition: sel", NULL, EV("name", "MÜLLER"), 1},
    {"sel: {name|re: '(?i)müller'}\ncondition: sel", NULL, EV("name", "MÜLLER"), 0},
    {"sel: {name|re: '^.ller'}\ncondition: sel", NULL, EV("name", "üller"), 0},
    {"sel: {name|re: '(*UTF)^.ller'}\ncondition: sel", NULL, EV("name", "üller"), 1},
    {"kw: ['日本語']\ncondition: kw", NULL, EV("message", "これは日本語です"), 1},
    {"sel: {name: \"a\\u00e9\"}\ncondition: sel", NULL, EV("name", "aé"), 1},
};

static int
case_run(struct ruleset *rs, const struct rcase *c, struct event *ev)
{
    rt_event(ev, c->ev);
    return ruleset_match(rs, ev, NULL, NULL);
}

static void
test_table(void)
{
    struct event ev;
    FILE *devnull = fopen("/dev/null", "w");

    event_init(&ev);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rcase *c = &cases[i];
        struct ruleset_opts on = {0}, off = {.no_prefilter = 1};
        struct ruleset *rs_on, *rs_off;
        char *doc, *det = xstrdup(""), *line, *save = NULL, *copy = xstrdup(c->det);
        int a, b, e;

        for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
            char *next = xasprintf("%s  %s\n", det, line);
            free(det);
            det = next;
        }
        doc = xasprintf("id: case-%zu\ntitle: case %zu\ndetection:\n%s%s\n", i, i, det,
                        c->extra ? c->extra : "");
        rt_write("case.yml", doc);
        rs_on = rt_load(rt_write("case.yml", doc), &on, NULL);
        rs_off = rt_load(rt_write("case.yml", doc), &off, NULL);
        if (!ok(rs_on != NULL && rs_off != NULL && ruleset_count(rs_on) == 1,
                "case %zu loads", i)) {
            printf("# %s", doc);
            tap_skip(1, "no rule set");
        } else {
            a = case_run(rs_on, c, &ev);
            b = case_run(rs_off, c, &ev);
            rt_event(&ev, c->ev);
            e = ruleset_explain(rs_off, &ev, devnull, 1);
            if (!ok(a == c->want && b == c->want && e == c->want,
                    "case %zu: want %d (prefilter %d, none %d, explain %d)", i, c->want, a, b,
                    e)) {
                printf("# %s", doc);
            }
        }
        ruleset_free(rs_on);
        ruleset_free(rs_off);
        free(doc);
        free(det);
        free(copy);
    }
    event_free(&ev);
    fclose(devnull);
}

/* ---- captures seen by the callback ------------------------------------------------- */

struct cap_seen {
    int calls;
    char user[64];
    char src[64];
    char raw[64];
    uint32_t nfields;
};

static void
cap_cb(void *arg, const struct rule *rule, struct event *ev)
{
    struct cap_seen *s = arg;
    const struct event_field *f;

    s->calls++;
    s->nfields = ev->nfields;
    if ((f = event_get(ev, "user.name")) != NULL) {
        snprintf(s->user, sizeof(s->user), "%.*s", (int)f->value_len, f->value);
    }
    if ((f = event_get(ev, "source.ip")) != NULL) {
        snprintf(s->src, sizeof(s->src), "%.*s", (int)f->value_len, f->value);
    }
    if ((f = event_get(ev, "port")) != NULL) {
        snprintf(s->raw, sizeof(s->raw), "%s", f->value); /* NUL-terminated */
    }
}

static void
test_captures(void)
{
    const char *doc =
        "id: ssh-failed-password\n"
        "title: SSH failed password\n"
        "level: high\n"
        "tags: [attack.credential_access, attack.t1110.001]\n"
        "detection:\n"
        "  failed:\n"
        "    process.name: sshd\n"
        "    message|re: 'Failed password for (?:invalid user )?(?<user>\\S+) from "
        "(?<src>[0-9a-fA-F:.]+) port (?<port>\\d+)(?<never>NEVER)?'\n"
        "  from_lab:\n"
        "    source.ip|cidr: [10.0.0.0/8, 192.168.0.0/16]\n"
        "  condition: failed and not from_lab\n"
        "fields:\n"
        "  user: user.name\n"
        "  src: source.ip\n";
    const char *kv[] = {"process.name", "sshd", "message",
                        "Failed password for invalid user admin from 2001:db8::7 port 4242 ssh2",
                        NULL};
    struct ruleset *rs = rt_load(rt_write("cap.yml", doc), NULL, NULL);
    struct cap_seen s = {0};
    struct event ev;
    struct ruleset_stats st;
    const struct rule *r;

    event_init(&ev);
    if (!ok(rs != NULL, "capture rule loads")) {
        tap_skip(12, "no rule set");
        return;
    }
    rt_event(&ev, kv);
    is_int(ruleset_match(rs, &ev, cap_cb, &s), 1, "capture rule matches");
    is_int(s.calls, 1, "callback called once");
    is_str(s.user, "admin", "user captured into user.name");
    is_str(s.src, "2001:db8::7", "src captured into source.ip");
    is_str(s.raw, "4242", "unmapped capture keeps its name, value NUL-terminated");
    is_int(s.nfields, 5, "unset optional group adds no field");
    is_int(ev.nfields, 2, "captured fields removed after the callback");
    ruleset_get_stats(rs, &st);
    ok(st.evaluated == 1 && st.matched == 1, "stats: evaluated %llu matched %llu",
       (unsigned long long)st.evaluated, (unsigned long long)st.matched);
    r = ruleset_find(rs, "ssh-failed-password");
    ok(r != NULL && r->level == RULE_LEVEL_HIGH && r->ntags == 2 &&
           strcmp(r->tags[1], "attack.t1110.001") == 0 &&
           strcmp(r->title, "SSH failed password") == 0,
       "metadata: level, tags, title");
    ok(r != NULL && r->kind == RULE_DETECTION && r->generate == 1 && r->index == 0 &&
           r->line == 1 && strlen(r->hash) == 16,
       "kind, generate, index, line, 16-digit hash");
    ok(ruleset_find(rs, "nope") == NULL && ruleset_rule(rs, 1) == NULL, "lookups miss cleanly");
    /* from the lab: no match */
    {
        const char *kv2[] = {"process.name", "sshd", "message",
                             "Failed password for root from 10.2.3.4 port 22 ssh2", NULL};
        rt_event(&ev, kv2);
        is_int(ruleset_match(rs, &ev, cap_cb, &s), 0, "captured source.ip in 10/8 is refused");
    }
    ruleset_free(rs);
    event_free(&ev);
}

/* ---- hash stability ---------------------------------------------------------------- */

static void
hash_of(const char *doc, char out[17])
{
    struct ruleset *rs = rt_load(rt_write("h.yml", doc), NULL, NULL);

    out[0] = '\0';
    if (rs != NULL && ruleset_count(rs) == 1) {
        memcpy(out, ruleset_rule(rs, 0)->hash, 17);
    }
    ruleset_free(rs);
}

static void
test_hash(void)
{
    char a[17], b[17], c[17], d[17], e[17];

    hash_of("id: h\ndetection: {s: {a: 1}, condition: s}\n", a);
    hash_of("# a comment\nid: h\ndetection:\n  s:\n    a: 1\n  condition: s\n", b);
    hash_of("id: h\ndetection: {s: {a: 2}, condition: s}\n", c);
    hash_of("id: h\ndescription: now documented\nauthor: me\n"
            "detection: {s: {a: 1}, condition: s}\n", d);
    hash_of("id: h\ndetection: {s: {a: '1'}, condition: s}\n", e);
    ok(a[0] != '\0' && strcmp(a, b) == 0, "same rule, other layout: same hash (%s)", a);
    ok(strcmp(a, c) != 0, "changed value: other hash");
    ok(strcmp(a, d) == 0, "description/author do not change the hash");
    ok(strcmp(a, e) != 0, "quoted '1' (string) vs 1 (number): other hash");
}

/* ---- long lines, match limit ------------------------------------------------------- */

static void
test_long_line(void)
{
    const char *doc =
        "id: long-contains\ndetection: {s: {message|contains: 'needle-in-hay'}, condition: s}\n"
        "---\n"
        "id: long-re\ndetection: {s: {message|re: 'needle-(?<what>in)-hay$'}, condition: s}\n"
        "---\n"
        "id: long-kw\ndetection: {k: ['NEEDLE-IN-HAY'], condition: k}\n";
    size_t n = 1024 * 1024;
    char *msg = xmalloc(n + 1);
    struct ruleset *rs = rt_load(rt_write("long.yml", doc), NULL, NULL);
    struct event ev;

    memset(msg, 'x', n);
    memcpy(msg + n - 13, "needle-in-hay", 13);
    msg[n] = '\0';
    event_init(&ev);
    {
        const char *kv[] = {"message", msg, NULL};
        rt_event(&ev, kv);
    }
    ok(rs != NULL && ruleset_match(rs, &ev, NULL, NULL) == 3, "1 MiB message: all three match");
    memcpy(msg + n - 14, "needle-in-hay!", 14);
    {
        const char *kv[] = {"message", msg, NULL};
        rt_event(&ev, kv);
    }
    ok(rs != NULL && ruleset_match(rs, &ev, NULL, NULL) == 2, "1 MiB message: re anchored fails");
    ruleset_free(rs);
    event_free(&ev);
    free(msg);
}

static void
test_match_limit(void)
{
    const char *doc = "id: evil\ndetection: {s: {message|re: '^(a+)+$'}, condition: s}\n"
                      "---\n"
                      "id: fine\ndetection: {s: {message|contains: 'aaaa'}, condition: s}\n";
    struct ruleset_opts opts = {.match_limit = 1000, .depth_limit = 100};
    struct ruleset *rs = rt_load(rt_write("limit.yml", doc), &opts, NULL);
    struct ruleset_stats st;
    struct event ev;
    const char *kv[] = {"message", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", NULL};
    const char *kv2[] = {"message", "aaaaaaaaaa", NULL};

    event_init(&ev);
    if (!ok(rs != NULL, "limit rules load")) {
        tap_skip(3, "no rule set");
        return;
    }
    rt_event(&ev, kv);
    is_int(ruleset_match(rs, &ev, NULL, NULL), 1, "catastrophic regex: not matched, other rule is");
    ruleset_get_stats(rs, &st);
    ok(st.match_limit_hits == 1, "match limit hit counted (%llu)",
       (unsigned long long)st.match_limit_hits);
    rt_event(&ev, kv2);
    is_int(ruleset_match(rs, &ev, NULL, NULL), 2, "short subject still matches under the limit");
    ruleset_free(rs);
    event_free(&ev);
}

/* The explanation of test mode names the failing selection, test, value and literal. */
static void
test_explain(void)
{
    const char *doc =
        "id: x-pam\n"
        "detection:\n"
        "  pam:\n"
        "    process.name: sshd\n"
        "    message|contains: 'authentication failure'\n"
        "  other:\n"
        "    - user.name: root\n"
        "    - user.name|exists: true\n"
        "  condition: pam\n"
        "---\n"
        "id: x-ok\n"
        "title: it matches\n"
        "level: low\n"
        "detection: {s: {message|re: 'for (?<who>\\w+)'}, condition: s}\n";
    const char *kv[] = {"process.name", "cron", "message", "Failed password for bob", NULL};
    struct ruleset *rs = rt_load(rt_write("explain.yml", doc), NULL, NULL);
    struct event ev;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int n = -1, bad = 0;

    event_init(&ev);
    rt_event(&ev, kv);
    if (rs != NULL) {
        n = ruleset_explain(rs, &ev, out, 1);
    }
    fclose(out);
    bad += !is_int(n, 1, "explain: one rule matches");
    bad += !ok(text != NULL && strstr(text, "  rule x-ok: MATCH (low) it matches\n"
                                            "      captured who = 'bob'\n") != NULL,
               "explain: matching rule with its capture");
    bad += !ok(text != NULL && strstr(text, "prefilter: skipped, none of: 'authentication "
                                            "failure' in message") != NULL,
               "explain: the missing literal");
    bad += !ok(text != NULL && strstr(text, "      selection pam: false\n        process.name "
                                            "(line 4): 'cron' does not match 'sshd'\n") != NULL,
               "explain: failing test with the event's value");
    bad += !ok(text != NULL && strstr(text, "        alternative 2 (line 8):\n          "
                                            "user.name|exists (line 8): field user.name is "
                                            "absent\n") != NULL,
               "explain: each alternative of a list of maps");
    bad += !is_int(ev.nfields, 2, "explain: captures removed");
    if (bad && text != NULL) {
        printf("# %s", text);
    }
    free(text);
    ruleset_free(rs);
    event_free(&ev);
}

static void
test_levels(void)
{
    enum rule_level l;

    ok(rule_level_parse("critical", &l) == 0 && l == RULE_LEVEL_CRITICAL, "parse critical");
    ok(rule_level_parse("Informational", &l) == 0 && l == RULE_LEVEL_INFORMATIONAL,
       "parse is case-insensitive");
    ok(rule_level_parse("severe", &l) < 0, "unknown level refused");
    is_str(rule_level_name(RULE_LEVEL_LOW), "low", "level name");
}

int
main(void)
{
    test_table();
    test_captures();
    test_hash();
    test_long_line();
    test_match_limit();
    test_explain();
    test_levels();
    return tap_done();
}
