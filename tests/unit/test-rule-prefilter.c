/*
 * The prefilter never changes results: the Aho-Corasick automaton against a naive search,
 * required literals of regexes (a table, and the property "every match contains one"),
 * and hundreds of generated rules x thousands of events (sshd logs from the shared
 * generator when python3 and ../shared are there, plus crafted lines) matched with the
 * prefilter on and off: same rules, same captured fields, for every event.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "rule-int.h"
#include "tap.h"
#include "test-rule-util.h"
#include "xmalloc.h"

static uint64_t rng_state = 88172645463325252ull;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static uint32_t
pick(uint32_t n)
{
    return rng() % n;
}

/* ---- Aho-Corasick against a naive search ------------------------------------------- */

struct ac_seen {
    uint8_t *hit;
};

static void
ac_seen_cb(void *arg, uint32_t id)
{
    ((struct ac_seen *)arg)->hit[id] = 1;
}

static int
naive_contains(const char *s, size_t len, const char *p, size_t plen)
{
    for (size_t i = 0; i + plen <= len; i++) {
        size_t k = 0;
        while (k < plen && rule_value_lower[(unsigned char)s[i + k]] ==
                               rule_value_lower[(unsigned char)p[k]]) {
            k++;
        }
        if (k == plen) {
            return 1;
        }
    }
    return 0;
}

/* The three literal scanners (automaton, q-gram filter, SIMD) against a naive search. */
static void
test_scanners(void)
{
    /* Letters in both cases, and bytes that only differ in bit 0x20 without being letters. */
    const char alpha[] = "abAB-c@`[{\xc3\xa9 ";
    int bad_ac = 0, bad_gram = 0, bad_teddy = 0, rounds = 400, have_teddy = 0;

    for (int round = 0; round < rounds; round++) {
        struct rule_ac *ac = rule_ac_new();
        struct rule_gram *gram = rule_gram_new();
        struct rule_teddy *teddy = rule_teddy_new();
        uint32_t npat = 1 + pick(round % 2 ? 60 : 8);
        char pats[60][12];
        size_t plen[60];
        uint8_t hit_ac[60], hit_gram[60], hit_teddy[60];
        struct ac_seen s_ac = {hit_ac}, s_gram = {hit_gram}, s_teddy = {hit_teddy};
        char text[300];
        size_t tlen = pick(sizeof(text));

        for (uint32_t i = 0; i < npat; i++) {
            plen[i] = 3 + pick(round % 3 == 0 ? 9 : 3);
            for (size_t k = 0; k < plen[i]; k++) {
                pats[i][k] = alpha[pick(sizeof(alpha) - 1)];
            }
            rule_ac_add(ac, pats[i], plen[i], i);
            rule_gram_add(gram, pats[i], plen[i], i);
            if (teddy != NULL) {
                rule_teddy_add(teddy, pats[i], plen[i], i);
            }
        }
        rule_ac_build(ac);
        rule_gram_build(gram);
        if (teddy != NULL) {
            rule_teddy_build(teddy);
            have_teddy = 1;
        }
        for (size_t k = 0; k < tlen; k++) {
            text[k] = alpha[pick(sizeof(alpha) - 1)];
        }
        /* Plant some literals, in other case, so that there is something to find. */
        for (int k = 0; k < 3 && tlen > 12; k++) {
            uint32_t i = pick(npat);
            size_t at = pick((uint32_t)(tlen - plen[i]));
            for (size_t j = 0; j < plen[i]; j++) {
                char c = pats[i][j];
                text[at + j] = (char)(c >= 'a' && c <= 'z' && pick(2) ? c - 32 : c);
            }
        }
        memset(hit_ac, 0, sizeof(hit_ac));
        memset(hit_gram, 0, sizeof(hit_gram));
        memset(hit_teddy, 0, sizeof(hit_teddy));
        rule_ac_scan(ac, text, tlen, ac_seen_cb, &s_ac);
        rule_gram_scan(gram, text, tlen, ac_seen_cb, &s_gram);
        if (teddy != NULL) {
            rule_teddy_scan(teddy, text, tlen, ac_seen_cb, &s_teddy);
        }
        for (uint32_t i = 0; i < npat; i++) {
            int want = naive_contains(text, tlen, pats[i], plen[i]);
            bad_ac += hit_ac[i] != want;
            bad_gram += hit_gram[i] != want;
            bad_teddy += teddy != NULL && hit_teddy[i] != want;
        }
        rule_ac_free(ac);
        rule_gram_free(gram);
        rule_teddy_free(teddy);
    }
    is_int(bad_ac, 0, "Aho-Corasick finds exactly what a naive search finds (400 rounds)");
    is_int(bad_gram, 0, "q-gram filter finds exactly what a naive search finds");
    if (have_teddy) {
        is_int(bad_teddy, 0, "SIMD scanner finds exactly what a naive search finds");
    } else {
        tap_skip(1, "no SSSE3 on this CPU: SIMD scanner not used");
    }
}

