/*
 * Privacy profiles through every real format plugin (the .so files of $KIZUNA_PLUGIN_DIR,
 * loaded with the host's loader as tests/unit/test-formats.c does):
 *
 *   1. property test: random alerts full of personal data (IPv4, IPv6, user names, e-mail
 *      addresses, short and dotted host names; in fields, group values, evidence, and in
 *      free text in other letter cases) go through a strict profile (Crypto-PAn, and a
 *      truncating variant) and each of json, stix21, misp, idmef, iodef, cef, ocsf and syslog.
 *      None of the raw values appears anywhere in the bytes, in any case, also not inside
 *      longer tokens (IPv6 also not in its expanded forms); every allowlisted value that the
 *      format shows without the profile it still shows unchanged. As a control, the same
 *      alerts without the profile do show raw values in every format.
 *   2. the partner layer (output_set_emit with delivery spools on a loop): TLP marking of
 *      every format for green and amber alerts, withholding above a partner's clearance,
 *      and exactly one audit line per delivery and none for alerts not sent;
 *   3. a partner whose spool fills: "pending" audit lines, then "spooled" ones once the
 *      transport writes again.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "buf.h"
#include "conf.h"
#include "output.h"
#include "plugin-loader.h"
#include "privacy.h"
#include "rule.h"
#include "tap.h"
#include "test-deliver-util.h"
#include "test-formats-alerts.h"
#include "xmalloc.h"

static const char *const plugins[] = {"json",  "stix21", "misp", "idmef",
                                      "iodef", "cef",    "ocsf", "syslog"};
#define NPLUGINS (sizeof(plugins) / sizeof(plugins[0]))
#define NALERTS 60

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned
rnd(unsigned lo, unsigned hi)
{
    return lo + (unsigned)(rng() % (hi - lo + 1));
}

/* Random letters from g..z in mixed case: never hex, so no id or hash can contain them. */
static void
rnd_word(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)('g' + rnd(0, 19));
        out[i] = rnd(0, 1) ? (char)toupper(c) : c;
    }
    out[n] = '\0';
}

static void
upper(char *s)
{
    for (; *s; s++) {
        *s = (char)toupper((unsigned char)*s);
    }
}

static void
mixcase(char *s)
{
    for (; *s; s++) {
        *s = rnd(0, 1) ? (char)toupper((unsigned char)*s) : (char)tolower((unsigned char)*s);
    }
}

/* The personal data of one generated alert. */
struct pii {
    char ip4[16], ip4b[16], ip4c[16];
    char ip6[64], ip6b[64];
    char user[16], user2[16], user3[16];
    char email[64];
    char host[24], fqdn[64];
};

static void
rnd_ip4(char *out, const char *same24)
{
    if (same24 != NULL) {
        const char *dot = strrchr(same24, '.');
        snprintf(out, 16, "%.*s.%u", (int)(dot - same24), same24, rnd(11, 249));
        return;
    }
    snprintf(out, 16, "%u.%u.%u.%u", rnd(11, 223), rnd(11, 249), rnd(11, 249), rnd(11, 249));
}

static void
rnd_ip6(char *out)
{
    unsigned char a[16];

    a[0] = 0x2a;
    for (int i = 1; i < 16; i++) {
        a[i] = (unsigned char)rnd(1, 255);
    }
    inet_ntop(AF_INET6, a, out, 64);
}

static void
gen_pii(struct pii *p)
{
    char w1[12], w2[12], w3[12];

    rnd_ip4(p->ip4, NULL);
    rnd_ip4(p->ip4b, p->ip4); /* same /24: prefix-preserving keeps that visible */
    rnd_ip4(p->ip4c, NULL);
    rnd_ip6(p->ip6);
    rnd_ip6(p->ip6b);
    rnd_word(p->user, rnd(6, 10));
    rnd_word(p->user2, rnd(6, 10));
    rnd_word(p->user3, rnd(6, 10));
    rnd_word(w1, 7);
    rnd_word(w2, 8);
    rnd_word(w3, 6);
    snprintf(p->email, sizeof(p->email), "%s.%s@%s.example", w1, p->user3, w2);
    rnd_word(p->host, rnd(6, 9));
    snprintf(p->fqdn, sizeof(p->fqdn), "%s.%s.org", w3, w1);
}

