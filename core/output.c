/*
 * The partner layer: filter, TLP, privacy profile, format plugin, and a file sink or a
 * delivery spool for every `outputs:` and `partners:` entry; one audit line per delivery.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "deliver.h"
#include "log.h"
#include "output.h"
#include "privacy.h"
#include "xmalloc.h"

/* An alert's bytes that a full spool refused; retried in order. */
struct output_pending {
    char id[33];
    char *bytes; /* owned */
    size_t len;
    char *audit; /* owned audit record body (audit.h), or NULL */
};

struct output {
    const struct conf_output *co; /* borrowed from the conf the set was built from */
    char *name;
    char *path;                   /* file outputs: "-" is stdout */
    FILE *f;
    struct deliver *dlv;          /* partners: owned (possibly taken over from a prev set) */
    struct plugin_instance *inst;
    struct privacy_profile *profile; /* the partner's privacy profile (os->privacy), or NULL */
    struct output_set *os;
    struct output_pending *pending;
    size_t npending;
    uint64_t accepted;
    uint64_t failed;
    uint64_t filtered;
    uint64_t withheld;
    int refusing; /* the spool refused a record: logged once until it takes again */
};

struct output_set {
    struct output *v;
    size_t n;
    struct buf buf; /* reused for every alert */
    const char *host_name;
    enum conf_tlp default_tlp;
    output_writable_cb writable_cb;
    void *writable_arg;
    struct privacy_set *privacy; /* the conf's privacy profiles, keys read at build time */
    struct audit *audit;         /* NULL: no audit log */
    struct privacy_report report; /* reused for every alert */
    /* shutdown */
    size_t stopping;
    void (*stop_done)(void *arg);
    void *stop_arg;
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

/* Submit waiting records of one output in order; returns 1 when none is left. */
static int
output_retry_pending(struct output *o)
{
    size_t done = 0;

    while (done < o->npending) {
        struct output_pending *p = &o->pending[done];
        if (deliver_submit(o->dlv, p->id, p->bytes, p->len) != 0) {
            break;
        }
        o->accepted++;
        audit_write(o->os->audit, p->audit, "spooled");
        free(p->audit);
        free(p->bytes);
        done++;
    }
    memmove(o->pending, o->pending + done, (o->npending - done) * sizeof(*o->pending));
    o->npending -= done;
    if (o->npending == 0 && o->refusing) {
        o->refusing = 0;
        log_notice("[%s] spool accepts alerts again", plugin_instance_tag(o->inst));
    }
    return o->npending == 0;
}

static void
output_deliver_writable_cb(void *arg)
{
    struct output *o = arg;
    struct output_set *os = o->os;

    if (output_retry_pending(o) && output_set_writable(os) && os->writable_cb != NULL) {
        os->writable_cb(os->writable_arg);
    }
}

/* The output of prev that still owns the delivery of partner `name`, or NULL. */
static struct output *
output_prev_partner(struct output_set *prev, const char *name)
{
    for (size_t i = 0; prev != NULL && i < prev->n; i++) {
        struct output *po = &prev->v[i];
        if (po->dlv != NULL && strcmp(po->name, name) == 0) {
            return po;
        }
    }
    return NULL;
}

static int
output_open_partner(const struct conf *conf, const struct conf_output *co, uv_loop_t *loop,
                    int check_only, struct output_set *prev, struct output *o,
                    struct errlist *errs)
{
    struct deliver_conf dc = {0};

    dc.partner = co->name;
    dc.state_dir = conf->state_dir;
    dc.deliver = co->deliver;
    dc.conf_file = conf->file;
    dc.conf_dir = conf->dir;
    if (check_only) {
        return deliver_check(&dc, errs);
    }
    if (output_prev_partner(prev, co->name) != NULL) {
        return 0; /* taken over once the whole set is built */
    }
    return deliver_new(loop, &dc, &o->dlv, errs);
}

int
output_set_new(const struct conf *conf, struct plugin_registry *reg, uv_loop_t *loop,
               int check_only, struct output_set *prev, struct output_set **out,
               struct errlist *errs)
{
    struct output_set *os = xcalloc(1, sizeof(*os));
    int r = 0;

