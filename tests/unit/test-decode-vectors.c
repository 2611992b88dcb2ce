/*
 * Third-party test vectors for the decoders (tests/data/decode, MIT): every line of jc's
 * cef.out, syslog-3164.out and syslog-5424.out against jc's expected parse (the .json files),
 * and guemues/CEF-parser's cef.log against its out.json. Their key names are mapped to
 * ours; where kizuna deliberately decodes differently, the `deviations` table asserts our
 * value instead and says why. The expected .json files are read with decode_json() itself
 * (tested on its own in test-decode.c), which flattens them in document order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "event.h"
#include "tap.h"
#include "timeutil.h"

#define NOW_US 1780272000000000LL /* 2026-06-01T00:00:00Z: the year for year-less dates */
#define MAXREC 64

struct span {
    const char *p;
    size_t n;
};

/*
 * Where we decode differently from the expected output, on purpose. file/record/key name
 * their value (key: one key or several separated by spaces; "" for a field of ours they
 * have no key for); our field must then hold value. field NULL: we have no field for
 * their key at all (cef.ext.<key> is absent).
 */
static const struct deviation {
    const char *file;
    int record;
    const char *key;
    const char *field;
    const char *value;
    const char *why;
} deviations[] = {
    /* jc cef.json */
    {"jc/cef.json", 0, "", "cef.ext.msg",
     "EventID=1845921387423247329  IncidentID=1845921507147395878 "
     "Tagkey=192.168.100.1:59840:192.168.100.21:1836840592250413230  AttackerIP=192.168.100.1 "
     "AttackerPort=59840 VictimIP=192.168.100.21 VictimPort=445 Operation=Logon_via_net_share "
     "Service=SAMBA Username=glen Password=lovely Description=\"SAMBA Login with password: "
     "lovely\"",
     "msg=\"...\" is one quoted value (our leniency for quoted values), not key=value pairs "
     "inside it; jc drops msg and lifts its contents to top-level keys"},
    {"jc/cef.json", 0,
     "EventID IncidentID Tagkey AttackerIP AttackerPort VictimIP VictimPort Operation Service "
     "Username Password Description",
     NULL, NULL, "these are inside the quoted msg value (see cef.ext.msg)"},
    {"jc/cef.json", 1,
     "EventID IncidentID Tagkey AttackerIP AttackerPort VictimIP VictimPort Operation Service "
     "Username Password Description",
     NULL, NULL, "these are inside the quoted msg value (see cef.ext.msg)"},
    {"jc/cef.json", 1, "", "cef.ext.msg",
     "EventID=1845921387423247329  IncidentID=1845921507147395878 "
     "Tagkey=192.168.100.1:59840:192.168.100.21:1836840592250413230  AttackerIP=192.168.100.1 "
     "AttackerPort=59840 VictimIP=192.168.100.21 VictimPort=445 Operation=Logon_via_net_share "
     "Service=SAMBA Username=glen Password=lovely Description=\"this is a description\"",
     "same as record 0"},
    {"jc/cef.json", 2, "string", "cef.ext.string",
     "hello \\\"world\\\" this is a backslash: \\ and this is a bracket \\]!",
     "CEF escapes only \\\\ \\= \\n \\r in extension values; \\\" and \\] are not CEF escapes, "
     "so the backslash is kept (jc also unescapes syslog SD escapes)"},
    {"jc/cef.json", 3, "TrendMicroDsMalwareTarget", "cef.ext.TrendMicroDsMalwareTarget", "N/A",
     "same value; listed because the next key differs"},
    {"jc/cef.json", 3, "N_TrendMicroDsFileMD5", "cef.ext.TrendMicroDsMalwareTargetType",
     "N/TrendMicroDsFileMD5=44D88612FEA8A8F36DE82E1278ABB02F",
     "'/' is not a key character, so \"N/TrendMicroDsFileMD5=\" does not start a pair: the "
     "value of TrendMicroDsMalwareTargetType runs to the next \" key=\" (jc invents the key "
     "N_TrendMicroDsFileMD5 and loses TrendMicroDsMalwareTargetType)"},
    {"jc/cef.json", 4, "string", "cef.ext.string",
     "hello \\\"world\\\" this is a backslash: \\ and this is a bracket \\] this is equal =, "
     "this is pipe \\|, this is newline \n and another newline \n the end!",
     "\\= \\\\ \\n are unescaped; \\\" \\] \\| are not CEF extension escapes and keep their "
     "backslash"},
    {"jc/cef.json", 5, "string", "cef.ext.string",
     "hello \\\"world\\\" this is a backslash: \\ and this is a bracket \\]!", "as record 2"},
    {"jc/cef.json", 10, "", "@timestamp", "2021-06-18T10:55:50.000003Z",
     "we also decode the RFC 5424 header in front of CEF:"},
    {"jc/cef.json", 10, "", "host.name", "host", "the RFC 5424 HOSTNAME"},
    {"jc/cef.json", 11, "", "@timestamp", "2017-12-03T11:01:28.861000Z",
     "we also decode the \"Mmm dd yyyy HH:MM:SS.fff IST\" header (IST = +05:30)"},
    {"jc/cef.json", 11, "", "host.name", "10.17.4.208", "the header's host"},
    {"jc/cef.json", 13, "", "@timestamp", "2014-11-19T12:51:13.000000Z",
     "rt=\"Nov 19, 2014 18:21:13 IST\" is the event time (jc's rt_epoch is null)"},
    /* jc syslog-3164.json */
    {"jc/syslog-3164.json", 21, "tag", "process.name", "sshd(pam_unix)",
     "the TAG runs to '[', ':' or a space, so \"sshd(pam_unix)\" is the process name (jc "
     "stops at '(')"},
    {"jc/syslog-3164.json", 21, "content", "message", "session opened for user tom by "
     "(uid=35567)", "the \"[21839]: \" after the TAG is process.pid, not message"},
    {"jc/syslog-3164.json", 21, "", "process.pid", "21839", "the [PID] after the TAG"},
    /* guemues out.json */
    {"guemues-CEF-parser/out.json", 0, "CEFVersion", "cef.version", "0",
     "their parser leaves the syslog header \"Sep 19 08:26:10 host\" in front of the "
     "version; we decode the header into @timestamp and host.name"},
    {"guemues-CEF-parser/out.json", 0, "", "host.name", "host", "the RFC 3164 HOSTNAME"},
    {"guemues-CEF-parser/out.json", 0, "", "@timestamp", "2025-09-19T08:26:10.000000Z",
     "the RFC 3164 TIMESTAMP; the year is inferred from ctx->now_us (2026-06-01)"},
};

