/*
 * alertutil.h - small readers over the plugin ABI's alert accessors, header-only: field
 * look-up in an evidence event, and the distinct values one ECS field takes across an
 * alert (the matched event, the group-by values, the evidence sample), which the exchange
 * formats turn into observables; the rule's ATT&CK references, the TLP label, host name and
 * correlation value as the formats write them. Pointers returned point into the host's alert and
 * are valid for the duration of the emit() call.
 */
#ifndef KZ_PLUGIN_ALERTUTIL_H
#define KZ_PLUGIN_ALERTUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <kizuna/plugin.h>

#include "attack.h"
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

/* A list of an alert's fields: one of its field sets, or one evidence event. */
struct alertutil_fields {
    int evidence;          /* 1: evidence event `ev`; 0: the alert's field set `set` */
    enum kz_field_set set; /* KZ_FIELDS_EVENT or KZ_FIELDS_GROUP */
    size_t ev;
};

/* A string attribute, "" when the host has none. */
static inline const char *
alertutil_str(const struct kz_host *h, const struct kz_alert *a, enum kz_alert_attr attr)
{
    const char *s = h->alert_str(a, attr);

    return s != NULL ? s : "";
}

/* The daemon's host name the alert carries, or "kizunad" when it has none. */
static inline const char *
alertutil_host(const struct kz_host *h, const struct kz_alert *a)
{
    const char *s = h->alert_str(a, KZ_ALERT_HOST);

    return s != NULL && s[0] != '\0' ? s : "kizunad";
}

/*
 * The correlation value as "%.17g" text into num. Returns 1, or 0 (num untouched) when the
 * alert has no value or it is NaN.
 */
static inline int
alertutil_value_text(const struct kz_host *h, const struct kz_alert *a, char *num, size_t size)
{
    double value;

    if (h->alert_value(a, &value) != 1 || value != value) {
        return 0;
    }
    snprintf(num, size, "%.17g", value);
    return 1;
}

static inline int
alertutil_name_is(const struct kz_field *f, const char *name)
{
    size_t n = strlen(name);

    return f->name_len == n && memcmp(f->name, name, n) == 0;
}

/* The list of field set `set` (KZ_FIELDS_EVENT, KZ_FIELDS_GROUP). */
static inline struct alertutil_fields
alertutil_fields_of_set(enum kz_field_set set)
{
    struct alertutil_fields list = {0, set, 0};

    return list;
}

/* The list of the fields of evidence event ev. */
static inline struct alertutil_fields
alertutil_fields_of_evidence(size_t ev)
{
    struct alertutil_fields list = {1, KZ_FIELDS_EVENT, ev};

    return list;
}

/* How many fields the list holds. */
static inline size_t
alertutil_fields_count(const struct kz_host *h, const struct kz_alert *a,
                       const struct alertutil_fields *list)
{
    if (list->evidence) {
        return h->evidence_nfields(a, list->ev);
    }
    return h->alert_nfields(a, list->set);
}

/* Field i of the list into *f (pointing into the alert); KZ_OK or the host's error. */
static inline int
alertutil_fields_get(const struct kz_host *h, const struct kz_alert *a,
                     const struct alertutil_fields *list, size_t i, struct kz_field *f)
{
    if (list->evidence) {
        return h->evidence_field(a, list->ev, i, f);
    }
    return h->alert_field(a, list->set, i, f);
}

/* First value of field `name` in the list, or NULL; *len receives its length. */
static inline const char *
alertutil_fields_find(const struct kz_host *h, const struct kz_alert *a,
                      const struct alertutil_fields *list, const char *name, size_t *len)
{
    size_t n = alertutil_fields_count(h, a, list);

    for (size_t i = 0; i < n; i++) {
        struct kz_field f;

        if (alertutil_fields_get(h, a, list, i, &f) == KZ_OK && alertutil_name_is(&f, name)) {
            *len = f.value_len;
            return f.value;
        }
    }
    return NULL;
}

