/*
 * Round trips through kizuna's own decoders, for the two line formats it can also read:
 *
 *   CEF: every line of the CEF test vectors (corpus/cef/test-vectors, or the identical copies
 *   in tests/data/decode when ../shared is absent) is decoded with decode_cef(); an alert is
 *   built from the decoded fields, with the vector's Signature ID and Name as rule id and
 *   title; out_cef formats it; decode_cef() reads that line back, and every value must have
 *   survived: the header fields, every extension pair of the vector (escaped |, \, =, line
 *   breaks included) and the ECS fields with a CEF key. Then the same for the hostile alert of
 *   the corpus (test-formats-alerts.c).
 *
 *   syslog: every alert of the corpus is formatted by out_syslog and read back with
 *   decode_syslog(); PRI, time, host, APP-NAME, MSGID, every SD-PARAM and MSG must come back
 *   as written (control characters are the only thing the format turns into spaces).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "buf.h"
#include "decode.h"
#include "event.h"
#include "plugin-loader.h"
#include "rule.h"
#include "tap.h"
#include "test-formats-alerts.h"
#include "xmalloc.h"

#ifndef KZ_SRCDIR
#define KZ_SRCDIR "."
#endif

/* Keys out_cef writes for the alert itself: a vector's own values for them are not kept. */
static const char *const own_keys[] = {
    "rt",       "start",    "end",      "cnt",      "externalId", "dvchost",   "cs1",
    "cs1Label", "cs2",      "cs2Label", "cs3",      "cs3Label",   "cs4",       "cs4Label",
    "cs5",      "cs5Label", "cs6",      "cs6Label", "cfp1",       "cfp1Label",
};

/* ECS fields out_cef writes under a CEF key (when the value fits the key). */
static const char *const ecs_mapped[] = {
    "source.ip",        "destination.ip",      "source.port",
    "destination.port", "source.user.name",    "user.name",
    "source.domain",    "destination.domain",  "source.mac",
    "destination.mac",  "event.action",        "event.outcome",
    "message",          "network.transport",   "network.protocol",
    "url.original",     "http.request.method", "user_agent.original",
    "file.name",        "file.path",
};

static const char *
get(const struct event *ev, const char *name, size_t *len)
{
    const struct event_field *f = event_get(ev, name);

    if (f == NULL) {
        return NULL;
    }
    *len = f->value_len;
    return f->value;
}

/*
 * 1 when field name_a of a came back as field name_b of b. The one loss allowed is CEF's own:
 * a value cannot end in blanks (readers trim them and CEF has no quoting), so trailing blanks
 * may be gone; that is reported as a diagnostic.
 */
static int
same(const struct event *a, const struct event *b, const char *name_a, const char *name_b)
{
    size_t la = 0, lb = 0;
    const char *va = get(a, name_a, &la);
    const char *vb = get(b, name_b, &lb);

    if (va == NULL) {
        return 1;
    }
    if (vb != NULL && lb < la && memcmp(va, vb, lb) == 0 && strspn(va + lb, " \t") == la - lb) {
        tap_diag("  %s: trailing blanks dropped (CEF cannot carry them)", name_a);
        return 1;
    }
    if (vb == NULL || la != lb || memcmp(va, vb, la) != 0) {
        tap_diag("  %s '%.*s' came back as %s '%.*s'", name_a, (int)la, va, name_b,
                 vb != NULL ? (int)lb : 6, vb != NULL ? vb : "(none)");
        return 0;
    }
    return 1;
}