/* Their keys that are derived values (type conversions, epochs), not in the input. */
static int
derived_key(const char *k, size_t n)
{
    static const char *const names[] = {"agentSeverityString", "agentSeverityNum",
                                        "deviceEventClassIdNum", "timestamp_epoch",
                                        "timestamp_epoch_utc"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0) {
            return 1;
        }
    }
    return (n > 6 && memcmp(k + n - 6, "_epoch", 6) == 0) ||
           (n > 10 && memcmp(k + n - 10, "_epoch_utc", 10) == 0);
}

static char *
read_file(const char *rel, size_t *len)
{
    const char *top = getenv("top_srcdir");
    char path[1024];
    FILE *f;
    char *buf;
    long sz;

    snprintf(path, sizeof(path), "%s/tests/data/decode/%s", top != NULL ? top : KZ_SRCDIR,
             rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        tap_diag("cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)sz + 1);
    *len = fread(buf, 1, (size_t)sz, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* The non-blank lines of buf (jc skips blank lines). */
static int
split_lines(const char *buf, size_t len, struct span *out, int max)
{
    int n = 0;
    size_t i = 0;

    while (i < len && n < max) {
        size_t j = i;
        while (j < len && buf[j] != '\n') {
            j++;
        }
        if (j > i) {
            out[n].p = buf + i;
            out[n].n = j - i;
            n++;
        }
        i = j + 1;
    }
    return n;
}

/* The objects of a top-level JSON array (or the single top-level object). */
static int
split_objects(const char *buf, size_t len, struct span *out, int max)
{
    int n = 0, depth = 0, in_str = 0;
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{') {
            if (depth++ == 0) {
                start = i;
            }
        } else if (c == '}' && --depth == 0 && n < max) {
            out[n].p = buf + start;
            out[n].n = i + 1 - start;
            n++;
        }
    }
    return n;
}

/* Flatten one expected object with our JSON decoder (pretty-printed: newlines are fine). */
static int
load_expected(struct event *ev, struct span s)
{
    struct decode_ctx ctx = {NOW_US, 0};
    char err[200];

    event_reset(ev);
    ev->max_fields = 4096;
    if (decode_json(ev, s.p, s.n, &ctx, err, sizeof(err)) != 0) {
        tap_diag("expected output does not parse: %s", err);
        return -1;
    }
    return 0;
}

static int
values_equal(const char *ours, const char *theirs)
{
    char *e1, *e2;
    double a, b;

    if (strcmp(ours, theirs) == 0) {
        return 1;
    }
    a = strtod(ours, &e1);
    b = strtod(theirs, &e2);
    return *ours != '\0' && *e1 == '\0' && *theirs != '\0' && *e2 == '\0' && a == b;
}

/* 1 if some field of that name has that value. */
static int
has_value(const struct event *ev, const char *name, const char *value)
{
    size_t n = strlen(name);
    const struct event_field *f = event_find(ev, name, n, event_name_hash(name, n));

    for (; f != NULL; f = event_find_next(ev, f)) {
        if (values_equal(f->value, value)) {
            return 1;
        }
    }
    return 0;
}

static const char *
value_of(const struct event *ev, const char *name)
{
    const struct event_field *f = event_get(ev, name);

    return f != NULL ? f->value : NULL;
}

static const struct deviation *
find_deviation(const char *file, int rec, const char *key, size_t key_len)
{
    for (size_t i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++) {
        const struct deviation *d = &deviations[i];
        const char *k = d->key;
        if (strcmp(d->file, file) != 0 || d->record != rec) {
            continue;
        }
        while (*k != '\0') {
            size_t n = strcspn(k, " ");
            if (n == key_len && memcmp(k, key, key_len) == 0) {
                return d;
            }
            k += n;
            k += *k == ' ';
        }
    }
    return NULL;
}

/* Assert the deviations of a record that are not tied to one of their keys. */
static void
check_extra_deviations(const char *file, int rec, const struct event *ours)
{
    for (size_t i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++) {
        const struct deviation *d = &deviations[i];
        if (strcmp(d->file, file) == 0 && d->record == rec && d->key[0] == '\0') {
            is_str(value_of(ours, d->field), d->value, d->field);
            tap_diag("  deviation (%s #%d): %s", file, rec, d->why);
        }
    }
}

static void
check_deviation(const struct deviation *d, const struct event *ours, int rec, const char *key)
{
    char what[400], field[300];

    if (d->field == NULL) {
        snprintf(field, sizeof(field), "cef.ext.%s", key);
        ok(event_get(ours, field) == NULL, "%s #%d %s: deviation, we have no %s", d->file, rec,
           key, field);
    } else {
        snprintf(what, sizeof(what), "%s #%d %s: deviation, ours %s", d->file, rec, key,
                 d->field);
        is_str(value_of(ours, d->field), d->value, what);
    }
    tap_diag("  why: %s", d->why);
}

/* "a.b-c" -> "a_b_c", as jc renames keys. */
static void
normalize(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[o++] = alnum ? c : '_';
    }
    out[o] = '\0';
}

/*
 * Our field for one of their CEF keys: the header names, cef.ext.<key>, an extension key
 * that jc renamed (special characters -> '_'), or a custom field relabelled by jc from its
 * <key>Label (cn1Label=Host ID -> "Host_ID"). Returns 0 and the name in out, or -1.
 */
static int
cef_our_field(const struct event *ours, const char *key, size_t key_len, char *out,
              size_t outlen)
{
    static const char *const map[][2] = {
        {"deviceVendor", "cef.device_vendor"},     {"DeviceVendor", "cef.device_vendor"},
        {"deviceProduct", "cef.device_product"},   {"DeviceProduct", "cef.device_product"},
        {"deviceVersion", "cef.device_version"},   {"DeviceVersion", "cef.device_version"},
        {"deviceEventClassId", "cef.signature_id"}, {"SignatureID", "cef.signature_id"},
        {"name", "cef.name"},                      {"Name", "cef.name"},
        {"agentSeverity", "cef.severity"},         {"Severity", "cef.severity"},
        {"CEFVersion", "cef.version"},
    };
    char k[200], norm[256];

    snprintf(k, sizeof(k), "%.*s", (int)key_len, key);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i][0], k) == 0) {
            snprintf(out, outlen, "%s", map[i][1]);
            return 0;
        }
    }
    snprintf(out, outlen, "cef.ext.%s", k);
    if (event_get(ours, out) != NULL) {
        return 0;
    }
    for (uint32_t i = 0; i < ours->nfields; i++) {
        const struct event_field *f = &ours->fields[i];
        if (f->name_len <= 8 || memcmp(f->name, "cef.ext.", 8) != 0) {
            continue;
        }
        normalize(f->name + 8, f->name_len - 8, norm, sizeof(norm));
        if (strcmp(norm, k) == 0) {
            snprintf(out, outlen, "%s", f->name);
            return 0;
        }
        if (f->name_len > 13 && memcmp(f->name + f->name_len - 5, "Label", 5) == 0) {
            normalize(f->value, f->value_len, norm, sizeof(norm));
            if (strcmp(norm, k) == 0) {
                snprintf(out, outlen, "%.*s", (int)(f->name_len - 5), f->name);
                return 0;
            }
        }
    }
    return -1;
}

