/*
 * Correlation helpers shared by the compiler, the engine and the type files: the type
 * table, group keys, numbers, and Sigma conditions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr-int.h"
#include "xmalloc.h"

static const struct corr_type *const corr_types[] = {
    &corr_count_event_type, &corr_distinct_value_type, &corr_distinct_temporal_type,
    &corr_sequence_type,    &corr_sum_type,            &corr_sum_avg_type,
    &corr_absence_type,
};

/* The correlation type called name, or NULL. */
const struct corr_type *
corr_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof(corr_types) / sizeof(corr_types[0]); i++) {
        if (strcmp(corr_types[i]->name, name) == 0) {
            return corr_types[i];
        }
    }
    return NULL;
}

static void
corr_key_escape(struct buf *b, const char *s, size_t len)
{
    size_t from = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '|' || s[i] == '\\') {
            buf_append(b, s + from, i - from);
            buf_putc(b, '\\');
            from = i;
        }
    }
    buf_append(b, s + from, len - from);
}

/* Build the group key of ev into b (corr-int.h). Returns 0, or -1 when a field is missing. */
int
corr_key_build(struct buf *b, const struct event *ev, const struct corr_field *f, size_t n)
{
    buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        const struct event_field *ef = event_find(ev, f[i].name, f[i].len, f[i].hash);
        if (ef == NULL) {
            return -1;
        }
        if (i > 0) {
            buf_putc(b, '|');
        }
        corr_key_escape(b, ef->value, ef->value_len);
    }
    if (b->len > CORR_KEY_MAX) {
        /* FNV-1a 64 of the whole key: deterministic, so alert ids stay stable. */
        uint64_t h = UINT64_C(14695981039346656037);
        for (size_t i = 0; i < b->len; i++) {
            h ^= (unsigned char)b->data[i];
            h *= UINT64_C(1099511628211);
        }
        buf_truncate(b, CORR_KEY_MAX - 17);
        buf_printf(b, "#%016llx", (unsigned long long)h);
    }
    if (b->data == NULL) {
        buf_reserve(b, 1); /* "" for no group-by */
        b->data[0] = '\0';
    }
    return 0;
}

/* Append the values of a group key to fl as names[i]=value pairs. */
void
corr_key_split(struct alert_fields *fl, const char *key, size_t len, char *const *names,
               size_t n)
{
    struct buf v = {0};
    size_t i = 0, field = 0;

    while (field < n) {
        buf_reset(&v);
        while (i < len && key[i] != '|') {
            if (key[i] == '\\' && i + 1 < len) {
                i++;
            }
            buf_putc(&v, key[i]);
            i++;
        }
        alert_fields_add(fl, names[field], strlen(names[field]), v.data ? v.data : "", v.len);
        field++;
        if (i < len) {
            i++; /* the '|' */
        }
    }
    buf_free(&v);
}