    *out = NULL;
    os->v = xcalloc(conf->noutputs + 1, sizeof(*os->v));
    os->host_name = conf->host_name;
    os->default_tlp = conf->default_tlp;
    /* Privacy profiles and the audit log are built with the set: a reload re-reads keys. */
    if (privacy_set_new(conf, check_only, &os->privacy, errs) != 0) {
        r = -1;
    }
    if (!check_only && conf->audit_path != NULL) {
        char err[1024];
        const struct ynode *an =
            conf->ndocs > 0 ? ynode_get(ynode_get(conf->docs[0], "audit"), "path") : NULL;
        if (audit_open(conf->audit_path, &os->audit, err, sizeof(err)) != 0) {
            errlist_add(errs, conf->file, an ? an->line : 1, an ? an->col : 1, "%s", err);
            r = -1;
        }
    }
    for (size_t i = 0; i < conf->noutputs; i++) {
        const struct conf_output *co = &conf->outputs[i];
        const char *const *host_keys =
            co->is_partner ? conf_partner_host_keys : conf_output_host_keys;
        int col = co->entry ? co->entry->col : 1;
        struct output *o = &os->v[os->n];
        const struct plugin *p;
        char err[1024];

        if (co->name == NULL || co->plugin == NULL) {
            continue; /* already reported by conf_load() */
        }
        if (plugin_registry_load(reg, co->plugin, &p, err, sizeof(err)) != 0) {
            errlist_add(errs, conf->file, co->line, col, "%s '%s': %s",
                        co->is_partner ? "partner" : "output", co->name, err);
            r = -1;
            continue;
        }
        if (check_only) {
            if (plugin_options_check(p, co->name, co->entry, host_keys, conf->file, errs) != 0) {
                r = -1;
            }
            if (co->is_partner && output_open_partner(conf, co, loop, 1, NULL, o, errs) != 0) {
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
        o->os = os;
        o->name = xstrdup(co->name);
        if (co->privacy != NULL) {
            o->profile = privacy_set_find(os->privacy, co->privacy);
        }
        os->n++;
        if (co->is_partner) {
            if (output_open_partner(conf, co, loop, 0, prev, o, errs) != 0) {
                r = -1;
            }
            continue;
        }
        o->path = xstrdup(co->path);
        o->f = output_open_sink(co->path, err, sizeof(err));
        if (o->f == NULL) {
            errlist_add(errs, conf->file, co->line, col, "output '%s': %s", co->name, err);
            r = -1;
        }
    }
    if (r != 0 || check_only) {
        output_set_free(os);
        return r;
    }
    /* Everything built: take over the deliveries of partners that keep their name. */
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        struct output *po = o->co->is_partner && o->dlv == NULL
                                ? output_prev_partner(prev, o->name)
                                : NULL;
        if (po != NULL) {
            /* The spool moves, and so do the alerts waiting in memory for it. */
            o->dlv = po->dlv;
            o->pending = po->pending;
            o->npending = po->npending;
            po->dlv = NULL;
            po->pending = NULL;
            po->npending = 0;
        }
        if (o->dlv != NULL) {
            deliver_set_writable_cb(o->dlv, output_deliver_writable_cb, o);
        }
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

/*
 * Hand formatted bytes to a partner's spool, or queue them while it refuses. audit (owned,
 * may be NULL) is the audit record of the delivery.
 */
static void
output_submit(struct output *o, const struct alert *a, const struct buf *b, char *audit)
{
    struct output_pending *p;

    if (o->npending == 0 && deliver_submit(o->dlv, a->id, b->data, b->len) == 0) {
        o->accepted++;
        audit_write(o->os->audit, audit, "spooled");
        free(audit);
        return;
    }
    if (!o->refusing) {
        o->refusing = 1;
        log_warn("[%s] spool refuses alerts (full or not writable): holding them in memory "
                 "and pausing the inputs",
                 plugin_instance_tag(o->inst));
    }
    o->pending = xreallocarray(o->pending, o->npending + 1, sizeof(*o->pending));
    p = &o->pending[o->npending++];
    memcpy(p->id, a->id, sizeof(p->id));
    p->bytes = xmalloc(b->len ? b->len : 1);
    memcpy(p->bytes, b->data, b->len);
    p->len = b->len;
    p->audit = audit;
    audit_write(o->os->audit, audit, "pending");
}

/* The audit record of delivering a (as out, after the privacy profile) to o; NULL without
 * an audit log. */
static char *
output_audit_body(const struct output *o, const struct alert *a, const struct alert *out)
{
    struct audit_record rec = {0};

    if (o->os->audit == NULL) {
        return NULL;
    }
    rec.partner = o->name;
    rec.format = o->co->plugin;
    rec.alert_id = a->id;
    rec.shared_id = out->id;
    rec.rule_id = a->rule->id;
    rec.tlp = a->tlp;
    rec.profile = o->profile;
    rec.report = o->profile != NULL ? &o->os->report : NULL;
    return audit_record_body(&rec);
}

void
output_set_emit(struct output_set *os, struct alert *a)
{
    enum conf_tlp tlp = output_alert_tlp(os, a);

    a->host_name = os->host_name;
    a->tlp = conf_tlp_name(tlp);
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        struct alert *copy = NULL;
        const struct alert *out = a;
        char *audit;
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
        if (o->profile != NULL) {
            /* The plugin only ever sees the partner's copy (privacy.h). */
            copy = privacy_apply(o->profile, a, &os->report);
            out = copy;
        }
        buf_reset(&os->buf);
        st = plugin_instance_emit(o->inst, out, &os->buf);
        if (st != KZ_OK) {
            o->failed++;
            log_err("[%s] emit of alert %s failed: %s", plugin_instance_tag(o->inst), a->id,
                    plugin_status_name(st));
            alert_free(copy);
            continue;
        }
        audit = output_audit_body(o, a, out);
        if (o->dlv != NULL) {
            output_submit(o, out, &os->buf, audit);
            alert_free(copy);
            continue;
        }
        alert_free(copy);
        /* Written means handed to the kernel, as for a partner's spool: the source event
           may be acknowledged once this returns, and alerts left in a stdio buffer would
           be lost by a crash (one write(2) per alert; alerts are rare next to events). */
        if (fwrite(os->buf.data, 1, os->buf.len, o->f) != os->buf.len || fflush(o->f) != 0) {
            o->failed++;
            log_err("[%s] write to %s failed: %s", plugin_instance_tag(o->inst), o->path,
                    strerror(errno));
            audit_write(os->audit, audit, "failed");
            free(audit);
            continue;
        }
        o->accepted++;
        audit_write(os->audit, audit, "written");
        free(audit);
    }
    a->partner = NULL;
}

int
output_set_writable(const struct output_set *os)
{
    for (size_t i = 0; i < os->n; i++) {
        if (os->v[i].npending > 0) {
            return 0;
        }
    }
    return 1;
}

void
output_set_set_writable_cb(struct output_set *os, output_writable_cb cb, void *arg)
{
    os->writable_cb = cb;
    os->writable_arg = arg;
}

void
output_set_flush(struct output_set *os)
{
    int was_writable = output_set_writable(os);

    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        if (o->dlv != NULL) {
            if (o->npending > 0) {
                output_retry_pending(o);
            }
            continue;
        }
        buf_reset(&os->buf);
        if (plugin_instance_flush(o->inst, &os->buf) == KZ_OK && os->buf.len > 0) {
            fwrite(os->buf.data, 1, os->buf.len, o->f);
        }
        if (fflush(o->f) != 0) {
            log_err("[%s] flush of %s failed: %s", plugin_instance_tag(o->inst), o->path,
                    strerror(errno));
        }
    }
    if (!was_writable && output_set_writable(os) && os->writable_cb != NULL) {
        os->writable_cb(os->writable_arg);
    }
}

void
output_set_reopen(struct output_set *os)
{
    audit_reopen(os->audit);
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        char err[512];
        FILE *f;

        if (o->dlv != NULL) {
            deliver_reopen(o->dlv);
            continue;
        }
        if (o->f == stdout || o->f == NULL) {
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

static void
output_stop_one_cb(void *arg)
{
    struct output_set *os = arg;

    if (--os->stopping == 0 && os->stop_done != NULL) {
        os->stop_done(os->stop_arg);
    }
}

void
output_set_stop(struct output_set *os, void (*done)(void *arg), void *arg)
{
    output_set_flush(os);
    os->stop_done = done;
    os->stop_arg = arg;
    os->stopping = 1; /* held until every stop has been started */
    for (size_t i = 0; i < os->n; i++) {
        struct output *o = &os->v[i];
        if (o->dlv == NULL) {
            continue;
        }
        if (o->npending > 0) {
            log_err("[%s] %zu alerts could not be spooled before shutdown (spool full or not "
                    "writable); their source events were not acknowledged",
                    plugin_instance_tag(o->inst), o->npending);
        }
        for (size_t j = 0; j < o->npending; j++) {
            audit_write(os->audit, o->pending[j].audit, "refused");
        }
        os->stopping++;
        deliver_stop(o->dlv, output_stop_one_cb, os);
    }
    output_stop_one_cb(os);
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
        if (o->dlv != NULL) {
            deliver_free(o->dlv);
        }
        for (size_t j = 0; j < o->npending; j++) {
            free(o->pending[j].bytes);
            free(o->pending[j].audit);
        }
        free(o->pending);
        plugin_instance_free(o->inst);
        free(o->name);
        free(o->path);
    }
    free(os->v);
    buf_free(&os->buf);
    privacy_report_reset(&os->report);
    privacy_set_free(os->privacy);
    audit_close(os->audit);
    free(os);
}

uint64_t
output_set_written(const struct output_set *os)
{
    uint64_t n = 0;

    for (size_t i = 0; i < os->n; i++) {
        n += os->v[i].accepted;
    }
    return n;
}

size_t
output_set_count(const struct output_set *os)
{
    return os->n;
}

void
output_set_get_stats(const struct output_set *os, size_t i, struct output_stats *st)
{
    const struct output *o = &os->v[i];

    memset(st, 0, sizeof(*st));
    st->name = o->name;
    st->plugin = o->co->plugin;
    st->is_partner = o->co->is_partner;
    st->accepted = o->accepted;
    st->failed = o->failed;
    st->filtered = o->filtered;
    st->withheld = o->withheld;
    st->pending = o->npending;
}

struct deliver *
output_set_deliver(const struct output_set *os, size_t i)
{
    return os->v[i].dlv;
}