/* One CEF vector file against its expected output. */
static void
test_cef(const char *in_file, const char *exp_file)
{
    struct span lines[MAXREC], recs[MAXREC];
    size_t in_len, exp_len;
    char *in = read_file(in_file, &in_len), *exp = read_file(exp_file, &exp_len);
    struct decode_ctx ctx = {NOW_US, 0};
    struct event ours, theirs;
    int nl, nr;
    char err[200];

    if (!ok(in != NULL && exp != NULL, "%s and %s readable", in_file, exp_file)) {
        free(in);
        free(exp);
        return;
    }
    nl = split_lines(in, in_len, lines, MAXREC);
    nr = split_objects(exp, exp_len, recs, MAXREC);
    is_int(nl, nr, "one expected record per non-blank line");
    event_init(&ours);
    event_init(&theirs);
    for (int r = 0; r < nl && r < nr; r++) {
        char *line = malloc(lines[r].n);
        int rc;

        memcpy(line, lines[r].p, lines[r].n);
        event_reset(&ours);
        ours.arrival_us = NOW_US;
        rc = decode_cef(&ours, line, lines[r].n, &ctx, err, sizeof(err));
        free(line);
        if (load_expected(&theirs, recs[r]) != 0) {
            ok(0, "%s #%d: expected record parses", exp_file, r);
            continue;
        }
        if (event_get(&theirs, "unparsable") != NULL) {
            ok(rc == -1, "%s #%d: unparsable for them, refused by us (%s)", in_file, r, err);
            continue;
        }
        if (!ok(rc == 0, "%s #%d: decodes", in_file, r)) {
            tap_diag("error: %s", err);
            continue;
        }
        for (uint32_t i = 0; i < theirs.nfields; i++) {
            const struct event_field *t = &theirs.fields[i];
            const struct deviation *d;
            char field[300];
            if (strcmp(t->name, "event.original") == 0 || strcmp(t->name, "@timestamp") == 0 ||
                derived_key(t->name, t->name_len)) {
                continue;
            }
            if ((d = find_deviation(exp_file, r, t->name, t->name_len)) != NULL) {
                check_deviation(d, &ours, r, t->name);
                continue;
            }
            if (cef_our_field(&ours, t->name, t->name_len, field, sizeof(field)) != 0) {
                ok(0, "%s #%d: their key %s has a field of ours", exp_file, r, t->name);
                continue;
            }
            if (!ok(has_value(&ours, field, t->value), "%s #%d: %s -> %s", exp_file, r,
                    t->name, field)) {
                tap_diag("  theirs: '%s'  ours: '%s'", t->value,
                         value_of(&ours, field) ? value_of(&ours, field) : "(none)");
            }
        }
        check_extra_deviations(exp_file, r, &ours);
    }
    event_free(&ours);
    event_free(&theirs);
    free(in);
    free(exp);
}