/* Parse a finite number from s[0..len) (blanks around allowed). Returns 0 or -1. */
int
corr_number_parse(const char *s, size_t len, double *out)
{
    char tmp[64];
    char *end;
    double v;

    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    if (len == 0 || len >= sizeof(tmp)) {
        return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    v = strtod(tmp, &end);
    while (*end == ' ' || *end == '\t') {
        end++;
    }
    if (end == tmp || *end != '\0' || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

static int
corr_cond_number(const struct ynode *n, const struct rule *rule, const char *key, double *out,
                 struct errlist *errs)
{
    if (n->type != YNODE_SCALAR || corr_number_parse(n->str, n->len, out) != 0) {
        errlist_add(errs, rule->file, n->line, n->col,
                    "rule %s: condition %s needs a number", rule->id, key);
        return -1;
    }
    return 0;
}

/* Parse a Sigma condition map into c; errors to errs. Returns 0 or -1. */
int
corr_cond_parse(const struct ynode *node, const struct rule *rule, struct state_cond *c,
                struct errlist *errs)
{
    int bad = 0, has_eq = 0;

    memset(c, 0, sizeof(*c));
    if (node == NULL) {
        return 0;
    }
    if (node->type != YNODE_MAP) {
        errlist_add(errs, rule->file, node->line, node->col,
                    "rule %s: condition must be a map such as {gte: 5}", rule->id);
        return -1;
    }
    for (size_t i = 0; i < node->n; i++) {
        const char *k = node->keys[i]->str;
        const struct ynode *v = node->items[i];
        double x;
        if (strcmp(k, "field") == 0) {
            continue;
        }
        if (strcmp(k, "gt") != 0 && strcmp(k, "gte") != 0 && strcmp(k, "lt") != 0 &&
            strcmp(k, "lte") != 0 && strcmp(k, "eq") != 0 && strcmp(k, "neq") != 0) {
            errlist_add(errs, rule->file, node->keys[i]->line, node->keys[i]->col,
                        "rule %s: unknown condition '%s' (gt, gte, lt, lte, eq, neq, field)",
                        rule->id, k);
            bad = 1;
            continue;
        }
        if (corr_cond_number(v, rule, k, &x, errs) != 0) {
            bad = 1;
            continue;
        }
        if ((k[0] == 'g' && c->has_lo) || (k[0] == 'l' && c->has_hi) ||
            (strcmp(k, "neq") == 0 && c->has_neq) ||
            (strcmp(k, "eq") == 0 && (c->has_lo || c->has_hi)) ||
            (has_eq && k[0] != 'n')) {
            errlist_add(errs, rule->file, node->keys[i]->line, node->keys[i]->col,
                        "rule %s: condition '%s' conflicts with another bound", rule->id, k);
            bad = 1;
            continue;
        }
        if (strcmp(k, "gt") == 0 || strcmp(k, "gte") == 0) {
            c->has_lo = 1;
            c->lo_strict = k[2] == '\0';
            c->lo = x;
        } else if (strcmp(k, "lt") == 0 || strcmp(k, "lte") == 0) {
            c->has_hi = 1;
            c->hi_strict = k[2] == '\0';
            c->hi = x;
        } else if (strcmp(k, "eq") == 0) {
            has_eq = 1;
            c->has_lo = c->has_hi = 1;
            c->lo = c->hi = x;
        } else {
            c->has_neq = 1;
            c->neq = x;
        }
    }
    if (!bad && c->has_lo && c->has_hi &&
        (c->lo > c->hi || (c->lo == c->hi && (c->lo_strict || c->hi_strict)))) {
        errlist_add(errs, rule->file, node->line, node->col,
                    "rule %s: condition can never hold (empty range)", rule->id);
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* 1 if the condition can only be decided when the window closes. */
int
corr_cond_needs_close(const struct state_cond *c)
{
    return c->has_hi || c->has_neq;
}

/* The smallest count that satisfies a lower bound (0: no lower bound). */
uint64_t
corr_cond_min_count(const struct state_cond *c)
{
    double m;

    if (!c->has_lo) {
        return 0;
    }
    m = c->lo_strict ? floor(c->lo) + 1 : ceil(c->lo);
    if (m < 1) {
        return 1;
    }
    if (m > 1e18) {
        return UINT64_C(1000000000000000000);
    }
    return (uint64_t)m;
}

/* The condition as text ("gte 5") into buf[len]. */
void
corr_cond_format(const struct state_cond *c, char *buf, size_t len)
{
    int n = 0;

    buf[0] = '\0';
    if (c->has_lo && c->has_hi && c->lo == c->hi) {
        n += snprintf(buf + n, len - (size_t)n, "eq %g", c->lo);
    } else {
        if (c->has_lo) {
            n += snprintf(buf + n, len - (size_t)n, "%s %g", c->lo_strict ? "gt" : "gte", c->lo);
        }
        if (c->has_hi && (size_t)n < len) {
            n += snprintf(buf + n, len - (size_t)n, "%s%s %g", n ? " and " : "",
                          c->hi_strict ? "lt" : "lte", c->hi);
        }
    }
    if (c->has_neq && (size_t)n < len) {
        snprintf(buf + n, len - (size_t)n, "%sneq %g", n ? " and " : "", c->neq);
    }
}
