/*
 * Outputs: plugin instance + file sink, one per `outputs:` entry.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "output.h"
#include "xmalloc.h"

struct output {
    const struct conf_output *co; /* borrowed from the conf the set was built from */
    char *name;
    char *path; /* "-": stdout */
    FILE *f;
    struct plugin_instance *inst;
    uint64_t written;
    uint64_t failed;
    uint64_t filtered; /* alerts its filter did not pass */
    uint64_t withheld; /* alerts above its TLP clearance */
};

struct output_set {
    struct output *v;
    size_t n;
    struct buf buf; /* reused for every alert */
    const char *host_name;
    enum conf_tlp default_tlp;
};

static FILE *
output_open_sink(const char *path, char *err, size_t errlen)
{
    FILE *f;

    if (strcmp(path, "-") == 0) {
        return stdout;
    }
    f = fopen(path, "a");
    if (f == NULL) {
        snprintf(err, errlen, "fopen(\"%s\") failed: %s", path, strerror(errno));
    }
    return f;
}

int
output_set_new(const struct conf *conf, struct plugin_registry *reg, int check_only,
               struct output_set **out, struct errlist *errs)
{
    struct output_set *os = xcalloc(1, sizeof(*os));
    int r = 0;

    *out = NULL;
    os->v = xcalloc(conf->noutputs + 1, sizeof(*os->v));
    os->host_name = conf->host_name;
    os->default_tlp = conf->default_tlp;
    for (size_t i = 0; i < conf->noutputs; i++) {
        const struct conf_output *co = &conf->outputs[i];
        const struct plugin *p;
        struct output *o = &os->v[os->n];
        char err[1024];

        const char *const *host_keys =
            co->is_partner ? conf_partner_host_keys : conf_output_host_keys;
        int col = co->entry ? co->entry->col : 1;

        if (co->name == NULL || co->plugin == NULL) {
            continue; /* already reported by conf_load() */
        }
        if (co->is_partner) {
            errlist_add(errs, conf->file, co->line, col,
                        "partner '%s': partner delivery is not available in this build",
                        co->name);
            r = -1;
            continue;
        }
        if (plugin_registry_load(reg, co->plugin, &p, err, sizeof(err)) != 0) {
            errlist_add(errs, conf->file, co->line, col, "output '%s': %s", co->name, err);
            r = -1;
            continue;
        }
        if (check_only) {
            if (plugin_options_check(p, co->name, co->entry, host_keys, conf->file,
                                     errs) != 0) {
                r = -1;
            }
            continue;
        }
        if (plugin_instance_new(p, co->name, co->entry, host_keys, conf->file, &o->inst,
                                errs) != 0) {
            r = -1;
            continue;
        }
        o->co = co;
        o->name = xstrdup(co->name);
        o->path = xstrdup(co->path);
        o->f = output_open_sink(co->path, err, sizeof(err));
        os->n++;
        if (o->f == NULL) {
            errlist_add(errs, conf->file, co->line, col, "output '%s': %s", co->name, err);
            r = -1;
        }
    }
    if (r != 0) {
        output_set_free(os);
        return -1;
    }
    *out = os;
    return 0;
}

/* The TLP of an alert: its rule's tlp.<label> tag, or the configured default. */
static enum conf_tlp
output_alert_tlp(const struct output_set *os, const struct alert *a)
{
    for (size_t i = 0; i < a->rule->ntags; i++) {
        const char *t = a->rule->tags[i];
        enum conf_tlp tlp;
        if ((strncmp(t, "tlp.", 4) == 0 || strncmp(t, "tlp:", 4) == 0) &&
            conf_tlp_parse(t + 4, &tlp) == 0) {
            return tlp;
        }
    }
    return os->default_tlp;
}

/* 1 if the alert passes the output's filter (level, tags, rule ids). */
static int
output_filter_pass(const struct conf_output *co, const struct alert *a)
{
    int hit;

    if (co->min_level >= 0 && (int)a->rule->level < co->min_level) {
        return 0;
    }
    if (co->ntags > 0) {
        hit = 0;
        for (size_t i = 0; i < co->ntags && !hit; i++) {
            for (size_t j = 0; j < a->rule->ntags && !hit; j++) {
                hit = fnmatch(co->tags[i], a->rule->tags[j], 0) == 0;
            }
        }
        if (!hit) {
            return 0;
        }
    }
    if (co->nrule_globs > 0) {
        hit = 0;
        for (size_t i = 0; i < co->nrule_globs && !hit; i++) {
            hit = fnmatch(co->rule_globs[i], a->rule->id, 0) == 0;
        }
        if (!hit) {
            return 0;
        }
    }
    return 1;
}

void
output_set_emit(struct output_set *os, struct alert *a)
{
    enum conf_tlp tlp = output_alert_tlp(os, a);

    a->host_name = os->host_name;
    a->tlp = conf_tlp_name(tlp);
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        int st;

        if (!output_filter_pass(o->co, a)) {
            o->filtered++;
            continue;
        }
        if (tlp > o->co->tlp) {
            o->withheld++;
            continue;
        }
        a->partner = o->name;
        buf_reset(&os->buf);
        st = plugin_instance_emit(o->inst, a, &os->buf);
        if (st != KZ_OK) {
            o->failed++;
            log_err("[%s] emit of alert %s failed: %s", plugin_instance_tag(o->inst), a->id,
                    plugin_status_name(st));
            continue;
        }
        if (fwrite(os->buf.data, 1, os->buf.len, o->f) != os->buf.len) {
            o->failed++;
            log_err("[%s] write to %s failed: %s", plugin_instance_tag(o->inst), o->path,
                    strerror(errno));
            continue;
        }
        o->written++;
    }
    a->partner = NULL;
}

void
output_set_flush(struct output_set *os)
{
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        buf_reset(&os->buf);
        if (plugin_instance_flush(o->inst, &os->buf) == KZ_OK && os->buf.len > 0) {
            fwrite(os->buf.data, 1, os->buf.len, o->f);
        }
        if (fflush(o->f) != 0) {
            log_err("[%s] flush of %s failed: %s", plugin_instance_tag(o->inst), o->path,
                    strerror(errno));
        }
    }
}

void
output_set_reopen(struct output_set *os)
{
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        char err[512];
        FILE *f;

        if (o->f == stdout) {
            continue;
        }
        f = output_open_sink(o->path, err, sizeof(err));
        if (f == NULL) {
            log_err("[%s] %s; keeping the old file open", plugin_instance_tag(o->inst), err);
            continue;
        }
        fclose(o->f);
        o->f = f;
    }
}

void
output_set_free(struct output_set *os)
{
    if (os == NULL) {
        return;
    }
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        if (o->f != NULL) {
            fflush(o->f);
            if (o->f != stdout) {
                fclose(o->f);
            }
        }
        plugin_instance_free(o->inst);
        free(o->name);
        free(o->path);
    }
    free(os->v);
    buf_free(&os->buf);
    free(os);
}

uint64_t
output_set_written(const struct output_set *os)
{
    uint64_t n = 0;

    for (size_t i = 0; i < os->n; i++) {
        n += os->v[i].written;
    }
    return n;
}