static const char *const months = "JanFebMarAprMayJunJulAugSepOctNovDec";

/*
 * Our @timestamp for jc's year-less "Mmm dd HH:MM:SS": with now = 2026-06-01 the year is
 * 2026 up to Jul 2 (31 days ahead) and 2025 after.
 */
static void
bsd_expected(const char *date, char *out, size_t outlen)
{
    int mon = (int)((strstr(months, (char[4]){date[0], date[1], date[2], 0}) - months) / 3) + 1;
    int day = atoi(date + 4);
    int year = mon * 100 + day <= 702 ? 2026 : 2025;

    snprintf(out, outlen, "%d-%02d-%02dT%.8s.000000Z", year, mon, day, date + 7);
}

/* Decode line r of a syslog vector file; returns the decoder's result. */
static int
decode_vector_line(struct event *ours, struct span line, char *err, size_t errlen)
{
    struct decode_ctx ctx = {NOW_US, 0};
    char *buf = malloc(line.n);
    int rc;

    memcpy(buf, line.p, line.n);
    event_reset(ours);
    ours->arrival_us = NOW_US;
    rc = decode_syslog(ours, buf, line.n, &ctx, err, errlen);
    free(buf);
    return rc;
}

/* A field of theirs against a field of ours; a missing one of theirs (null) must be absent. */
static void
expect_field(const char *file, int r, const struct event *ours, const struct event *theirs,
             const char *key, const char *field)
{
    const char *want = value_of(theirs, key);
    const struct deviation *d = find_deviation(file, r, key, strlen(key));

    if (d != NULL) {
        check_deviation(d, ours, r, key);
    } else if (want == NULL) {
        ok(event_get(ours, field) == NULL, "%s #%d: %s null, no %s", file, r, key, field);
    } else if (!ok(has_value(ours, field, want), "%s #%d: %s -> %s", file, r, key, field)) {
        tap_diag("  theirs: '%s'  ours: '%s'", want,
                 value_of(ours, field) ? value_of(ours, field) : "(none)");
    }
}