/* A literal at the very start and at the very end of texts of every length up to 70. */
static void
test_scanner_edges(void)
{
    int bad = 0;

    for (size_t len = 4; len <= 70; len++) {
        for (int at_end = 0; at_end < 2; at_end++) {
            struct rule_ac *ac = rule_ac_new();
            struct rule_gram *gram = rule_gram_new();
            struct rule_teddy *teddy = rule_teddy_new();
            uint8_t h_ac[2] = {0}, h_gram[2] = {0}, h_teddy[2] = {0};
            struct ac_seen a = {h_ac}, g = {h_gram}, t = {h_teddy};
            char text[80];

            memset(text, '.', len);
            memcpy(at_end ? text + len - 4 : text, "KiZu", 4);
            rule_ac_add(ac, "kizu", 4, 0);
            rule_gram_add(gram, "kizu", 4, 0);
            rule_ac_add(ac, "zzzz", 4, 1);
            rule_gram_add(gram, "zzzz", 4, 1);
            if (teddy != NULL) {
                rule_teddy_add(teddy, "kizu", 4, 0);
                rule_teddy_add(teddy, "zzzz", 4, 1);
                rule_teddy_build(teddy);
                rule_teddy_scan(teddy, text, len, ac_seen_cb, &t);
            }
            rule_ac_build(ac);
            rule_gram_build(gram);
            rule_ac_scan(ac, text, len, ac_seen_cb, &a);
            rule_gram_scan(gram, text, len, ac_seen_cb, &g);
            bad += !h_ac[0] || h_ac[1] || !h_gram[0] || h_gram[1];
            bad += teddy != NULL && (!h_teddy[0] || h_teddy[1]);
            rule_ac_free(ac);
            rule_gram_free(gram);
            rule_teddy_free(teddy);
        }
    }
    is_int(bad, 0, "scanners find a literal at the start and at the end of texts of 4..70 bytes");
}

static void
test_lower8(void)
{
    int bad = 0;

    for (int c = 0; c < 256; c++) {
        unsigned char b[8];
        uint64_t w, l;
        memset(b, c, sizeof(b));
        b[3] = (unsigned char)(255 - c);
        memcpy(&w, b, 8);
        l = rule_lower8(w);
        memcpy(b, &l, 8);
        bad += b[0] != rule_value_lower[c] || b[3] != rule_value_lower[255 - c];
    }
    is_int(bad, 0, "8-byte ASCII lowercasing agrees with the table for all bytes");
}

/* ---- required literals of regexes ---------------------------------------------------- */

struct lcase {
    const char *re;
    const char *want; /* literals joined by '|', "" for none */
};