static int
is_own_key(const char *k)
{
    for (size_t i = 0; i < sizeof(own_keys) / sizeof(own_keys[0]); i++) {
        if (strcmp(own_keys[i], k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Emit alert a with inst into out, strip the newline; returns the status. */
static int
emit_line(struct plugin_instance *inst, const struct alert *a, struct buf *out)
{
    int r;

    buf_reset(out);
    r = plugin_instance_emit(inst, a, out);
    if (r == KZ_OK && out->len > 0 && out->data[out->len - 1] == '\n') {
        buf_truncate(out, out->len - 1);
    }
    return r;
}

/*
 * One CEF vector line: decode, format, decode again, compare. Returns 1 when it held, 0 when
 * a value was lost, -1 when the line is not CEF at all (the vectors hold such lines on
 * purpose).
 */
static int
cef_roundtrip(struct plugin_instance *inst, const char *line, size_t len, int *checked)
{
    struct decode_ctx ctx = {.now_us = 1795741323000000LL};
    struct event ev1, ev2;
    struct rule rule = {.level = RULE_LEVEL_MEDIUM, .hash = "0000000000000000"};
    struct alert *a = NULL;
    struct buf out;
    char err[256];
    size_t n;
    int good = 1;

    event_init(&ev1);
    event_init(&ev2);
    buf_init(&out);
    if (decode_cef(&ev1, line, len, &ctx, err, sizeof(err)) != 0) {
        good = -1;
        goto out;
    }
    rule.id =
        xstrdup(get(&ev1, "cef.signature_id", &n) != NULL ? get(&ev1, "cef.signature_id", &n) : "");
    rule.title = xstrdup(get(&ev1, "cef.name", &n) != NULL ? get(&ev1, "cef.name", &n) : "");
    a = alert_new(&rule);
    memcpy(a->id, "0123456789abcdef0123456789abcdef", 33);
    a->time_us = ev1.time_us;
    alert_fields_from_event(&a->fields, &ev1);
    if (emit_line(inst, a, &out) != KZ_OK) {
        tap_diag("  out_cef refused it");
        good = 0;
        goto out;
    }
    if (decode_cef(&ev2, out.data, out.len, &ctx, err, sizeof(err)) != 0) {
        tap_diag("  our line does not decode: %s: %s", err, out.data);
        good = 0;
        goto out;
    }
    good &= same(&ev1, &ev2, "cef.signature_id", "cef.signature_id");
    good &= same(&ev1, &ev2, "cef.name", "cef.name");
    (*checked) += 2;
    for (uint32_t i = 0; i < ev1.nfields; i++) {
        const struct event_field *f = &ev1.fields[i];
        char name[512];

        if (f->name_len > 8 && f->name_len < sizeof(name) && memcmp(f->name, "cef.ext.", 8) == 0) {
            memcpy(name, f->name, f->name_len);
            name[f->name_len] = '\0';
            if (is_own_key(name + 8)) {
                continue;
            }
            /* The first value of a key is the one CEF keeps. */
            if (event_get(&ev1, name) != f) {
                continue;
            }
            good &= same(&ev1, &ev2, name, name);
            (*checked)++;
        }
    }
    for (size_t i = 0; i < sizeof(ecs_mapped) / sizeof(ecs_mapped[0]); i++) {
        char custom[128];

        if (get(&ev1, ecs_mapped[i], &n) == NULL) {
            continue;
        }
        /* Under its CEF key, or (a value the key cannot carry) as a custom key. */
        snprintf(custom, sizeof(custom), "cef.ext.%s", ecs_mapped[i]);
        good &= get(&ev2, custom, &n) != NULL ? same(&ev1, &ev2, ecs_mapped[i], custom)
                                              : same(&ev1, &ev2, ecs_mapped[i], ecs_mapped[i]);
        (*checked)++;
    }
    if (!good) {
        tap_diag("  in:  %.*s", (int)len, line);
        tap_diag("  out: %s", out.data);
    }
out:
    alert_free(a);
    free(rule.id);
    free(rule.title);
    event_free(&ev1);
    event_free(&ev2);
    buf_free(&out);
    return good;
}

/* Every line of one vector file. */
static void
cef_vector_file(struct plugin_instance *inst, const char *path, int *lines_cef)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;

    if (!ok(f != NULL, "open %s", path)) {
        return;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        int checked = 0;
        int r;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        if (len == 0) {
            continue;
        }
        r = cef_roundtrip(inst, line, (size_t)len, &checked);
        if (r < 0) {
            tap_diag("%s:%d is not CEF (decode_cef refuses it), skipped", path, lineno);
            continue;
        }
        (*lines_cef)++;
        ok(r == 1, "CEF vector %s:%d: %d values survive out_cef and decode_cef", path, lineno,
           checked);
    }
    free(line);
    fclose(f);
}

/* The CEF vector files: the corpus when it is there, else the in-tree copies. */
static void
test_cef_vectors(struct plugin_instance *inst)
{
    static const char *const corpus[] = {"jc/cef.out", "guemues-CEF-parser/cef.log"};
    const char *shared = KZ_SRCDIR "/../shared/corpus/cef/test-vectors";
    const char *local = KZ_SRCDIR "/tests/data/decode";
    const char *base = shared;
    DIR *d = opendir(shared);
    int lines_cef = 0;

    if (d == NULL) {
        tap_diag("%s absent: using the identical copies in %s", shared, local);
        base = local;
    } else {
        closedir(d);
    }
    for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", base, corpus[i]);
        if (base == local && access(path, R_OK) != 0) {
            /* The in-tree copies are a subset (*.log files are not in git). */
            tap_skip(1, "vector file not in the tree without ../shared");
            continue;
        }
        cef_vector_file(inst, path, &lines_cef);
    }
    ok(lines_cef >= 10, "%d CEF vector lines round-tripped", lines_cef);
}

/* out_cef on the hostile alert, read back. */
static void
test_cef_hostile(struct plugin_instance *inst)
{
    struct decode_ctx ctx = {.now_us = 0};
    struct alert *a = formats_alert(2);
    struct event ev;
    struct buf out;
    char err[256];
    size_t n;
    const char *v;

    event_init(&ev);
    buf_init(&out);
    is_int(emit_line(inst, a, &out), KZ_OK, "out_cef formats the hostile alert");
    if (!ok(decode_cef(&ev, out.data, out.len, &ctx, err, sizeof(err)) == 0,
            "decode_cef reads it back: %s", err)) {
        goto out;
    }
    v = get(&ev, "cef.signature_id", &n);
    ok(v != NULL && strcmp(v, "id|with\\pipe=eq") == 0, "Signature ID with | \\ = survives");
    v = get(&ev, "cef.name", &n);
    ok(v != NULL && strcmp(v, "Title \"quoted\" <b>&amp;</b> ]bracket| pipe = eq \\ back new\tline "
                              "\xc3\xa9\xe6\x97\xa5 \xef\xbf\xbd") == 0,
       "Name survives, its line break as a space and the bad byte as U+FFFD");
    v = get(&ev, "message", &n);
    ok(v != NULL && strcmp(v, "line1\nline2\r\n<x>&'\"|=\\] end") == 0,
       "msg with CR, LF, |, =, \\ survives");
    v = get(&ev, "user.name", &n);
    ok(v != NULL && strcmp(v, "a\"b\\c]d e=f|g") == 0, "duser survives");
    v = get(&ev, "cef.ext.cs2", &n);
    ok(v != NULL && strcmp(v, "k=\"v\"]|\\") == 0, "group key (cs2) survives");
    v = get(&ev, "cef.ext.weird_name___", &n);
    ok(v != NULL && strcmp(v, "v=1|2\\3\n") == 0,
       "field with an odd name: key sanitised, value kept");
    v = get(&ev, "cef.ext.source.ip", &n);
    ok(v != NULL && strcmp(v, "not-an-ip<script>") == 0 && get(&ev, "cef.ext.src", &n) == NULL,
       "a source.ip that is no address is not written as src");
    v = get(&ev, "cef.ext.unicode", &n);
    ok(v != NULL && strcmp(v, "Gr\xc3\xbc\xc3\x9f"
                              "e \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x8c") == 0,
       "unicode survives");
    v = get(&ev, "cef.ext.cs1", &n);
    ok(v != NULL && strcmp(v, "aaaaaaaabbbbbbbbccccccccdddddddd") == 0,
       "an event's own cef.ext.cs1 does not replace the alert id");
out:
    alert_free(a);
    event_free(&ev);
    buf_free(&out);
}

/* Expected text of a header-free string as out_syslog writes it: controls as spaces. */
static char *
syslog_expect(const char *s)
{
    char *t = xstrdup(s);

    for (char *p = t; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = ' ';
        }
    }
    return t;
}

static int
field_is(const struct event *ev, const char *name, const char *want)
{
    size_t n;
    const char *v = get(ev, name, &n);

    if (v == NULL || strlen(want) != n || memcmp(v, want, n) != 0) {
        tap_diag("  %s: got '%.*s', want '%s'", name, v != NULL ? (int)n : 6,
                 v != NULL ? v : "(none)", want);
        return 0;
    }
    return 1;
}

static void
test_syslog(struct plugin_instance *inst)
{
    struct decode_ctx ctx = {.now_us = 0};
    static const int sev[] = {6, 5, 4, 3, 2};

    for (size_t i = 0; i < formats_nalerts(); i++) {
        struct alert *a = formats_alert(i);
        const char *an = formats_alert_name(i);
        struct event ev;
        struct buf out;
        char err[256];
        char want[64];
        int good = 1;

        event_init(&ev);
        buf_init(&out);
        if (emit_line(inst, a, &out) != KZ_OK ||
            decode_syslog(&ev, out.data, out.len, &ctx, err, sizeof(err)) != 0) {
            ok(0, "syslog %s: formats and decodes (%s)", an, err);
            goto next;
        }
        snprintf(want, sizeof(want), "%d", 10 * 8 + sev[a->rule->level]);
        good &= field_is(&ev, "log.syslog.priority", want);
        good &= ev.time_us == a->time_us && !ev.time_from_arrival;
        good &= field_is(&ev, "log.syslog.appname", "kizunad");
        good &= field_is(&ev, "log.syslog.msgid", a->id);
        if (a->host_name != NULL) {
            char *h = xstrdup(a->host_name);

            for (char *p = h; *p != '\0'; p++) {
                *p = *p > 32 && *p < 127 ? *p : '_';
            }
            good &= field_is(&ev, "host.name", h);
            free(h);
        }
        good &= field_is(&ev, "sd.kizuna@32473.alert_id", a->id);
        good &= field_is(&ev, "sd.kizuna@32473.rule_id", a->rule->id);
        good &= field_is(&ev, "sd.kizuna@32473.level", rule_level_name(a->rule->level));
        good &= field_is(&ev, "sd.kizuna@32473.tlp", a->tlp != NULL ? a->tlp : "amber");
        if (a->group_key[0] != '\0') {
            good &= field_is(&ev, "sd.kizuna@32473.group_key", a->group_key);
        }
        if (strcmp(an, "hostile") != 0) {
            /* (the hostile title has a bad byte, compared below) */
            char *t = syslog_expect(a->rule->title);
            const struct alert_field *m = alert_fields_get(&a->fields, "message");
            char *msg = xasprintf("%s%s%s", t, m != NULL ? ": " : "", m != NULL ? m->value : "");

            good &= field_is(&ev, "sd.kizuna@32473.rule", t);
            good &= field_is(&ev, "message", msg);
            free(t);
            free(msg);
        } else {
            good &= field_is(&ev, "sd.kizuna@32473.rule",
                             "Title \"quoted\" <b>&amp;</b> ]bracket| pipe = eq \\ back new line "
                             "\xc3\xa9\xe6\x97\xa5 \xef\xbf\xbd");
            good &= field_is(&ev, "sd.kizuna@32473.user.name", "a\"b\\c]d e=f|g");
            good &= field_is(&ev, "sd.kizuna@32473.source.ip", "not-an-ip<script>");
            good &= field_is(&ev, "message",
                             "Title \"quoted\" <b>&amp;</b> ]bracket| pipe = eq \\ back new line "
                             "\xc3\xa9\xe6\x97\xa5 \xef\xbf\xbd: line1 line2  <x>&'\"|=\\] end");
        }
        /* Every tag, in order, as a repeated SD-PARAM. */
        {
            const struct event_field *f = event_get(&ev, "sd.kizuna@32473.tag");

            for (size_t t = 0; t < a->rule->ntags; t++) {
                if (f == NULL || strlen(a->rule->tags[t]) != f->value_len ||
                    memcmp(f->value, a->rule->tags[t], f->value_len) != 0) {
                    tap_diag("  tag %zu lost", t);
                    good = 0;
                    break;
                }
                f = event_find_next(&ev, f);
            }
        }
        ok(good, "syslog %s: PRI, time, header and structured data survive decode_syslog", an);
    next:
        alert_free(a);
        event_free(&ev);
        buf_free(&out);
    }
}

int
main(void)
{
    static const char *const names[] = {"cef", "syslog"};
    struct formats_env env = {0};
    struct plugin_instance *cef = NULL, *sys = NULL;

    if (!ok(formats_env_open(&env, names, 2) == 0, "out_cef and out_syslog staged")) {
        goto out;
    }
    cef = formats_instance(&env, "cef", "");
    sys = formats_instance(&env, "syslog", "");
    if (!ok(cef != NULL && sys != NULL, "instances")) {
        goto out;
    }
    test_cef_vectors(cef);
    test_cef_hostile(cef);
    test_syslog(sys);
out:
    plugin_instance_free(cef);
    plugin_instance_free(sys);
    formats_yaml_free();
    formats_env_close(&env);
    return tap_done();
}
