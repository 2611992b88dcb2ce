/*
 * Event fields and the per-event arena.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "xmalloc.h"

#define EVENT_CHUNK_MIN 16384

void
event_init(struct event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->src.partition = -1;
    ev->max_fields = EVENT_MAX_FIELDS_DEFAULT;
}

void
event_reset(struct event *ev)
{
    struct event_chunk *c = ev->chunks;

    /* Keep the largest block only, so memory stays bounded by the largest event. */
    if (c != NULL) {
        struct event_chunk *big = c;
        for (struct event_chunk *p = c->next; p != NULL; p = p->next) {
            if (p->cap > big->cap) {
                big = p;
            }
        }
        while (c != NULL) {
            struct event_chunk *next = c->next;
            if (c != big) {
                free(c);
            }
            c = next;
        }
        big->next = NULL;
        big->used = 0;
        ev->chunks = big;
    }
    memset(&ev->src, 0, sizeof(ev->src));
    ev->src.partition = -1;
    ev->time_us = 0;
    ev->arrival_us = 0;
    ev->time_from_arrival = 0;
    ev->raw = NULL;
    ev->raw_len = 0;
    ev->format = NULL;
    ev->nfields = 0;
}

void
event_free(struct event *ev)
{
    struct event_chunk *c = ev->chunks;

    while (c != NULL) {
        struct event_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(ev->fields);
    memset(ev, 0, sizeof(*ev));
}

/* A new block for n bytes (n already rounded to 8) and the allocation from it. */
char *
event_alloc_block(struct event *ev, size_t n)
{
    struct event_chunk *c = ev->chunks;
    size_t cap = n > EVENT_CHUNK_MIN ? n : EVENT_CHUNK_MIN;
    struct event_chunk *nc;

    if (c != NULL && c->cap * 2 > cap && c->used == 0) {
        cap = c->cap * 2;
    }
    nc = xmalloc(sizeof(*nc) + cap);
    nc->cap = cap;
    nc->used = n;
    nc->next = c;
    ev->chunks = nc;
    return nc->data;
}

int
event_set_raw(struct event *ev, const char *line, size_t len)
{
    ev->raw = event_strdup(ev, line, len);
    ev->raw_len = len;
    return event_add(ev, F_ORIGINAL, sizeof(F_ORIGINAL) - 1, ev->raw, len);
}

uint32_t
event_name_hash(const char *name, size_t len)
{
    return event_name_hash_inline(name, len);
}

void
event_grow_fields(struct event *ev)
{
    ev->fields_cap = ev->fields_cap ? ev->fields_cap * 2 : 32;
    ev->fields = xreallocarray(ev->fields, ev->fields_cap, sizeof(*ev->fields));
}

int
event_add_copy(struct event *ev, const char *name, size_t name_len, const char *value,
               size_t value_len)
{
    if (ev->nfields >= ev->max_fields) {
        return -1;
    }
    return event_add(ev, event_strdup(ev, name, name_len), name_len,
                     event_strdup(ev, value, value_len), value_len);
}

int
event_set(struct event *ev, const char *name, size_t name_len, const char *value,
          size_t value_len)
{
    uint32_t h = event_name_hash_inline(name, name_len);

    for (uint32_t i = 0; i < ev->nfields; i++) {
        struct event_field *f = &ev->fields[i];
        if (f->name_hash == h && f->name_len == name_len &&
            memcmp(f->name, name, name_len) == 0) {
            f->value = value;
            f->value_len = (uint32_t)value_len;
            return 0;
        }
    }
    return event_add(ev, name, name_len, value, value_len);
}

void
event_del(struct event *ev, const char *name, size_t name_len)
{
    uint32_t h = event_name_hash_inline(name, name_len);
    uint32_t j = 0;

    for (uint32_t i = 0; i < ev->nfields; i++) {
        struct event_field *f = &ev->fields[i];
        if (f->name_hash == h && f->name_len == name_len &&
            memcmp(f->name, name, name_len) == 0) {
            continue;
        }
        ev->fields[j++] = *f;
    }
    ev->nfields = j;
}

const struct event_field *
event_find(const struct event *ev, const char *name, size_t name_len, uint32_t hash)
{
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        if (f->name_hash == hash && f->name_len == name_len &&
            memcmp(f->name, name, name_len) == 0) {
            return f;
        }
    }
    return NULL;
}

const struct event_field *
event_find_next(const struct event *ev, const struct event_field *after)
{
    assert(after >= ev->fields && after < ev->fields + ev->nfields);
    for (const struct event_field *f = after + 1; f < ev->fields + ev->nfields; f++) {
        if (f->name_hash == after->name_hash && f->name_len == after->name_len &&
            memcmp(f->name, after->name, after->name_len) == 0) {
            return f;
        }
    }
    return NULL;
}

const struct event_field *
event_get(const struct event *ev, const char *name)
{
    size_t len = strlen(name);

    return event_find(ev, name, len, event_name_hash(name, len));
}

void
event_set_time(struct event *ev, int64_t time_us, int from_arrival)
{
    ev->time_us = time_us;
    ev->time_from_arrival = from_arrival;
}