static const struct lcase lcases[] = {
    {"Failed password for (?:invalid user )?\\S+ from", "failed password for  &  from"},
    {"abc", "abc"},
    {"ab(c|d)ef", "ab & c|d & ef"},
    {"a(c|d)eff", "eff & a & c|d"},
    {"(?:abc|defg)x", "abc|defg & x"},
    {"abc|de", "abc|de"},
    {"abc|", ""},
    {"abc|d*", ""},
    {"x(?i)Hello World", "hello world & x"},
    {"(?x)a b c", ""},
    {"a\\.b\\[c", "a.b[c"},
    {"foo\\d+barbaz", "barbaz & foo"},
    {"fooo?bar", "foo & bar"},
    {"fooo?barr", "barr & foo"},
    {"abc+def", "abc & def"},
    {"(abc){2}", "abcabc"},
    {"(?:ab)+cd", "ab & cd"},
    {"[abc]+xyz", "xyz"},
    {"[]abc]xyz", "xyz"},
    {"[^]x]{2}long-one", "long-one"},
    {"(?<user>\\w+) logged in", " logged in"},
    {"(?P<u>x) y", "x y"},
    {"^Invalid user", "invalid user"},
    {"\\bword\\b", "word"},
    {"(?=look)ahead", "ahead"},
    {"a{2,}bcd", "bcd & a"},
    {"a{,3}bcd", ""},
    {"\\x41BCD", ""},
    {"\\Qa.b\\E", ""},
    {"(a)\\1bcd", ""},
    {"(*UTF)abc", ""},
    {"tab\\there", "tab\there"},
    {"pam_unix\\(sshd:auth\\): authentication failure; .*rhost=(\\S+)",
     "pam_unix(sshd:auth): authentication failure;  & rhost="},
    {"kernel: \\[\\s*\\d+\\.\\d+\\] \\[UFW BLOCK\\]", "] [ufw block] & kernel: [ & ."},
    {"dovecot: (?:imap|pop3)-login: Disconnected", "-login: disconnected & dovecot:  & imap|pop3"},
    {"(?#comment)abc", "abc"},
    {"a(?i:BC)d", "abcd"},
    {".*", ""},
};

static void
lit_format(const struct rule_litcnf *lc, char *got, size_t len)
{
    got[0] = '\0';
    for (size_t k = 0; k < lc->n; k++) {
        if (k > 0) {
            strncat(got, " & ", len - strlen(got) - 1);
        }
        for (size_t i = 0; i < lc->sets[k].n; i++) {
            if (i > 0) {
                strncat(got, "|", len - strlen(got) - 1);
            }
            strncat(got, lc->sets[k].lits[i], len - strlen(got) - 1);
        }
    }
}

static void
test_literals(void)
{
    int bad = 0;

    for (size_t i = 0; i < sizeof(lcases) / sizeof(lcases[0]); i++) {
        struct rule_litcnf lc;
        char got[512];

        rule_literal_extract(lcases[i].re, strlen(lcases[i].re), &lc);
        lit_format(&lc, got, sizeof(got));
        if (strcmp(got, lcases[i].want) != 0) {
            printf("# literals of /%s/: got '%s' want '%s'\n", lcases[i].re, got,
                   lcases[i].want);
            bad++;
        }
        rule_litcnf_free(&lc);
    }
    is_int(bad, 0, "required literals of the regex table");
}

/* The sshd/syslog patterns of the SEC 50-rule baseline and some harder ones. */
static const char *const prop_res[] = {
    "Failed password for (?:invalid user )?\\S+ from (\\d{1,3}(?:\\.\\d{1,3}){3}) port \\d+ ssh2",
    "Accepted (password|publickey) for (\\S+) from (\\S+) port (\\d+) ssh2",
    "Invalid user (\\S*) from (\\S+)",
    "input_userauth_request: invalid user (\\S*) \\[preauth\\]",
    "Connection closed by (\\S+)(?: port \\d+)? \\[preauth\\]",
    "Received disconnect from (\\S+)(?: port \\d+)?: ?(\\d+): (.*?) \\[preauth\\]",
    "pam_unix\\(sshd:auth\\): authentication failure; .*rhost=(\\S+)(?:\\s+user=(\\S+))?",
    "pam_unix\\((\\w+):session\\): session (opened|closed) for user (\\S+)",
    "reverse mapping checking getaddrinfo for (\\S+) \\[(\\S+)\\] failed",
    "PAM (\\d+) more authentication failures; .*rhost=(\\S+)",
    "CRON\\[\\d+\\]: \\((\\S+)\\) CMD \\((.*)\\)",
    "\\[UFW BLOCK\\] IN=(\\S*) OUT=(\\S*) .*SRC=(\\S+)",
    "systemd(?:-logind)?\\[\\d+\\]: (?:Started|New) [Ss]ession (\\d+)",
    "(?i)FAILED PASSWORD",
    "(?:root|admin|oracle) from",
    "port (22|2222)\\b",
    "ssh2$",
    "^(?:Disconnecting|Did not receive)",
    "user=(?:root)?x?y*  ",
    "a{2}",
};

