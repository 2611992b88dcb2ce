/*
 * kizunad --test-rules: decode, show fields, show matching rules (and why not).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "decode.h"
#include "event.h"
#include "rule.h"
#include "test-rules.h"
#include "timeutil.h"
#include "xmalloc.h"

struct test_rules_state {
    FILE *out;
    int matched;
    uint32_t decoded_fields; /* fields beyond this index were captured by the rule */
};

static void
test_rules_match_cb(void *arg, const struct rule *rule, struct event *ev)
{
    struct test_rules_state *st = arg;

    st->matched++;
    fprintf(st->out, "  MATCH %s (%s, level %s)\n", rule->id, rule->title,
            rule_level_name(rule->level));
    /* Fields the rule captured are on the event during this callback only. */
    for (uint32_t i = st->decoded_fields; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        fprintf(st->out, "    captured %.*s: %.*s\n", (int)f->name_len, f->name,
                (int)f->value_len, f->value);
    }
}

static void
test_rules_print_event(FILE *out, const struct event *ev, uint64_t lineno)
{
    char when[32];

    time_format_rfc3339(ev->time_us, when);
    fprintf(out, "event %llu (%s, time %s%s):\n", (unsigned long long)lineno,
            ev->format ? ev->format : "?", when,
            ev->time_from_arrival ? ", no time in the event: stamped on arrival" : "");
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        if (f->name_len == sizeof(F_ORIGINAL) - 1 &&
            memcmp(f->name, F_ORIGINAL, f->name_len) == 0) {
            continue;
        }
        fprintf(out, "  %.*s: %.*s\n", (int)f->name_len, f->name, (int)f->value_len, f->value);
    }
}

int
test_rules_run(const char *conf_path, const char *events_path, const char *format, int verbose,
               FILE *out)
{
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct ruleset *rs = NULL;
    struct ruleset_opts ro = {0};
    struct event ev;
    struct decode_ctx dctx = {0};
    enum decode_format fmt = DECODE_AUTO;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int any = 0, r = 2;

    event_init(&ev);
    if (conf_load(conf_path, &conf, &errs) != 0) {
        goto out;
    }
    ro.match_limit = (uint32_t)conf->regex_match_limit;
    ro.depth_limit = (uint32_t)conf->regex_depth_limit;
    if (ruleset_load((const char *const *)conf->rules, conf->nrules, &ro, &rs, &errs) != 0 ||
        errs.n > 0) {
        goto out;
    }
    if (format != NULL) {
        if (decode_format_parse(format, &fmt) != 0) {
            fprintf(stderr, "kizunad: unknown format '%s' (auto, syslog, json, cef, kv)\n",
                    format);
            goto out;
        }
    } else if (conf->ninputs > 0) {
        fmt = conf->inputs[0].format;
    }
    ev.max_fields = (uint32_t)conf->max_fields;
    dctx.max_depth = (uint32_t)conf->max_depth;
    if (events_path == NULL || strcmp(events_path, "-") == 0) {
        in = stdin;
    } else if ((in = fopen(events_path, "r")) == NULL) {
        fprintf(stderr, "kizunad: fopen(\"%s\") failed: %s\n", events_path, strerror(errno));
        goto out;
    }
    while ((n = getline(&line, &cap, in)) >= 0) {
        struct test_rules_state st = {.out = out};
        char reason[512] = "";

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            n--;
        }
        if (n == 0) {
            continue;
        }
        event_reset(&ev);
        ev.src.name = events_path ? events_path : "stdin";
        ev.src.line = lineno;
        dctx.now_us = time_now_us();
        ev.arrival_us = dctx.now_us;
        if (decode_line(fmt, &ev, line, (size_t)n, &dctx, reason, sizeof(reason)) != 0) {
            fprintf(out, "event %llu: not decodable (%s): %s\n", (unsigned long long)lineno,
                    decode_format_name(fmt), reason);
            continue;
        }
        test_rules_print_event(out, &ev, lineno);
        st.decoded_fields = ev.nfields;
        if (verbose) {
            /* The explanation lists the matches too, with their captures. */
            st.matched = ruleset_explain(rs, &ev, out, verbose);
        } else {
            ruleset_match(rs, &ev, test_rules_match_cb, &st);
        }
        if (st.matched == 0) {
            fprintf(out, "  no rule matched\n");
        }
        any += st.matched;
    }
    r = any > 0 ? 0 : 1;
out:
    for (size_t i = 0; i < errs.n; i++) {
        fprintf(stderr, "%s\n", errs.msgs[i]);
    }
    if (in != NULL && in != stdin) {
        fclose(in);
    }
    free(line);
    event_free(&ev);
    ruleset_free(rs);
    conf_free(conf);
    errlist_free(&errs);
    return r;
}