static struct rule rule_ssh = {
    .id = (char *)"ssh-bruteforce",
    .title = (char *)"SSH brute force",
    .level = RULE_LEVEL_HIGH,
    .hash = "fedcba9876543210",
    .kind = RULE_CORRELATION,
};

static void
add(struct alert_fields *fl, const char *name, const char *value)
{
    alert_fields_add(fl, name, strlen(name), value, strlen(value));
}

/* An alert carrying p everywhere; category and port are the allowlisted values. */
static struct alert *
gen_alert(const struct pii *p, const char *category, const char *port)
{
    struct alert *a = alert_new(&rule_ssh);
    struct alert_fields *ev;
    char text[1024], up_user[16], mix_email[64], mix_fqdn[64], up_ip6[64], up_host[24];
    char key[256];

    snprintf(up_user, sizeof(up_user), "%s", p->user);
    upper(up_user);
    snprintf(mix_email, sizeof(mix_email), "%s", p->email);
    mixcase(mix_email);
    snprintf(mix_fqdn, sizeof(mix_fqdn), "%s", p->fqdn);
    mixcase(mix_fqdn);
    snprintf(up_ip6, sizeof(up_ip6), "%s", p->ip6b);
    upper(up_ip6);
    snprintf(up_host, sizeof(up_host), "%s", p->host);
    upper(up_host);

    a->corr_type = "event_count";
    a->time_us = INT64_C(1770905423123456) + (int64_t)rnd(0, 1000000000);
    a->first_us = a->time_us - 60000000;
    a->last_us = a->time_us;
    a->count = rnd(5, 50);
    a->tlp = "amber";
    a->partner = "jp-partner";
    a->host_name = "analyzer-01";
    add(&a->group, "source.ip", p->ip4);
    add(&a->group, "user.name", p->user);
    add(&a->fields, "@timestamp", "2026-02-12T14:10:23.123456Z");
    add(&a->fields, "source.ip", p->ip4);
    add(&a->fields, "source.port", "53502");
    add(&a->fields, "destination.ip", p->ip6);
    add(&a->fields, "destination.port", port);
    add(&a->fields, "client.ip", p->ip4c);
    add(&a->fields, "user.name", p->user);
    add(&a->fields, "user.target.name", p->user2);
    add(&a->fields, "user.email", p->email);
    add(&a->fields, "related.user", p->user2);
    add(&a->fields, "related.user", p->user3);
    add(&a->fields, "host.name", p->host);
    add(&a->fields, "destination.domain", p->fqdn);
    add(&a->fields, "rule.category", category);
    add(&a->fields, "process.name", "sshd");
    snprintf(text, sizeof(text),
             "Failed password for %s from %s port 53502 ssh2; contact <%s>; rhost=%s via %s "
             "USER=%s on %s, also seen %s",
             up_user, p->ip4, mix_email, mix_fqdn, up_ip6, p->user2, up_host, p->ip4b);
    add(&a->fields, "message", text);
    snprintf(text, sizeof(text),
             "Feb 12 14:10:23 %s sshd[16378]: Invalid user %s from %s port 53502 (%s, %s)", p->host,
             p->user, p->ip4, p->ip6, p->email);
    add(&a->fields, "event.original", text);
    for (int i = 0; i < 2; i++) {
        ev = alert_add_evidence(a);
        add(ev, "@timestamp", "2026-02-12T14:09:21Z");
        add(ev, "source.ip", i ? p->ip4b : p->ip4);
        add(ev, "user.name", p->user);
        add(ev, "kizuna.source", "/var/log/auth.log:7");
        snprintf(text, sizeof(text),
                 "pam_unix(sshd:auth): authentication failure; logname= "
                 "uid=0 euid=0 tty=ssh ruser= rhost=%s user=%s",
                 i ? p->ip6 : p->fqdn, p->user3);
        add(ev, "message", text);
    }
    snprintf(key, sizeof(key), "%s|%s", p->ip4, p->user);
    alert_compute_id(a, key, a->time_us - 60000000);
    return a;
}

