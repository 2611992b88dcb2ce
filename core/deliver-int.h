/*
 * Inside partner delivery: the transport interface (deliver-file.c, deliver-kafka.c,
 * deliver-http.c, deliver-redis.c, deliver-syslog.c implement it; deliver.c drives it) and
 * the key tables that parse a `deliver:` map. Not for the partner layer: it uses deliver.h.
 *
 * A transport sends records that deliver.c hands it, in spool order, and reports the
 * outcome of every send exactly once with deliver_done(): OK (the partner has it), RETRY
 * (transient: deliver.c backs off and sends it again, in order) or REJECT (the partner
 * refuses this record for good: it goes to the rejected file). It may report from inside
 * send(). It owns its connections and reconnects on its own when send() is next called.
 */
#ifndef KZ_DELIVER_INT_H
#define KZ_DELIVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "deliver.h"
#include "errlist.h"
#include "spool.h"
#include "yaml-tree.h"

enum deliver_result {
    DELIVER_OK,
    DELIVER_RETRY,
    DELIVER_REJECT,
};

enum deliver_rec_state {
    DELIVER_REC_QUEUED, /* read from the spool, not sent (or to be sent again) */
    DELIVER_REC_SENT,   /* handed to the transport */
    DELIVER_REC_DONE,   /* delivered or rejected; acknowledged in the spool in order */
};

/* A record in flight. The transport reads it; deliver.c owns it. */
struct deliver_rec {
    struct spool_rec *sr; /* sr->id, sr->id_len, sr->data, sr->len */
    enum deliver_rec_state state;
    uint32_t attempts;
    void *tdata; /* free for the transport while the record is SENT */
};

/* Types of keys in a deliver map. */
enum deliver_key_type {
    DK_STRING,   /* char * (owned by the conf struct) */
    DK_PATH,     /* char *, relative paths resolved against the config's directory */
    DK_BOOL,     /* int */
    DK_INT,      /* int64_t within [min, max] */
    DK_DURATION, /* int64_t µs within [min, max] µs ("500ms", "10s", "1m") */
    DK_SIZE,     /* int64_t bytes within [min, max] ("64KiB", "1GiB", bare: bytes) */
    DK_ENUM,     /* int: index of the value in enums */
    DK_PROPS,    /* char ** key, value, key, value ... NULL (a map of scalars) */
    DK_TABLE,    /* a nested map parsed with sub (offsets into the same struct) */
};

/* One key: name, type, default (parsed as if written in the config; NULL: none). */
struct deliver_key {
    const char *name;
    enum deliver_key_type type;
    const char *def;
    int64_t min;
    int64_t max;
    size_t off;
    const char *const *enums;
    const struct deliver_key *sub;
    int required;
    const char *help;
};

/* Where a conf is being parsed: for messages and relative paths. */
struct deliver_ctx {
    const char *partner;
    const char *conf_file;
    const char *conf_dir;
    const struct ynode *node; /* the deliver map */
};

struct deliver_transport {
    const char *type;
    const struct deliver_key *keys; /* ends with a NULL name */
    size_t conf_size;               /* struct the keys fill */
    uint32_t window;                /* default max_in_flight */
    uint32_t window_max;            /* max_in_flight allowed (http: 1, to keep order) */
    /* Checks across keys and of the files the keys name; no side effects. 0 or -1. */
    int (*check)(const void *conf, const struct deliver_ctx *cx, struct errlist *errs);
    /* Set up (no network I/O needed yet). 0 and *state, or -1 with a message in err. */
    int (*open)(struct deliver *d, const void *conf, void **state, char *err, size_t errlen);
    /* Send one record; the outcome comes through deliver_done(). */
    void (*send)(void *state, struct deliver_rec *rec);
    /* Reopen what is open by path (SIGHUP); may be NULL. */
    void (*reopen)(void *state);
    /*
     * Close: forget records in flight (no deliver_done() for them any more), close every
     * handle, free the state, then call deliver_transport_closed(d) (possibly from inside).
     */
    void (*close)(void *state);
};

extern const struct deliver_transport deliver_file_transport;
extern const struct deliver_transport deliver_kafka_transport;
extern const struct deliver_transport deliver_http_transport;
extern const struct deliver_transport deliver_redis_transport;
extern const struct deliver_transport deliver_syslog_transport;

/*
 * Report the outcome of a send; reason (may be NULL) is logged when delivery starts to
 * fail or a record is rejected. Loop thread.
 */
void deliver_done(struct deliver *d, struct deliver_rec *rec, enum deliver_result res,
                  const char *reason);
/*
 * Report RETRY for every record in flight except skip (may be NULL), in spool order: for a
 * transport that lost track of what it sent (a replaced Kafka producer).
 */
void deliver_retry_sent(struct deliver *d, struct deliver_rec *skip, const char *reason);
/* The transport finished closing (see close). */
void deliver_transport_closed(struct deliver *d);
uv_loop_t *deliver_loop(const struct deliver *d);
/* "partner 'NAME'", for log lines. */
const char *deliver_tag(const struct deliver *d);

/*
 * Fill the struct at base from map node with table keys (others are the caller's:
 * skip lists them, NULL-terminated), appending "FILE:LINE:COL: partner 'X': deliver.KEY:
 * ..." errors. Returns 0 or -1. The struct must be freed with deliver_keys_free().
 */
int deliver_keys_parse(const struct deliver_key *keys, const struct ynode *node, const char *prefix,
                       const char *const *skip, const struct deliver_ctx *cx, void *base,
                       struct errlist *errs);
/* Free what deliver_keys_parse() allocated in base (not base itself). */
void deliver_keys_free(const struct deliver_key *keys, void *base);
/* Append an error about node (or the deliver map when node is NULL). */
void deliver_conf_error(const struct deliver_ctx *cx, const struct ynode *node,
                        struct errlist *errs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Read a secret or header file that must not be readable by group or others. Returns 0 and
 * *out (caller frees) or -1 with a message in err.
 */
int deliver_read_private_file(const char *path, char **out, char *err, size_t errlen);

#endif
