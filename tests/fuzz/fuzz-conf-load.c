/*
 * libFuzzer target for the config loader. The input is a kizunad.yaml; conf_load_text()
 * parses it (as /etc/kizuna/kizunad.yaml, nothing read from disk), and then the rule-free
 * parts of --check-config run on whatever came back, valid or not, as kizunad does: the
 * delivery key tables of every partner (deliver_check()) and the privacy profiles
 * (privacy_set_new() in check mode), so every key table of the configuration is reached.
 *
 * Besides crashes, the target aborts when: the loader returns something other than 0/-1;
 * it fails without saying why or succeeds with an error listed; an error is not of the
 * form "FILE:LINE:COL: message"; or a config it accepted breaks the table's promises (no
 * input, an input or output without its required keys, a limit outside its bounds, a
 * partner naming an unknown privacy profile).
 * Built only with configure --enable-fuzzing (CC=clang); replayed without libFuzzer by
 * tests/fuzz/replay-conf-load in make check. See docs/OPERATIONS.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "privacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONF_PATH "/etc/kizuna/kizunad.yaml"

static void
fuzz_conf_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz-conf-load: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* Every error names the config (or, for YAML errors, the same path) with line and column. */
static void
fuzz_conf_check_errors(const struct errlist *errs, size_t from)
{
    size_t plen = strlen(FUZZ_CONF_PATH);

    for (size_t i = from; i < errs->n; i++) {
        const char *m = errs->msgs[i];
        int line = -1, col = -1, n = 0;

        if (strncmp(m, FUZZ_CONF_PATH, plen) != 0 ||
            sscanf(m + plen, ":%d:%d: %n", &line, &col, &n) != 2 || n == 0 || line < 0 || col < 0 ||
            m[plen + (size_t)n] == '\0') {
            fuzz_conf_fail("malformed error", m);
        }
    }
}

static void
fuzz_conf_range(const char *name, int64_t v, int64_t lo, int64_t hi)
{
    if (v < lo || v > hi) {
        char d[128];
        snprintf(d, sizeof(d), "%s = %lld outside [%lld, %lld]", name, (long long)v, (long long)lo,
                 (long long)hi);
        fuzz_conf_fail("accepted config out of bounds", d);
    }
}

/*
 * What a config that loaded without errors must hold: the bounds of the key tables in
 * conf.c, repeated here on purpose (a table whose bound stops being enforced is caught; a
 * bound changed in conf.c must be changed here too, which the replay in make check shows).
 */
static void
fuzz_conf_check_valid(const struct conf *c)
{
    if (c->ninputs == 0 || c->file == NULL || c->dir == NULL || c->host_name == NULL) {
        fuzz_conf_fail("accepted config without inputs, file, dir or host name", NULL);
    }
    for (size_t i = 0; i < c->ninputs; i++) {
        const struct conf_input *in = &c->inputs[i];
        if (in->name == NULL ||
            (in->type == INPUT_KAFKA && (in->brokers == NULL || in->ntopics == 0)) ||
            (in->type == INPUT_FILE && in->path == NULL) || (unsigned)in->format > 4) {
            fuzz_conf_fail("accepted input without its required keys", in->name);
        }
        for (size_t t = 0; t < in->ntopics; t++) {
            if (in->topics[t] == NULL) {
                fuzz_conf_fail("NULL topic", in->name);
            }
        }
    }
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct conf_output *o = &c->outputs[i];
        if (o->name == NULL || o->plugin == NULL || (!o->is_partner && o->path == NULL) ||
            (o->is_partner && o->deliver == NULL) || (unsigned)o->tlp > TLP_RED ||
            o->min_level < -1 || o->min_level > 4) {
            fuzz_conf_fail("accepted output/partner without its required keys", o->name);
        }
        if (o->privacy != NULL && conf_privacy_find(c, o->privacy) == NULL) {
            fuzz_conf_fail("accepted partner naming an unknown profile", o->privacy);
        }
    }
    for (size_t i = 0; i < c->nprivacy; i++) {
        const struct conf_privacy *p = &c->privacy[i];
        fuzz_conf_range("truncate_v4", p->truncate_v4, 0, 32);
        fuzz_conf_range("truncate_v6", p->truncate_v6, 0, 128);
        fuzz_conf_range("time_granularity", p->time_granularity_us, 0, INT64_C(86400000000));
    }
    fuzz_conf_range("limits.max_event_bytes", c->max_event_bytes, 64, 16 << 20);
    fuzz_conf_range("limits.max_fields", c->max_fields, 16, 4096);
    fuzz_conf_range("limits.max_depth", c->max_depth, 1, 256);
    fuzz_conf_range("limits.regex_match_limit", c->regex_match_limit, 100, 100000000);
    fuzz_conf_range("limits.regex_depth_limit", c->regex_depth_limit, 10, 10000000);
    fuzz_conf_range("time.allowed_lateness", c->allowed_lateness_us, 0,
                    INT64_C(86400000000) * 3650);
    fuzz_conf_range("time.idle_source", c->idle_source_us, 0, INT64_C(86400000000));
    fuzz_conf_range("state.max_groups_per_rule", c->max_groups_per_rule, 1, 1000000000);
    fuzz_conf_range("state.max_groups", c->max_groups_total, 1, 1000000000);
    fuzz_conf_range("log.level", c->log_level, LOG_LVL_ERR, LOG_LVL_DEBUG);
    fuzz_conf_range("default_tlp", c->default_tlp, TLP_CLEAR, TLP_RED);
    fuzz_conf_range("late_events", c->late_policy, LATE_DROP, LATE_PROCESS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct privacy_set *ps = NULL;
    size_t nconf;
    int r;

    log_level = 0; /* the loader and the checks may log; keep the run quiet */
    if (size > 256 * 1024) {
        return 0;
    }
    r = conf_load_text(FUZZ_CONF_PATH, (const char *)data, size, &conf, &errs);
    if (r != 0 && r != -1) {
        fuzz_conf_fail("conf_load_text returned neither 0 nor -1", NULL);
    }
    if ((r == 0) != (errs.n == 0)) {
        fuzz_conf_fail(r == 0 ? "success with errors listed" : "failure without a reason",
                       errs.n > 0 ? errs.msgs[0] : NULL);
    }
    if (r == 0 && conf == NULL) {
        fuzz_conf_fail("success without a config", NULL);
    }
    fuzz_conf_check_errors(&errs, 0);
    if (r == 0) {
        fuzz_conf_check_valid(conf);
    }
    nconf = errs.n;
    /* The rest of --check-config that needs no rules and no plugins. */
    for (size_t i = 0; conf != NULL && i < conf->noutputs; i++) {
        const struct conf_output *co = &conf->outputs[i];
        struct deliver_conf dc = {0};

        if (!co->is_partner || co->deliver == NULL || co->name == NULL) {
            continue;
        }
        dc.partner = co->name;
        dc.state_dir = conf->state_dir;
        dc.deliver = co->deliver;
        dc.conf_file = conf->file;
        dc.conf_dir = conf->dir;
        if (deliver_check(&dc, &errs) != 0 && errs.n == nconf) {
            fuzz_conf_fail("deliver_check failed without a reason", co->name);
        }
        nconf = errs.n;
    }
    if (conf != NULL) {
        if (privacy_set_new(conf, 1, &ps, &errs) != 0 && errs.n == nconf) {
            fuzz_conf_fail("privacy_set_new failed without a reason", NULL);
        }
        privacy_set_free(ps);
    }
    fuzz_conf_check_errors(&errs, 0);
    conf_free(conf);
    errlist_free(&errs);
    return 0;
}