static void
test_literal_property(const char *const *lines, size_t nlines)
{
    pcre2_match_data *md = pcre2_match_data_create(32, NULL);
    int bad = 0, matches = 0;

    for (size_t r = 0; r < sizeof(prop_res) / sizeof(prop_res[0]); r++) {
        int errc;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)prop_res[r], PCRE2_ZERO_TERMINATED, 0, &errc,
                                       &off, NULL);
        struct rule_litcnf lc;

        if (re == NULL) {
            printf("# cannot compile %s\n", prop_res[r]);
            bad++;
            continue;
        }
        rule_literal_extract(prop_res[r], strlen(prop_res[r]), &lc);
        for (size_t i = 0; i < nlines; i++) {
            if (pcre2_match(re, (PCRE2_SPTR)lines[i], strlen(lines[i]), 0, 0, md, NULL) < 0) {
                continue;
            }
            matches++;
            for (size_t k = 0; k < lc.n; k++) {
                int found = 0;
                for (size_t j = 0; j < lc.sets[k].n && !found; j++) {
                    found = naive_contains(lines[i], strlen(lines[i]), lc.sets[k].lits[j],
                                           lc.sets[k].lens[j]);
                }
                if (!found) {
                    printf("# /%s/ matches '%s' without literal set %zu\n", prop_res[r],
                           lines[i], k);
                    bad++;
                }
            }
        }
        rule_litcnf_free(&lc);
        pcre2_code_free(re);
    }
    pcre2_match_data_free(md);
    ok(bad == 0 && matches > 0, "every regex match contains a required literal (%d matches)",
       matches);
}

/* ---- generated rules ------------------------------------------------------------------ */

static const char *const words[] = {
    "Failed password", "failed PASSWORD for", "Accepted", "publickey", "invalid user",
    "Invalid user admin", "preauth", "Connection closed", "Received disconnect",
    "authentication failure", "session opened", "session closed", "CRON", "CMD", "UFW BLOCK",
    "PROTO=TCP", "DPT=22", "Started Session", "New session", "POSSIBLE BREAK-IN", "root",
    "oracle", "ssh2", "port", "from", "uid=0", "Bye Bye", "Too many", "identification",
    "nothing-like-this", "zz", "x", "rhost=", "user=root", "logname=", "check pass",
    "run-parts", "getaddrinfo", "SRC=", "a*b", "pass?ord", "for *from", "\\*literal",
};
static const char *const procs[] = {"sshd", "SSHD", "cron", "CRON", "kernel", "systemd",
                                    "systemd-logind", "postfix/smtpd", "ssh*", "*d", "s?hd"};
static const char *const res_named[] = {
    "Failed password for (?:invalid user )?(?<user>\\S+) from (?<src>[0-9a-fA-F:.]+)",
    "Accepted (?<method>\\w+) for (?<user>\\S+) from (?<src>\\S+)",
    "Invalid user (?<user>\\S*) from (?<src>\\S+)",
    "rhost=(?<src>\\S+)",
    "SRC=(?<src>\\S+) DST=(?<dst>\\S+)",
    "(?<src>session) (?<what>opened|closed) for user (?<user>\\S+)",
};

static void
gen_value(char *buf, size_t len, const char *const *arr, size_t n)
{
    snprintf(buf, len, "'%s'", arr[pick((uint32_t)n)]);
}