static void
test_syslog_3164(void)
{
    const char *in_file = "jc/syslog-3164.out", *exp_file = "jc/syslog-3164.json";
    struct span lines[MAXREC], recs[MAXREC];
    size_t in_len, exp_len;
    char *in = read_file(in_file, &in_len), *exp = read_file(exp_file, &exp_len);
    struct event ours, theirs;
    char err[200], want[64];
    int nl, nr;

    if (!ok(in != NULL && exp != NULL, "%s and %s readable", in_file, exp_file)) {
        free(in);
        free(exp);
        return;
    }
    nl = split_lines(in, in_len, lines, MAXREC);
    nr = split_objects(exp, exp_len, recs, MAXREC);
    is_int(nl, nr, "one expected record per non-blank line");
    event_init(&ours);
    event_init(&theirs);
    for (int r = 0; r < nl && r < nr; r++) {
        int rc = decode_vector_line(&ours, lines[r], err, sizeof(err));
        const char *content, *date;
        if (load_expected(&theirs, recs[r]) != 0) {
            ok(0, "%s #%d: expected record parses", exp_file, r);
            continue;
        }
        if (event_get(&theirs, "unparsable") != NULL) {
            ok(rc == -1, "%s #%d: unparsable for them, refused by us (%s)", in_file, r, err);
            continue;
        }
        if (!ok(rc == 0, "%s #%d: decodes", in_file, r)) {
            tap_diag("error: %s", err);
            continue;
        }
        expect_field(exp_file, r, &ours, &theirs, "priority", "log.syslog.priority");
        expect_field(exp_file, r, &ours, &theirs, "hostname", "host.name");
        expect_field(exp_file, r, &ours, &theirs, "tag", "process.name");
        date = value_of(&theirs, "date");
        if (date != NULL && strlen(date) == 15) {
            bsd_expected(date, want, sizeof(want));
            is_str(value_of(&ours, "@timestamp"), want, "  date -> @timestamp (year inferred)");
        }
        /*
         * jc leaves "[PID]: " at the start of content; we split it into process.pid and
         * message. Everything else of content is our message.
         */
        content = value_of(&theirs, "content");
        if (content != NULL && content[0] == '[' && find_deviation(exp_file, r, "content", 7) ==
                                                        NULL) {
            const char *close = strstr(content, "]: ");
            char pid[32];
            snprintf(pid, sizeof(pid), "%.*s", (int)(close - content - 1), content + 1);
            is_str(value_of(&ours, "process.pid"), pid, "  [PID] of content -> process.pid");
            is_str(value_of(&ours, "message"), close + 3, "  rest of content -> message");
        } else {
            expect_field(exp_file, r, &ours, &theirs, "content", "message");
        }
        check_extra_deviations(exp_file, r, &ours);
    }
    event_free(&ours);
    event_free(&theirs);
    free(in);
    free(exp);
}

