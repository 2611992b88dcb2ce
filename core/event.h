/*
 * One decoded event: named fields (ECS names, dotted paths for nested JSON), event time,
 * where it came from, and the raw line. An event owns an arena from which its field names
 * and values are allocated; arena memory never moves, so pointers into it stay valid until
 * event_reset() or event_free(). One event is reused for every line of an input, so the
 * hot path does not allocate once the arena has grown to fit.
 */
#ifndef KZ_EVENT_H
#define KZ_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* Well-known field names (Elastic Common Schema). */
#define F_TIMESTAMP "@timestamp"
#define F_MESSAGE "message"
#define F_ORIGINAL "event.original"
#define F_HOST_NAME "host.name"
#define F_PROCESS_NAME "process.name"
#define F_PROCESS_PID "process.pid"
#define F_SOURCE_IP "source.ip"

/* Hard limits; the configured limits may be lower (conf: limits:). */
#define EVENT_MAX_FIELDS_DEFAULT 256
#define EVENT_MAX_DEPTH_DEFAULT 32

struct event_field {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
    uint32_t name_hash; /* event_name_hash(name, name_len) */
};

/* Where an event came from; enough to dead-letter it and to acknowledge it. */
struct event_source {
    const char *name;   /* topic or file path; owned by the input, outlives the event */
    uint32_t input;     /* index of the input in the config */
    int32_t partition;  /* Kafka partition, -1 for files and stdin */
    int64_t offset;     /* Kafka offset, or byte offset of the line in the file */
    uint64_t line;      /* 1-based line number for files and stdin, 0 for Kafka */
};

/* One arena block; blocks are kept across event_reset() and reused (event.c). */
struct event_chunk {
    struct event_chunk *next;
    size_t cap;
    size_t used;
    char data[];
};

struct event {
    struct event_source src;
    int64_t time_us;           /* event time, microseconds since the epoch */
    int64_t arrival_us;        /* when kizunad read it */
    int time_from_arrival;     /* 1 when the event had no usable time of its own */
    const char *raw;           /* the raw line (arena copy), also field event.original */
    size_t raw_len;
    const char *format;        /* decoder that produced it: "syslog", "json", ... */

    struct event_field *fields;
    uint32_t nfields;
    uint32_t fields_cap;
    uint32_t max_fields;       /* event_add() refuses beyond this */

    struct event_chunk *chunks; /* arena */
};

/* Set up an empty event. */
void event_init(struct event *ev);
/* Forget all fields and arena contents, keeping memory for the next event. */
void event_reset(struct event *ev);
/* Release everything the event owns. */
void event_free(struct event *ev);

/* The slow path of event_alloc(): a new arena block. */
char *event_alloc_block(struct event *ev, size_t n);

/*
 * Allocate n bytes from the event's arena; valid until event_reset(). Never NULL. Inline:
 * a decoded line takes a handful, and the common case is a bump of the current block.
 */
static inline char *
event_alloc(struct event *ev, size_t n)
{
    struct event_chunk *c = ev->chunks;
    char *p;

    n = (n + 7) & ~(size_t)7;
    if (c == NULL || c->cap - c->used < n) {
        return event_alloc_block(ev, n);
    }
    p = c->data + c->used;
    c->used += n;
    return p;
}

/* Copy s[0..len) into the arena with a terminating NUL. */
static inline char *
event_strdup(struct event *ev, const char *s, size_t len)
{
    char *p = event_alloc(ev, len + 1);

    __builtin_memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Copy the raw line into the arena and add it as event.original. */
int event_set_raw(struct event *ev, const char *line, size_t len);

/* Like event_add() but copies name and value into the arena first. */
int event_add_copy(struct event *ev, const char *name, size_t name_len, const char *value,
                   size_t value_len);
/* Replace the first field of that name, or add it. name/value as for event_add(). */
int event_set(struct event *ev, const char *name, size_t name_len, const char *value,
              size_t value_len);
/* Remove every field of that name. */
void event_del(struct event *ev, const char *name, size_t name_len);

/* Hash of a field name (a word-wise mix, not FNV); rules precompute it for their names. */
uint32_t event_name_hash(const char *name, size_t len);

/*
 * The same hash, inline for the hot path (every field of every event is hashed). Field
 * names are short: it reads the first, middle and last 8 bytes (4 or single bytes of
 * shorter names) instead of looping over every byte, so the hash of a constant name folds
 * into a constant; collisions only cost a memcmp.
 */
static inline uint32_t
event_name_hash_inline(const char *name, size_t len)
{
    uint64_t a = 0, b = 0, c = 0, h;

    if (len >= 8) {
        __builtin_memcpy(&a, name, 8);
        __builtin_memcpy(&b, name + len - 8, 8);
        if (len > 16) {
            __builtin_memcpy(&c, name + len / 2 - 4, 8);
        }
    } else if (len >= 4) {
        uint32_t lo, hi;
        __builtin_memcpy(&lo, name, 4);
        __builtin_memcpy(&hi, name + len - 4, 4);
        a = (uint64_t)lo | (uint64_t)hi << 32;
    } else if (len > 0) {
        a = (uint64_t)(unsigned char)name[0] | (uint64_t)(unsigned char)name[len / 2] << 8 |
            (uint64_t)(unsigned char)name[len - 1] << 16;
    }
    h = (a ^ (uint64_t)len) * UINT64_C(0x9E3779B97F4A7C15);
    h ^= (b + (h >> 29)) * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= (c + (h >> 31)) * UINT64_C(0x165667B19E3779F9);
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Make room for one more field (out of line: the array grows rarely). */
void event_grow_fields(struct event *ev);

/*
 * Add a field. name and value must stay valid as long as the event (arena memory, static
 * strings, or the raw copy). Several fields may share a name (multi-valued, e.g. JSON
 * arrays of scalars). Returns 0, or -1 when the event already has max_fields fields.
 * Inline so that the hash of a constant name folds into a constant where it is called.
 */
static inline int
event_add(struct event *ev, const char *name, size_t name_len, const char *value,
          size_t value_len)
{
    struct event_field *f;

    if (ev->nfields >= ev->max_fields) {
        return -1;
    }
    if (ev->nfields == ev->fields_cap) {
        event_grow_fields(ev);
    }
    f = &ev->fields[ev->nfields++];
    f->name = name;
    f->name_len = (uint32_t)name_len;
    f->value = value;
    f->value_len = (uint32_t)value_len;
    f->name_hash = event_name_hash_inline(name, name_len);
    return 0;
}
/* First field with that name (hash from event_name_hash), or NULL. */
const struct event_field *event_find(const struct event *ev, const char *name,
                                     size_t name_len, uint32_t hash);
/* Next field after `after` with the same name, or NULL. */
const struct event_field *event_find_next(const struct event *ev,
                                          const struct event_field *after);
/* Convenience lookup by NUL-terminated name. */
const struct event_field *event_get(const struct event *ev, const char *name);

/* Set the event time; flag 1 if it was stamped from arrival. */
void event_set_time(struct event *ev, int64_t time_us, int from_arrival);

#endif