/* One selection map body (YAML flow map). */
static void
gen_map(char *out, size_t len, int *uses_src)
{
    char v1[128], v2[128];
    const char *mods[] = {"|contains", "|startswith", "|endswith", "", "|contains|all",
                          "|contains|cased", "|neq"};

    gen_value(v1, sizeof(v1), words, sizeof(words) / sizeof(words[0]));
    gen_value(v2, sizeof(v2), words, sizeof(words) / sizeof(words[0]));
    switch (pick(12)) {
    case 0:
        snprintf(out, len, "{process.name: '%s'}", procs[pick(sizeof(procs) / sizeof(procs[0]))]);
        break;
    case 1:
        snprintf(out, len, "{process.name: ['%s', '%s'], message|contains: %s}",
                 procs[pick(sizeof(procs) / sizeof(procs[0]))],
                 procs[pick(sizeof(procs) / sizeof(procs[0]))], v1);
        break;
    case 2:
        snprintf(out, len, "{message%s: [%s, %s]}", mods[pick(7)], v1, v2);
        break;
    case 3:
        snprintf(out, len, "{message|re: '%s'}",
                 prop_res[pick(sizeof(prop_res) / sizeof(prop_res[0]))]);
        break;
    case 4:
        snprintf(out, len, "{message|re: '%s'}",
                 res_named[pick(sizeof(res_named) / sizeof(res_named[0]))]);
        *uses_src = 1;
        break;
    case 5:
        snprintf(out, len, "{source.ip|cidr: ['%u.0.0.0/%u', '2001:db8::/32']}", 1 + pick(220),
                 1 + pick(8));
        break;
    case 6:
        snprintf(out, len, "{process.pid|gt: %u}", pick(40000));
        break;
    case 7:
        snprintf(out, len, "{process.pid: %u, process.name: sshd}", 1000 + pick(300));
        break;
    case 8:
        snprintf(out, len, "{message: '*%s*'}", words[pick(sizeof(words) / sizeof(words[0]))]);
        break;
    case 9:
        snprintf(out, len, "{user: [root, admin, 'ora*'], host.name: labsz}");
        break;
    case 10:
        snprintf(out, len, "{message|contains: %s, message|re: '%s'}", v1,
                 prop_res[pick(sizeof(prop_res) / sizeof(prop_res[0]))]);
        break;
    default:
        snprintf(out, len, "{host.name|exists: %s, message|endswith: %s}",
                 pick(2) ? "true" : "false", v2);
        break;
    }
}

static char *
gen_rules(int n)
{
    static const char *const conds[] = {
        "a", "a and b", "a or b", "a and not b", "not a", "(a or b) and c", "1 of s*",
        "all of s*", "1 of them", "a and not (b or c)", "kw", "kw or a", "a or (b and kw)",
        "all of them", "not a and not b", "c and a",
    };
    size_t cap = 1 << 20, len = 0;
    char *out = xmalloc(cap);

    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        char a[512], b[512], c[512], s1[512];
        int uses_src = 0;
        char buf[4096];
        const char *kw = words[pick(sizeof(words) / sizeof(words[0]))];

        gen_map(a, sizeof(a), &uses_src);
        gen_map(b, sizeof(b), &uses_src);
        gen_map(c, sizeof(c), &uses_src);
        gen_map(s1, sizeof(s1), &uses_src);
        snprintf(buf, sizeof(buf),
                 "id: g%d\ntitle: generated %d\ndetection:\n  a: %s\n  b: %s\n  c: [%s, %s]\n"
                 "  s1: %s\n  s2: {process.name: sshd}\n  kw: ['%s', '%s']\n  condition: %s\n"
                 "%s---\n",
                 i, i, a, b, c, s1, s1, kw, words[pick(sizeof(words) / sizeof(words[0]))],
                 conds[pick(sizeof(conds) / sizeof(conds[0]))],
                 uses_src ? "fields: {src: source.ip}\n" : "");
        if (len + strlen(buf) + 1 > cap) {
            cap *= 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + len, buf, strlen(buf) + 1);
        len += strlen(buf);
    }
    return out;
}

/* ---- lines ---------------------------------------------------------------------------- */

static const char *const crafted[] = {
    "Sep 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster from "
    "173.234.31.186 port 38926 ssh2",
    "Sep 10 06:55:46 LabSZ SSHD[24200]: FAILED PASSWORD FOR ROOT FROM 10.1.2.3 PORT 22 SSH2",
    "Sep 10 06:55:46 LabSZ sshd[1]: Failed password for root from 2001:db8::1 port 22 ssh2",
    "Sep 10 06:55:46 LabSZ sshd[1200]: Accepted publickey for fztu from 10.0.0.5 port 2222 ssh2",
    "Sep 10 06:55:46 LabSZ cron[5]: (root) CMD (run-parts /etc/cron.hourly)",
    "Sep 10 06:55:46 LabSZ kernel: [1.2] [UFW BLOCK] IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 "
    "PROTO=TCP DPT=22",
    "{\"message\": \"Failed password for oracle from 9.9.9.9\", \"process\": {\"name\": "
    "\"sshd\", \"pid\": 1234}, \"user\": \"ORACLE\", \"host\": {\"name\": \"LabSZ\"}}",
    "{\"process\": {\"name\": \"sshd\"}, \"source\": {\"ip\": \"10.9.9.9\"}}",
    "user=root a*b pass?ord for x from y \\*literal",
    "",
    "zz x",
};