/* Lowercase copy of b. */
static char *
lower_copy(const struct buf *b)
{
    char *s = xmalloc(b->len + 1);

    for (size_t i = 0; i < b->len; i++) {
        s[i] = (char)tolower((unsigned char)b->data[i]);
    }
    s[b->len] = '\0';
    return s;
}

/* 1 if needle occurs in hay (lowercase) in any case. */
static int
contains_ci(const char *hay, size_t hlen, const char *needle)
{
    char *n = xstrdup(needle);
    int r;

    for (char *c = n; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    r = memmem(hay, hlen, n, strlen(n)) != NULL;
    free(n);
    return r;
}

/* Every text form a leak of raw value v could take: v, and for IPv6 the expanded forms. */
static size_t
forms(const char *v, char out[3][64])
{
    unsigned char a[16];
    size_t n = 0;

    snprintf(out[n++], 64, "%s", v);
    if (strchr(v, ':') != NULL && inet_pton(AF_INET6, v, a) == 1) {
        char *p = out[n++];
        char *q = out[n++];
        for (int i = 0; i < 8; i++) {
            p += sprintf(p, "%s%02x%02x", i ? ":" : "", a[2 * i], a[2 * i + 1]);
            q += sprintf(q, "%s%x", i ? ":" : "", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
        }
    }
    return n;
}

/* The raw values of p, NULL-terminated. */
static void
raw_values(const struct pii *p, const char *v[13])
{
    size_t n = 0;

    v[n++] = p->ip4;
    v[n++] = p->ip4b;
    v[n++] = p->ip4c;
    v[n++] = p->ip6;
    v[n++] = p->ip6b;
    v[n++] = p->user;
    v[n++] = p->user2;
    v[n++] = p->user3;
    v[n++] = p->email;
    v[n++] = p->host;
    v[n++] = p->fqdn;
    v[n] = NULL;
}

/* Number of raw values of p found in out (any case, any form); the first one in *which. */
static size_t
leaks(const struct buf *out, const struct pii *p, const char **which)
{
    char *low = lower_copy(out);
    const char *v[13];
    size_t n = 0;

    raw_values(p, v);
    *which = NULL;
    for (size_t i = 0; v[i] != NULL; i++) {
        char f[3][64];
        size_t nf = forms(v[i], f);
        for (size_t j = 0; j < nf; j++) {
            if (contains_ci(low, out->len, f[j])) {
                if (*which == NULL) {
                    *which = v[i];
                }
                n++;
                break;
            }
        }
    }
    free(low);
    return n;
}

static char tmpdir[256];

static const char *
tpath(const char *name)
{
    static char p[8][512];
    static int k;

    k = (k + 1) % 8;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    char *s;

    if (f == NULL) {
        *len = 0;
        return xstrdup("");
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_append(&b, chunk, n);
    }
    fclose(f);
    *len = b.len;
    s = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return s;
}

static const char profiles_yaml[] =
    "privacy_profiles:\n"
    "  strict:\n"
    "    keep: [rule.*, event.severity, \"@timestamp\", source.ip, destination.port]\n"
    "    pseudonymize: { fields: [user.name, host.name], key_file: %s/strict.key }\n"
    "    ip: { fields: [source.ip, destination.ip], method: prefix_preserving,\n"
    "          key_file: %s/ip.key }\n"
    "    redact_text: [email, ipv4, ipv6, user, hostname]\n"
    "    time_granularity: 1m\n"
    "  strict-truncate:\n"
    "    keep: [rule.*, event.severity, \"@timestamp\", source.ip, destination.port]\n"
    "    pseudonymize: { fields: [user.name, host.name], key_file: %s/strict.key }\n"
    "    ip: { fields: [source.ip, destination.ip], truncate_v4: 24, truncate_v6: 48 }\n"
    "    redact_text: [email, ipv4, ipv6, user, hostname]\n";

static void
write_keys(void)
{
    write_file(tpath("strict.key"),
               "# test key\n9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0\n",
               0600);
    write_file(tpath("ip.key"),
               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 0600);
}

static void
test_property(struct formats_env *env)
{
    struct plugin_instance *inst[NPLUGINS];
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct privacy_set *ps = NULL;
    const char *profile_names[] = {"strict", "strict-truncate"};
    struct buf out = {0}, raw = {0};

    buf_puts(&out, "inputs: [{type: stdin}]\nrules: []\n");
    buf_printf(&out, profiles_yaml, tmpdir, tmpdir, tmpdir);
    write_file(tpath("property.yaml"), buf_cstr(&out), 0600);
    if (!ok(conf_load(tpath("property.yaml"), &conf, &errs) == 0 &&
                privacy_set_new(conf, 0, &ps, &errs) == 0,
            "strict profiles built")) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
        goto out;
    }
    for (size_t k = 0; k < NPLUGINS; k++) {
        inst[k] = formats_instance(env, plugins[k], "");
        if (!ok(inst[k] != NULL, "plugin %s instantiated", plugins[k])) {
            goto out;
        }
    }
    for (size_t pi = 0; pi < 2; pi++) {
        struct privacy_profile *prof = privacy_set_find(ps, profile_names[pi]);
        size_t leaked[NPLUGINS] = {0}, controls[NPLUGINS] = {0}, kept_bad[NPLUGINS] = {0};
        size_t kept_shown[NPLUGINS] = {0}, emit_bad[NPLUGINS] = {0}, field_bad = 0;
        const char *first_leak[NPLUGINS] = {NULL};
        char first_leak_buf[NPLUGINS][64];

        rng_state = UINT64_C(0x2545f4914f6cdd1d) + pi;
        for (int n = 0; n < NALERTS; n++) {
            struct pii p;
            char category[24], port[8];
            struct alert *a, *c;

            gen_pii(&p);
            snprintf(category, sizeof(category), "cat-");
            rnd_word(category + 4, 9);
            snprintf(port, sizeof(port), "%u", rnd(40000, 49999));
            a = gen_alert(&p, category, port);
            c = privacy_apply(prof, a, NULL);
            {
                const struct alert_field *fc = alert_fields_get(&c->fields, "rule.category");
                const struct alert_field *fp = alert_fields_get(&c->fields, "destination.port");
                if (fc == NULL || strcmp(fc->value, category) != 0 || fp == NULL ||
                    strcmp(fp->value, port) != 0) {
                    field_bad++;
                }
            }
            for (size_t k = 0; k < NPLUGINS; k++) {
                const char *which = NULL;
                const char *kept[] = {category, port, NULL};

                buf_reset(&out);
                buf_reset(&raw);
                if (plugin_instance_emit(inst[k], c, &out) != KZ_OK ||
                    plugin_instance_emit(inst[k], a, &raw) != KZ_OK) {
                    emit_bad[k]++;
                    continue;
                }
                plugin_instance_flush(inst[k], &out);
                if (leaks(&out, &p, &which) > 0) {
                    if (first_leak[k] == NULL) {
                        snprintf(first_leak_buf[k], sizeof(first_leak_buf[k]), "%s", which);
                        first_leak[k] = first_leak_buf[k];
                        tap_diag("%s/%s leaks %s in: %.*s", profile_names[pi], plugins[k], which,
                                 (int)(out.len > 3000 ? 3000 : out.len), out.data);
                    }
                    leaked[k]++;
                }
                if (leaks(&raw, &p, &which) > 0) {
                    controls[k]++;
                }
                for (size_t j = 0; kept[j] != NULL; j++) {
                    int in_raw = memmem(raw.data, raw.len, kept[j], strlen(kept[j])) != NULL;
                    int in_out = memmem(out.data, out.len, kept[j], strlen(kept[j])) != NULL;
                    kept_shown[k] += in_out;
                    kept_bad[k] += in_raw && !in_out;
                }
            }
            alert_free(c);
            alert_free(a);
        }
        is_int(field_bad, 0, "allowlisted fields unchanged in every transformed alert");
        for (size_t k = 0; k < NPLUGINS; k++) {
            ok(emit_bad[k] == 0 && leaked[k] == 0,
               "%s, %s: no raw IP, user, e-mail or host name in any case or form in %d "
               "alerts (first leak: %s)",
               profile_names[pi], plugins[k], NALERTS, first_leak[k] ? first_leak[k] : "none");
            ok(controls[k] == NALERTS,
               "%s: control: without the profile every alert shows raw "
               "values (%zu/%d)",
               plugins[k], controls[k], NALERTS);
            ok(kept_bad[k] == 0,
               "%s, %s: allowlisted values shown without the profile are "
               "still shown (%zu shown)",
               profile_names[pi], plugins[k], kept_shown[k]);
        }
        ok(kept_shown[0] == 2 * NALERTS, "json shows every allowlisted value");
    }
    for (size_t k = 0; k < NPLUGINS; k++) {
        plugin_instance_free(inst[k]);
    }
out:
    buf_free(&out);
    buf_free(&raw);
    privacy_set_free(ps);
    conf_free(conf);
    errlist_free(&errs);
}

/* ---- 2. the partner layer ---- */

static char *tags_green[] = {(char *)"tlp.green", (char *)"attack.t1110"};
static char *tags_red[] = {(char *)"tlp:red"};
static struct rule rule_green = {.id = (char *)"r-green",
                                 .title = (char *)"Green",
                                 .level = RULE_LEVEL_HIGH,
                                 .tags = tags_green,
                                 .ntags = 2,
                                 .hash = "1111111111111111",
                                 .kind = RULE_DETECTION};
static struct rule rule_amber = {.id = (char *)"r-amber",
                                 .title = (char *)"Amber",
                                 .level = RULE_LEVEL_HIGH,
                                 .hash = "2222222222222222",
                                 .kind = RULE_DETECTION};
static struct rule rule_red = {.id = (char *)"r-red",
                               .title = (char *)"Red",
                               .level = RULE_LEVEL_HIGH,
                               .tags = tags_red,
                               .ntags = 1,
                               .hash = "3333333333333333",
                               .kind = RULE_DETECTION};

/* TLP markings per format (green, amber), as test-formats.c states them. */
static const char *const marks[NPLUGINS][2] = {
    {"\"tlp\":\"green\"", "\"tlp\":\"amber\""},
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
     "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"},
    {"{\"name\":\"tlp:green\"", "{\"name\":\"tlp:amber\""},
    {"meaning=\"tlp\"><string>green</string>", "meaning=\"tlp\"><string>amber</string>"},
    {"restriction=\"green\"", "restriction=\"amber\""},
    {"cs5=green cs5Label=tlp", "cs5=amber cs5Label=tlp"},
    {"\"tlp\":\"green\"", "\"tlp\":\"amber\""},
    {"tlp=\"green\"", "tlp=\"amber\""},
};

