/*
 * Host-side alerts: construction, field lists, evidence, and deterministic ids.
 */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "xmalloc.h"

struct alert *
alert_new(const struct rule *rule)
{
    struct alert *a = xcalloc(1, sizeof(*a));

    a->rule = rule;
    a->group_key = xstrdup("");
    a->count = 1;
    return a;
}

/* Strings of a field list are copied into chunks that never move, freed with the list. */
struct alert_chunk {
    struct alert_chunk *next;
    size_t cap;
    size_t used;
    char data[];
};

#define ALERT_CHUNK_MIN 2048

static char *
alert_fields_store(struct alert_fields *fl, const char *s, size_t len)
{
    struct alert_chunk *c = fl->chunks;
    char *p;

    if (c == NULL || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > ALERT_CHUNK_MIN ? len + 1 : ALERT_CHUNK_MIN;
        struct alert_chunk *nc = xmalloc(sizeof(*nc) + cap);
        nc->cap = cap;
        nc->used = 0;
        nc->next = c;
        fl->chunks = nc;
        c = nc;
    }
    p = c->data + c->used;
    memcpy(p, s, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

void
alert_fields_add(struct alert_fields *fl, const char *name, size_t name_len, const char *value,
                 size_t value_len)
{
    struct alert_field *f;

    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? fl->cap * 2 : 16;
        fl->v = xreallocarray(fl->v, fl->cap, sizeof(*fl->v));
    }
    f = &fl->v[fl->n++];
    f->name = alert_fields_store(fl, name, name_len);
    f->name_len = name_len;
    f->value = alert_fields_store(fl, value, value_len);
    f->value_len = value_len;
}

void
alert_fields_from_event(struct alert_fields *fl, const struct event *ev)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        alert_fields_add(fl, f->name, f->name_len, f->value, f->value_len);
    }
}

void
alert_fields_free(struct alert_fields *fl)
{
    struct alert_chunk *c = fl->chunks;

    while (c != NULL) {
        struct alert_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(fl->v);
    memset(fl, 0, sizeof(*fl));
}

const struct alert_field *
alert_fields_get(const struct alert_fields *fl, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < fl->n; i++) {
        if (fl->v[i].name_len == len && memcmp(fl->v[i].name, name, len) == 0) {
            return &fl->v[i];
        }
    }
    return NULL;
}

struct alert_fields *
alert_add_evidence(struct alert *a)
{
    if (a->nevidence >= ALERT_MAX_EVIDENCE) {
        return NULL;
    }
    a->evidence = xreallocarray(a->evidence, a->nevidence + 1, sizeof(*a->evidence));
    memset(&a->evidence[a->nevidence], 0, sizeof(*a->evidence));
    return &a->evidence[a->nevidence++];
}

void
alert_free(struct alert *a)
{
    if (a == NULL) {
        return;
    }
    free(a->group_key);
    alert_fields_free(&a->group);
    alert_fields_free(&a->fields);
    for (size_t i = 0; i < a->nevidence; i++) {
        alert_fields_free(&a->evidence[i]);
    }
    free(a->evidence);
    free(a);
}

void
alert_compute_id(struct alert *a, const char *group_key, int64_t window_start_us)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char start[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    /* Fields are separated by NUL so that ("ab","c") and ("a","bc") differ. */
    snprintf(start, sizeof(start), "%" PRId64, window_start_us);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a->rule->id, strlen(a->rule->id) + 1);
    EVP_DigestUpdate(ctx, a->rule->hash, strlen(a->rule->hash) + 1);
    EVP_DigestUpdate(ctx, group_key, strlen(group_key) + 1);
    EVP_DigestUpdate(ctx, start, strlen(start));
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 16; i++) {
        a->id[2 * i] = "0123456789abcdef"[md[i] >> 4];
        a->id[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    a->id[32] = '\0';
    if (a->group_key == NULL || strcmp(a->group_key, group_key) != 0) {
        free(a->group_key);
        a->group_key = xstrdup(group_key);
    }
}