static char **
read_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    char **v = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t len;

    *n = 0;
    if (f == NULL) {
        return NULL;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        v = xreallocarray(v, *n + 1, sizeof(*v));
        v[(*n)++] = xstrdup(line);
    }
    free(line);
    fclose(f);
    return v;
}

struct rec {
    uint64_t h; /* hash of every (rule, captured fields) the callback saw */
    int n;
};

static void
rec_cb(void *arg, const struct rule *rule, struct event *ev)
{
    struct rec *r = arg;
    uint64_t h = r->h ^ (rule->index + 1) * 0x9e3779b97f4a7c15ull;

    for (uint32_t i = 0; i < ev->nfields; i++) {
        for (uint32_t k = 0; k < ev->fields[i].value_len; k++) {
            h = (h ^ (unsigned char)ev->fields[i].value[k]) * 1099511628211ull;
        }
        h = (h ^ ev->fields[i].name_hash) * 1099511628211ull;
    }
    r->h = h;
    r->n++;
}

static const char *const scan_names[] = {"automatic", "automaton", "q-gram", "SIMD"};

static void
test_equivalence(char **lines, size_t nlines)
{
    char *text = gen_rules(600);
    const char *path = rt_write("gen.yml", text);
    struct ruleset_opts on = {.match_limit = 100000}, off = {.match_limit = 100000,
                                                             .no_prefilter = 1};
    struct errlist errs = {0};
    struct ruleset *rs_on = rt_load(path, &on, &errs), *rs_off = rt_load(path, &off, NULL);
    struct decode_ctx dctx = {.now_us = 1700000000000000};
    struct ruleset_stats st_off;
    struct rec *want = NULL;
    struct event ev;

    for (size_t i = 0; i < errs.n && i < 5; i++) {
        printf("# %s\n", errs.msgs[i]);
    }
    ok(rs_on != NULL && rs_off != NULL && errs.n == 0 && ruleset_count(rs_on) == 600,
       "600 generated rules load");
    if (rs_on == NULL || rs_off == NULL) {
        tap_skip(5, "no rule set");
        goto out;
    }
    event_init(&ev);
    /* Every rule on every event once: the reference. */
    want = xcalloc(nlines, sizeof(*want));
    for (size_t i = 0; i < nlines; i++) {
        char err[256];
        event_reset(&ev);
        if (decode_line(DECODE_AUTO, &ev, lines[i], strlen(lines[i]), &dctx, err,
                        sizeof(err)) == 0) {
            ruleset_match(rs_off, &ev, rec_cb, &want[i]);
        }
    }
    ruleset_get_stats(rs_off, &st_off);
    /* The same rules with each scanner forced (SIMD only takes up to 64 literals a field). */
    for (int engine = RULE_SCAN_AUTO; engine <= RULE_SCAN_TEDDY; engine++) {
        struct ruleset_stats st_on;
        size_t diff = 0, matched = 0;

        rule_prefilter_free(rs_on->pf);
        rs_on->pf = rule_prefilter_build(rs_on->det, rs_on->ndet, (enum rule_scan)engine);
        memset(&rs_on->stats, 0, sizeof(rs_on->stats));
        for (size_t i = 0; i < nlines; i++) {
            struct rec a = {0};
            char err[256];

            event_reset(&ev);
            if (decode_line(DECODE_AUTO, &ev, lines[i], strlen(lines[i]), &dctx, err,
                            sizeof(err)) != 0) {
                continue;
            }
            ruleset_match(rs_on, &ev, rec_cb, &a);
            matched += (size_t)a.n;
            if (a.n != want[i].n || a.h != want[i].h) {
                if (diff < 5) {
                    printf("# differs (%d vs %d rules): %s\n", a.n, want[i].n, lines[i]);
                }
                diff++;
            }
        }
        ruleset_get_stats(rs_on, &st_on);
        ok(diff == 0 && matched > 0 && st_on.evaluated < st_off.evaluated,
           "prefilter (%s scanner) on/off: same matches and captures on %zu events (%zu "
           "matches, %llu of %llu rules evaluated)", scan_names[engine], nlines, matched,
           (unsigned long long)st_on.evaluated, (unsigned long long)st_off.evaluated);
    }
    event_free(&ev);
out:
    free(want);
    ruleset_free(rs_on);
    ruleset_free(rs_off);
    errlist_free(&errs);
    free(text);
}