struct files_wait {
    size_t want;
};

static int
records_arrived(void *arg)
{
    struct files_wait *w = arg;
    size_t got = 0;

    for (size_t k = 0; k < NPLUGINS; k++) {
        char name[64];
        size_t len;
        char *s;
        snprintf(name, sizeof(name), "out-%s", plugins[k]);
        s = read_file(tpath(name), &len);
        got += len > 0 && strstr(s, "r-green") != NULL && strstr(s, "r-amber") != NULL;
        free(s);
    }
    return got == w->want;
}

static size_t
count_str(const char *s, const char *needle)
{
    size_t n = 0;

    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

static int stopped;

static void
stop_cb(void *arg)
{
    stopped = 1;
}

static int
is_stopped(void *arg)
{
    return stopped;
}

static void
test_partners(struct formats_env *env)
{
    struct buf y = {0};
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct output_set *os = NULL;
    uv_loop_t loop;
    struct files_wait w = {NPLUGINS};
    struct pii p;
    struct alert *green, *amber, *red;
    char *audit, *json;
    size_t len;

    uv_loop_init(&loop);
    buf_printf(&y,
               "inputs: [{type: stdin}]\nrules: []\nstate_dir: %s/state\n"
               "default_tlp: amber\naudit: { path: %s/audit.ndjson }\n",
               tmpdir, tmpdir);
    buf_printf(&y, profiles_yaml, tmpdir, tmpdir, tmpdir);
    buf_puts(&y, "partners:\n");
    for (size_t k = 0; k < NPLUGINS; k++) {
        buf_printf(&y,
                   "  - name: p-%s\n    format: %s\n    privacy: strict\n    tlp: amber\n"
                   "    deliver: { type: file, path: %s/out-%s }\n",
                   plugins[k], plugins[k], tmpdir, plugins[k]);
    }
    buf_printf(&y,
               "  - name: green-only\n    format: json\n    privacy: strict-truncate\n"
               "    tlp: green\n    deliver: { type: file, path: %s/out-green }\n"
               "outputs:\n  - name: local\n    plugin: json\n    path: %s/local.ndjson\n",
               tmpdir, tmpdir);
    write_file(tpath("partners.yaml"), buf_cstr(&y), 0600);
    buf_free(&y);
    if (!ok(conf_load(tpath("partners.yaml"), &conf, &errs) == 0 &&
                output_set_new(conf, env->reg, &loop, 0, NULL, &os, &errs) == 0,
            "output set with 9 partners under privacy profiles and a local output")) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
        goto out;
    }
    rng_state = 77;
    gen_pii(&p);
    green = gen_alert(&p, "cat-green", "41001");
    amber = gen_alert(&p, "cat-amber", "41002");
    red = gen_alert(&p, "cat-red", "41003");
    green->rule = &rule_green;
    amber->rule = &rule_amber;
    red->rule = &rule_red;
    alert_compute_id(green, "g", 1);
    alert_compute_id(amber, "a", 1);
    alert_compute_id(red, "r", 1);
    output_set_emit(os, green);
    output_set_emit(os, amber);
    output_set_emit(os, red);
    output_set_flush(os);
    ok(dt_run_until(&loop, records_arrived, &w, 10000),
       "every format partner received the green and the amber alert");

    for (size_t k = 0; k < NPLUGINS; k++) {
        char name[64];
        char *s;
        const char *which = NULL;
        struct buf b = {0};

        snprintf(name, sizeof(name), "out-%s", plugins[k]);
        s = read_file(tpath(name), &len);
        ok(strstr(s, marks[k][0]) != NULL && strstr(s, marks[k][1]) != NULL,
           "%s: TLP:GREEN and TLP:AMBER marked (%s)", plugins[k], marks[k][0]);
        ok(strstr(s, "r-red") == NULL, "%s: the TLP:RED alert is withheld", plugins[k]);
        buf_append(&b, s, len);
        ok(leaks(&b, &p, &which) == 0, "%s: delivered bytes carry no raw personal data (%s)",
           plugins[k], which ? which : "none");
        buf_free(&b);
        free(s);
    }
    audit = read_file(tpath("audit.ndjson"), &len);
    is_int(count_str(audit, "\n"), 2 * NPLUGINS + 1 + 3,
           "audit: one line per delivery "
           "(8 partners x 2, green-only x 1, local x 3)");
    is_int(count_str(audit, "\"rule\":\"r-red\""), 1,
           "audit: the red alert only for the local "
           "output");
    ok(strstr(audit, "\"partner\":\"local\",\"format\":\"json\"") != NULL &&
           count_str(audit, "\"result\":\"written\"") == 3 &&
           count_str(audit, "\"result\":\"spooled\"") == 2 * NPLUGINS + 1,
       "audit: written for the local output, spooled for partners");
    ok(strstr(audit, "\"partner\":\"green-only\",\"format\":\"json\",\"alert_id\":\"") != NULL &&
           count_str(audit, "\"partner\":\"green-only\"") == 1,
       "audit: green-only got the green alert only");
    {
        char *needle =
            xasprintf("\"partner\":\"p-json\",\"format\":\"json\",\"alert_id\":\"%s\"", green->id);
        char *id_line = strstr(audit, needle);
        char shared[40] = "";
        free(needle);
        if (id_line != NULL) {
            sscanf(strstr(id_line, "\"shared_id\":\"") + 13, "%32[0-9a-f]", shared);
        }
        json = read_file(tpath("out-json"), &len);
        needle = xasprintf("\"alert_id\":\"%s\"", shared);
        ok(id_line != NULL && strlen(shared) == 32 && strcmp(shared, green->id) != 0 &&
               strstr(json, needle) != NULL && strstr(json, green->id) == NULL,
           "audit: the shared id is the one the partner sees, not the local one");
        free(needle);
        free(json);
    }
    ok(strstr(audit, "\"profile\":\"strict\",\"profile_hash\":\"") != NULL &&
           strstr(audit, "\"dropped\":[\"source.port\",\"client.ip\",\"user.target.name\","
                         "\"user.email\",\"related.user\",\"destination.domain\","
                         "\"process.name\",\"kizuna.source\"]") != NULL &&
           strstr(audit, "\"user.name\":\"pseudonym\"") != NULL,
       "audit: profile, hash, dropped and transformed field names");
    {
        const char *v[13];
        raw_values(&p, v);
        len = 0;
        for (size_t i = 0; v[i] != NULL; i++) {
            len += strstr(audit, v[i]) != NULL;
        }
        is_int(len, 0, "audit: no value of any field");
    }
    free(audit);
    alert_free(green);
    alert_free(amber);
    alert_free(red);
    output_set_stop(os, stop_cb, NULL);
    ok(dt_run_until(&loop, is_stopped, NULL, 10000), "partners stopped");
out:
    output_set_free(os);
    conf_free(conf);
    errlist_free(&errs);
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
}

