/*
 * Helpers shared by the correlation tests (see test-corr-util.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "test-corr-util.h"
#include "xmalloc.h"

static char ct_tmp[256];

static const char *
ct_dir(void)
{
    if (ct_tmp[0] == '\0') {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(ct_tmp, sizeof(ct_tmp), "%s/kz-corr-test-XXXXXX", base);
        if (mkdtemp(ct_tmp) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(ct_cleanup);
    }
    return ct_tmp;
}

void
ct_cleanup(void)
{
    char *cmd;

    if (ct_tmp[0] == '\0') {
        return;
    }
    cmd = xasprintf("rm -rf '%s'", ct_tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", ct_tmp);
    }
    free(cmd);
    ct_tmp[0] = '\0';
}

static void
ct_fields_text(struct buf *b, const struct alert_fields *fl)
{
    for (size_t i = 0; i < fl->n; i++) {
        buf_printf(b, "%s%s=%s", i ? "," : "", fl->v[i].name, fl->v[i].value);
    }
}

void
ct_sink_cb(void *arg, struct alert *a)
{
    struct ct_sink *s = arg;
    struct ct_alert *c;
    struct buf b = {0};

    s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
    c = &s->v[s->n++];
    memset(c, 0, sizeof(*c));
    memcpy(c->id, a->id, sizeof(c->id));
    c->rule = xstrdup(a->rule->id);
    c->type = a->corr_type;
    c->key = xstrdup(a->group_key);
    c->time_us = a->time_us;
    c->first_us = a->first_us;
    c->last_us = a->last_us;
    c->count = a->count;
    c->has_value = a->has_value;
    c->value = a->value;
    c->nev = a->nevidence;
    for (size_t i = 0; i < a->nevidence; i++) {
        const struct alert_field *src = alert_fields_get(&a->evidence[i], "kizuna.source");
        const struct alert_field *ts = alert_fields_get(&a->evidence[i], "@timestamp");
        buf_printf(&b, "%s%s@%s", i ? ";" : "", src ? src->value : "?", ts ? ts->value : "?");
    }
    c->evidence = xstrdup(buf_cstr(&b));
    buf_reset(&b);
    for (size_t i = 0; i < a->nevidence; i++) {
        const struct alert_fields *fl = &a->evidence[i];
        /* The last field is the value (value types) or rule.id (multi-rule types). */
        const struct alert_field *v = fl->n > 2 + a->group.n ? &fl->v[fl->n - 1] : NULL;
        buf_printf(&b, "%s%s", i ? ";" : "", v ? v->value : "");
    }
    c->ev_values = xstrdup(buf_cstr(&b));
    buf_reset(&b);
    ct_fields_text(&b, &a->group);
    c->group = xstrdup(buf_cstr(&b));
    buf_reset(&b);
    ct_fields_text(&b, &a->fields);
    c->fields = xstrdup(buf_cstr(&b));
    buf_free(&b);
}

void
ct_sink_reset(struct ct_sink *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].rule);
        free(s->v[i].key);
        free(s->v[i].evidence);
        free(s->v[i].ev_values);
        free(s->v[i].group);
        free(s->v[i].fields);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

char *
ct_sink_text(const struct ct_sink *s)
{
    struct buf b = {0};

    for (size_t i = 0; i < s->n; i++) {
        const struct ct_alert *a = &s->v[i];
        buf_printf(&b, "%s %s %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64 " %s\n", a->rule,
                   a->key, (a->time_us - CT_T0) / 1000, (a->first_us - CT_T0) / 1000,
                   (a->last_us - CT_T0) / 1000, a->count, a->id);
    }
    buf_reserve(&b, 1);
    b.data[b.len] = '\0';
    return b.data;
}

struct ruleset *
ct_load_errs(const char *yaml, struct errlist *errs)
{
    static int n;
    char *path = xasprintf("%s/rules-%d.yml", ct_dir(), n++);
    const char *paths[1] = {path};
    struct ruleset *rs = NULL;
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(yaml, f);
    fclose(f);
    ruleset_load(paths, 1, NULL, &rs, errs);
    free(path);
    return rs;
}

struct ruleset *
ct_load(const char *yaml)
{
    struct errlist errs = {0};
    struct ruleset *rs = ct_load_errs(yaml, &errs);

    for (size_t i = 0; i < errs.n; i++) {
        printf("# load error: %s\n", errs.msgs[i]);
    }
    errlist_free(&errs);
    return rs;
}

int
ct_feed(struct corr_engine *eng, const struct ruleset *rs, const char *rule_id, int64_t t,
        uint64_t line, const char *const *kv)
{
    const struct rule *r = ruleset_find(rs, rule_id);
    struct event ev;
    int rc;

    if (r == NULL) {
        printf("# no rule %s\n", rule_id);
        return -1;
    }
    event_init(&ev);
    ev.src.name = "test.log";
    ev.src.line = line;
    event_set_time(&ev, t, 0);
    for (size_t i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
        event_add_copy(&ev, kv[i], strlen(kv[i]), kv[i + 1], strlen(kv[i + 1]));
    }
    rc = corr_engine_feed(eng, r, &ev);
    event_free(&ev);
    return rc;
}