/* First value of field `name` in evidence event ev, or NULL; *len receives its length. */
static inline const char *
alertutil_evidence_get(const struct kz_host *h, const struct kz_alert *a, size_t ev,
                       const char *name, size_t *len)
{
    struct alertutil_fields list = alertutil_fields_of_evidence(ev);

    return alertutil_fields_find(h, a, &list, name, len);
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

/* Add every value of field `name` in the list to vals (alertutil_values_add()). */
static inline void
alertutil_values_add_all(const struct kz_host *h, const struct kz_alert *a,
                         const struct alertutil_fields *list, const char *name,
                         struct alertutil_values *vals)
{
    size_t n = alertutil_fields_count(h, a, list);

    for (size_t i = 0; i < n; i++) {
        struct kz_field f;

        if (alertutil_fields_get(h, a, list, i, &f) == KZ_OK && alertutil_name_is(&f, name)) {
            alertutil_values_add(vals, f.value, f.value_len);
        }
    }
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
    struct alertutil_fields event = alertutil_fields_of_set(KZ_FIELDS_EVENT);
    struct alertutil_fields group = alertutil_fields_of_set(KZ_FIELDS_GROUP);
    size_t nev = h->alert_nevidence(a);

    vals->n = 0;
    alertutil_values_add_all(h, a, &event, name, vals);
    alertutil_values_add_all(h, a, &group, name, vals);
    for (size_t e = 0; e < nev; e++) {
        struct alertutil_fields evidence = alertutil_fields_of_evidence(e);

        alertutil_values_add_all(h, a, &evidence, name, vals);
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
    struct alertutil_fields group = alertutil_fields_of_set(KZ_FIELDS_GROUP);
    const char *v = h->alert_get(a, name, len);

    if (v != NULL) {
        return v;
    }
    return alertutil_fields_find(h, a, &group, name, len);
}

/*
 * The value of `name` (alertutil_get()) as an IP address in canonical form into canon.
 * Returns its family, or NETADDR_NONE (canon = "") when there is none or it is no address.
 */
static inline enum netaddr_family
alertutil_get_address(const struct kz_host *h, const struct kz_alert *a, const char *name,
                      char canon[NETADDR_MAX])
{
    size_t n = 0;
    const char *v = alertutil_get(h, a, name, &n);

    canon[0] = '\0';
    return v != NULL ? netaddr_parse(v, n, canon) : NETADDR_NONE;
}

/*
 * The distinct addresses of field `name` into set (alertutil_addresses()). Returns the index
 * in set of the alert's own address (alertutil_get_address()), the one formats give the
 * details of the matched event; -1 when there is none or the set does not hold it.
 */
static inline int
alertutil_addresses_own(const struct kz_host *h, const struct kz_alert *a, const char *name,
                        struct netaddr_set *set)
{
    char own[NETADDR_MAX];

    alertutil_addresses(h, a, name, set);
    if (alertutil_get_address(h, a, name, own) == NETADDR_NONE) {
        return -1;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->addr[i], own) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The ATT&CK techniques and tactics of the rule's tags (attack_set_add()). */
static inline void
alertutil_attack(const struct kz_host *h, const struct kz_alert *a, struct attack_set *set)
{
    size_t n = h->alert_ntags(a);

    set->ntechniques = 0;
    set->ntactics = 0;
    for (size_t i = 0; i < n; i++) {
        attack_set_add(set, h->alert_tag(a, i));
    }
}

/* The TLP 2.0 labels, in the order of the tables formats keep per label. */
enum alertutil_tlp_label {
    ALERTUTIL_TLP_CLEAR,
    ALERTUTIL_TLP_GREEN,
    ALERTUTIL_TLP_AMBER,
    ALERTUTIL_TLP_AMBER_STRICT,
    ALERTUTIL_TLP_RED,
    ALERTUTIL_TLP_COUNT
};

/* The name of a label: "clear", "green", "amber", "amber+strict", "red". */
static inline const char *
alertutil_tlp_name(enum alertutil_tlp_label t)
{
    static const char *const names[ALERTUTIL_TLP_COUNT] = {"clear", "green", "amber",
                                                           "amber+strict", "red"};

    return names[t];
}

/* The TLP label to apply: the host's, or amber when none was configured or it is unknown. */
static inline enum alertutil_tlp_label
alertutil_tlp_label(const struct kz_host *h, const struct kz_alert *a)
{
    const char *t = h->alert_str(a, KZ_ALERT_TLP);

    for (int i = 0; t != NULL && i < ALERTUTIL_TLP_COUNT; i++) {
        if (strcasecmp(t, alertutil_tlp_name((enum alertutil_tlp_label)i)) == 0) {
            return (enum alertutil_tlp_label)i;
        }
    }
    return ALERTUTIL_TLP_AMBER;
}

/* The name of the TLP label to apply (alertutil_tlp_label()). */
static inline const char *
alertutil_tlp(const struct kz_host *h, const struct kz_alert *a)
{
    return alertutil_tlp_name(alertutil_tlp_label(h, a));
}

#endif