/* ---- 3. a full spool: pending, then spooled ---- */

struct audit_wait {
    size_t want;
};

static int
all_spooled(void *arg)
{
    struct audit_wait *w = arg;
    size_t len;
    char *a = read_file(tpath("audit-slow.ndjson"), &len);
    size_t n = count_str(a, "\"result\":\"spooled\"");

    free(a);
    return n >= w->want;
}

static void
test_pending(struct formats_env *env)
{
    struct buf y = {0};
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct output_set *os = NULL;
    uv_loop_t loop;
    struct audit_wait w = {0};
    struct dt_sink sink;
    size_t emitted = 0, len, npending, order_bad = 0;
    char *audit;

    if (dt_sink_start(&sink, "http", NULL) != 0) {
        tap_skip(1, "no loopback HTTP sink (python3)");
        return;
    }
    dt_sink_cmd(&sink, "default 500");
    uv_loop_init(&loop);
    buf_printf(&y,
               "inputs: [{type: stdin}]\nrules: []\nstate_dir: %s/state-slow\n"
               "audit: { path: %s/audit-slow.ndjson }\n",
               tmpdir, tmpdir);
    buf_printf(&y, profiles_yaml, tmpdir, tmpdir, tmpdir);
    /* The partner answers 500 until told otherwise: the small spool fills. */
    buf_printf(&y,
               "partners:\n  - name: slow\n    format: json\n    privacy: strict\n"
               "    tlp: red\n    deliver: { type: http, url: \"http://127.0.0.1:%d/x\",\n"
               "      retry: { initial: 5ms, max: 20ms }, drain_timeout: 200ms,\n"
               "      spool: { max_bytes: 64k, segment_bytes: 16k, max_record: 8k } }\n",
               sink.port);
    write_file(tpath("slow.yaml"), buf_cstr(&y), 0600);
    buf_free(&y);
    if (!ok(conf_load(tpath("slow.yaml"), &conf, &errs) == 0 &&
                output_set_new(conf, env->reg, &loop, 0, NULL, &os, &errs) == 0,
            "partner with a small spool, answering 500")) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
        goto out;
    }
    rng_state = 99;
    while (output_set_writable(os) && emitted < 1000) {
        struct pii p;
        struct alert *a;
        char key[32];
        gen_pii(&p);
        a = gen_alert(&p, "cat-slow", "41010");
        snprintf(key, sizeof(key), "k%zu", emitted);
        alert_compute_id(a, key, 1);
        output_set_emit(os, a);
        alert_free(a);
        emitted++;
    }
    /* Two more while it refuses: they wait in memory too. */
    for (int i = 0; i < 2; i++) {
        struct pii p;
        struct alert *a;
        gen_pii(&p);
        a = gen_alert(&p, "cat-slow", "41010");
        alert_compute_id(a, i ? "late-1" : "late-0", 1);
        output_set_emit(os, a);
        alert_free(a);
        emitted++;
    }
    audit = read_file(tpath("audit-slow.ndjson"), &len);
    npending = count_str(audit, "\"result\":\"pending\"");
    ok(!output_set_writable(os) && npending >= 3 &&
           count_str(audit, "\"result\":\"spooled\"") == emitted - npending,
       "spool full after %zu alerts: %zu audit lines say pending, the others spooled", emitted,
       npending);
    free(audit);
    dt_sink_cmd(&sink, "default 200");
    w.want = emitted;
    ok(dt_run_until(&loop, all_spooled, &w, 30000),
       "once the partner accepts, every pending alert is spooled and audited as such");
    audit = read_file(tpath("audit-slow.ndjson"), &len);
    is_int(count_str(audit, "\n"), emitted + npending,
           "audit: one line per alert, plus one per pending alert when it was spooled");
    /* Each pending id has its spooled line after its pending line. */
    for (const char *p = audit; (p = strstr(p, "\"result\":\"pending\"")) != NULL; p++) {
        const char *bol = p;
        char id[40] = "", *needle;
        const char *sp;
        while (bol > audit && bol[-1] != '\n') {
            bol--;
        }
        sscanf(strstr(bol, "\"shared_id\":\"") + 13, "%32[0-9a-f]", id);
        needle = xasprintf("\"shared_id\":\"%s\"", id);
        sp = strstr(p, needle);
        order_bad += sp == NULL || strstr(sp, "\"result\":\"spooled\"") == NULL;
        free(needle);
    }
    is_int(order_bad, 0, "every pending line is followed by a spooled line for the same alert");
    free(audit);

    /* Full again, and shut down: what waits in memory is audited as refused. */
    dt_sink_cmd(&sink, "default 500");
    for (size_t extra = 0; extra < 2 || output_set_writable(os); emitted++) {
        struct pii p;
        struct alert *a;
        char key[32];
        extra += !output_set_writable(os);
        gen_pii(&p);
        a = gen_alert(&p, "cat-slow", "41010");
        snprintf(key, sizeof(key), "again%zu", emitted);
        alert_compute_id(a, key, 1);
        output_set_emit(os, a);
        alert_free(a);
    }
    audit = read_file(tpath("audit-slow.ndjson"), &len);
    npending = count_str(audit, "\"result\":\"pending\"") - npending;
    free(audit);
    stopped = 0;
    output_set_stop(os, stop_cb, NULL);
    ok(dt_run_until(&loop, is_stopped, NULL, 10000), "partner stopped");
    audit = read_file(tpath("audit-slow.ndjson"), &len);
    ok(npending >= 2 && count_str(audit, "\"result\":\"refused\"") == npending,
       "alerts still waiting at shutdown are audited as refused (%zu)", npending);
    free(audit);
out:
    output_set_free(os);
    conf_free(conf);
    errlist_free(&errs);
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
    dt_sink_stop(&sink);
}

int
main(void)
{
    struct formats_env env;
    const char *t = getenv("TMPDIR");

    umask(022);
    snprintf(tmpdir, sizeof(tmpdir), "%s/kz-privacy-formats.XXXXXX", t && t[0] ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        tap_diag("mkdtemp: %s", strerror(errno));
        return 1;
    }
    if (formats_env_open(&env, plugins, NPLUGINS) != 0) {
        tap_skip(1, "plugins not built");
        return tap_done();
    }
    write_keys();
    test_property(&env);
    test_partners(&env);
    test_pending(&env);
    formats_yaml_free();
    formats_env_close(&env);
    {
        char *cmd = xasprintf("rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            tap_diag("could not remove %s", tmpdir);
        }
        free(cmd);
    }
    return tap_done();
}