/* 300 rules each gated by its own literal or value: one candidate per event. */
static void
test_pruning(void)
{
    size_t cap = 1 << 16, len = 0;
    char *text = xmalloc(cap);
    struct ruleset *rs;
    struct ruleset_stats st;
    struct event ev;
    int bad = 0;

    text[0] = '\0';
    for (int i = 0; i < 300; i++) {
        char buf[512];
        switch (i % 3) {
        case 0:
            snprintf(buf, sizeof(buf), "id: p%d\ndetection: {s: {message|contains: 'tok-%d-x'}, "
                     "condition: s}\n---\n", i, i);
            break;
        case 1:
            snprintf(buf, sizeof(buf), "id: p%d\ndetection: {s: {process.name: 'proc%d'}, "
                     "t: {message|re: '^never (a|b)'}, condition: s or t}\n---\n", i, i);
            break;
        default:
            snprintf(buf, sizeof(buf), "id: p%d\ndetection: {s: {event.code: %d}, "
                     "k: ['KW%dKW', 'other-kw-%d'], condition: s or k and not s}\n---\n",
                     i, i, i, i);
            break;
        }
        if (len + strlen(buf) + 1 > cap) {
            cap *= 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, buf, strlen(buf) + 1);
        len += strlen(buf);
    }
    rs = rt_load(rt_write("prune.yml", text), NULL, NULL);
    event_init(&ev);
    for (int i = 0; rs != NULL && i < 300; i++) {
        char msg[64], name[32], code[32];
        const char *kv[] = {"message", msg, "process.name", name, "event.code", code, NULL};
        int want = 1;
        snprintf(msg, sizeof(msg), i % 3 == 0 ? "a TOK-%d-X b" : "x kw%dkw y", i);
        snprintf(name, sizeof(name), i % 3 == 1 ? "PROC%d" : "none%d", i);
        snprintf(code, sizeof(code), i % 3 == 2 ? "%d.0" : "-%d", i);
        rt_event(&ev, kv);
        if (i % 3 == 2) {
            want = 1; /* s matches (numerically), k too but "k and not s" is false */
        }
        if (ruleset_match(rs, &ev, NULL, NULL) != want) {
            bad++;
        }
    }
    ruleset_get_stats(rs, &st);
    ok(rs != NULL && bad == 0 && st.evaluated == 300 && st.matched == 300,
       "300 gated rules x 300 events: exactly one rule evaluated per event (%llu)",
       (unsigned long long)st.evaluated);
    event_free(&ev);
    ruleset_free(rs);
    free(text);
}

int
main(void)
{
    const char *top = getenv("top_srcdir");
    char *gen = xasprintf("%s/../shared/bench/gen-sshd.py", top != NULL ? top : ".");
    char *out = xasprintf("%s/sshd.log", rt_dir());
    char **lines = NULL;
    size_t n = 0, ncr = sizeof(crafted) / sizeof(crafted[0]);

    test_scanners();
    test_scanner_edges();
    test_lower8();
    test_literals();
    if (access(gen, R_OK) == 0 && system("python3 -c 'pass' 2>/dev/null") == 0) {
        char *cmd = xasprintf("python3 '%s' --lines 4000 --seed 11 --out '%s' 2>/dev/null", gen,
                              out);
        if (system(cmd) == 0) {
            lines = read_lines(out, &n);
        }
        free(cmd);
    } else {
        printf("# %s or python3 missing: crafted lines only\n", gen);
    }
    lines = xreallocarray(lines, n + ncr, sizeof(*lines));
    for (size_t i = 0; i < ncr; i++) {
        lines[n++] = xstrdup(crafted[i]);
    }
    test_literal_property((const char *const *)lines, n);
    test_equivalence(lines, n);
    test_pruning();
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
    }
    free(lines);
    free(gen);
    free(out);
    return tap_done();
}