static void
test_syslog_5424(void)
{
    const char *in_file = "jc/syslog-5424.out", *exp_file = "jc/syslog-5424.json";
    struct span lines[MAXREC], recs[MAXREC];
    size_t in_len, exp_len;
    char *in = read_file(in_file, &in_len), *exp = read_file(exp_file, &exp_len);
    struct event ours, theirs;
    char err[200];
    int nl, nr;

    if (!ok(in != NULL && exp != NULL, "%s and %s readable", in_file, exp_file)) {
        free(in);
        free(exp);
        return;
    }
    nl = split_lines(in, in_len, lines, MAXREC);
    nr = split_objects(exp, exp_len, recs, MAXREC);
    is_int(nl, nr, "one expected record per non-blank line");
    event_init(&ours);
    event_init(&theirs);
    for (int r = 0; r < nl && r < nr; r++) {
        int rc = decode_vector_line(&ours, lines[r], err, sizeof(err));
        const char *ts, *identity = NULL;
        int theirs_sd = 0, ours_sd = 0;
        if (load_expected(&theirs, recs[r]) != 0) {
            ok(0, "%s #%d: expected record parses", exp_file, r);
            continue;
        }
        if (event_get(&theirs, "unparsable") != NULL) {
            ok(rc == -1, "%s #%d: unparsable for them, refused by us (%s)", in_file, r, err);
            continue;
        }
        if (!ok(rc == 0, "%s #%d: decodes", in_file, r)) {
            tap_diag("error: %s", err);
            continue;
        }
        expect_field(exp_file, r, &ours, &theirs, "priority", "log.syslog.priority");
        expect_field(exp_file, r, &ours, &theirs, "version", "log.syslog.version");
        expect_field(exp_file, r, &ours, &theirs, "hostname", "host.name");
        expect_field(exp_file, r, &ours, &theirs, "appname", "log.syslog.appname");
        expect_field(exp_file, r, &ours, &theirs, "proc_id", "log.syslog.procid");
        expect_field(exp_file, r, &ours, &theirs, "msg_id", "log.syslog.msgid");
        expect_field(exp_file, r, &ours, &theirs, "message", "message");
        ts = value_of(&theirs, "timestamp");
        if (ts == NULL) {
            ok(ours.time_from_arrival == 1, "%s #%d: timestamp null, time from arrival",
               exp_file, r);
        } else {
            int64_t us = 0;
            ok(time_parse_rfc3339(ts, strlen(ts), &us) == 0 && us == ours.time_us &&
                   !ours.time_from_arrival,
               "%s #%d: timestamp %s is the event time", exp_file, r, ts);
        }
        /* structured_data: [{identity, parameters: {...}}] -> sd.<identity>.<param>. */
        for (uint32_t i = 0; i < theirs.nfields; i++) {
            const struct event_field *t = &theirs.fields[i];
            char field[300];
            if (strcmp(t->name, "structured_data.identity") == 0) {
                identity = t->value;
            } else if (strncmp(t->name, "structured_data.parameters.", 27) == 0) {
                snprintf(field, sizeof(field), "sd.%s.%s", identity, t->name + 27);
                is_str(value_of(&ours, field), t->value, field);
                theirs_sd++;
            }
        }
        for (uint32_t i = 0; i < ours.nfields; i++) {
            ours_sd += strncmp(ours.fields[i].name, "sd.", 3) == 0;
        }
        is_int(ours_sd, theirs_sd, "  as many SD parameters as theirs");
        check_extra_deviations(exp_file, r, &ours);
    }
    event_free(&ours);
    event_free(&theirs);
    free(in);
    free(exp);
}

int
main(void)
{
    test_cef("jc/cef.out", "jc/cef.json");
    test_cef("guemues-CEF-parser/cef.log", "guemues-CEF-parser/out.json");
    test_syslog_3164();
    test_syslog_5424();
    return tap_done();
}
