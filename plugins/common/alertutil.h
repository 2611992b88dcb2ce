/*
 * alertutil.h - small readers over the plugin ABI's alert accessors, header-only: field
 * look-up in an evidence event, and the distinct values one ECS field takes across an
 * alert (the matched event, the group-by values, the evidence sample), which the exchange
 * formats turn into observables. Pointers returned point into the host's alert and are
 * valid for the duration of the emit() call.
 */
#ifndef KZ_PLUGIN_ALERTUTIL_H
#define KZ_PLUGIN_ALERTUTIL_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <kizuna/plugin.h>

#include "netaddr.h"

/* Most distinct values of one field an alert contributes (bounded, like the evidence). */
#define ALERTUTIL_MAX_VALUES 16

struct alertutil_value {
    const char *p;
    size_t n;
};

struct alertutil_values {
    struct alertutil_value v[ALERTUTIL_MAX_VALUES];
    size_t n;
};

/* A string attribute, "" when the host has none. */
static inline const char *
alertutil_str(const struct kz_host *h, const struct kz_alert *a, enum kz_alert_attr attr)
{
    const char *s = h->alert_str(a, attr);

    return s != NULL ? s : "";
}

static inline int
alertutil_name_is(const struct kz_field *f, const char *name)
{
    size_t n = strlen(name);

    return f->name_len == n && memcmp(f->name, name, n) == 0;
}

/* First value of field `name` in evidence event ev, or NULL; *len receives its length. */
static inline const char *
alertutil_evidence_get(const struct kz_host *h, const struct kz_alert *a, size_t ev,
                       const char *name, size_t *len)
{
    size_t n = h->evidence_nfields(a, ev);

    for (size_t i = 0; i < n; i++) {
        struct kz_field f;

        if (h->evidence_field(a, ev, i, &f) == KZ_OK && alertutil_name_is(&f, name)) {
            *len = f.value_len;
            return f.value;
        }
    }
    return NULL;
}

static inline void
alertutil_values_add(struct alertutil_values *vals, const char *p, size_t n)
{
    if (p == NULL || n == 0 || vals->n >= ALERTUTIL_MAX_VALUES) {
        return;
    }
    for (size_t i = 0; i < vals->n; i++) {
        if (vals->v[i].n == n && memcmp(vals->v[i].p, p, n) == 0) {
            return;
        }
    }
    vals->v[vals->n].p = p;
    vals->v[vals->n].n = n;
    vals->n++;
}

/*
 * The distinct non-empty values of field `name`, in a fixed order: every value in the
 * matched event, then the group-by fields, then each evidence event. At most
 * ALERTUTIL_MAX_VALUES; the rest are dropped.
 */
static inline void
alertutil_values(const struct kz_host *h, const struct kz_alert *a, const char *name,
                 struct alertutil_values *vals)
{
    static const enum kz_field_set sets[2] = {KZ_FIELDS_EVENT, KZ_FIELDS_GROUP};
    size_t nev;

    vals->n = 0;
    for (int s = 0; s < 2; s++) {
        size_t n = h->alert_nfields(a, sets[s]);

        for (size_t i = 0; i < n; i++) {
            struct kz_field f;

            if (h->alert_field(a, sets[s], i, &f) == KZ_OK && alertutil_name_is(&f, name)) {
                alertutil_values_add(vals, f.value, f.value_len);
            }
        }
    }
    nev = h->alert_nevidence(a);
    for (size_t e = 0; e < nev; e++) {
        size_t n = h->evidence_nfields(a, e);

        for (size_t i = 0; i < n; i++) {
            struct kz_field f;

            if (h->evidence_field(a, e, i, &f) == KZ_OK && alertutil_name_is(&f, name)) {
                alertutil_values_add(vals, f.value, f.value_len);
            }
        }
    }
}

/*
 * The distinct addresses (canonical form) among the values of field `name`, in the order of
 * alertutil_values(); values that are not addresses are skipped.
 */
static inline void
alertutil_addresses(const struct kz_host *h, const struct kz_alert *a, const char *name,
                    struct netaddr_set *set)
{
    struct alertutil_values vals;

    set->n = 0;
    alertutil_values(h, a, name, &vals);
    for (size_t i = 0; i < vals.n; i++) {
        netaddr_set_add(set, vals.v[i].p, vals.v[i].n);
    }
}

/* The value of `name` in the matched event, else in the group-by fields, else NULL. */
static inline const char *
alertutil_get(const struct kz_host *h, const struct kz_alert *a, const char *name, size_t *len)
{
    const char *v = h->alert_get(a, name, len);
    size_t n;

    if (v != NULL) {
        return v;
    }
    n = h->alert_nfields(a, KZ_FIELDS_GROUP);
    for (size_t i = 0; i < n; i++) {
        struct kz_field f;

        if (h->alert_field(a, KZ_FIELDS_GROUP, i, &f) == KZ_OK && alertutil_name_is(&f, name)) {
            *len = f.value_len;
            return f.value;
        }
    }
    return NULL;
}

/* The TLP label to apply: the host's, or "amber" when none was configured or it is unknown. */
static inline const char *
alertutil_tlp(const struct kz_host *h, const struct kz_alert *a)
{
    static const char *const known[] = {"clear", "green", "amber", "amber+strict", "red"};
    const char *t = h->alert_str(a, KZ_ALERT_TLP);

    if (t != NULL) {
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (strcasecmp(t, known[i]) == 0) {
                return known[i];
            }
        }
    }
    return "amber";
}

#endif
