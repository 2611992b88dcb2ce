/*
 * Delivery of one partner's alerts, losing nothing (docs/DELIVERY.md).
 *
 * A struct deliver owns a partner's on-disk spool (<state_dir>/spool/<partner>/) and one
 * transport (file, kafka, http, redis, syslog) chosen by the partner's `deliver:` map. The
 * partner layer (output.c) formats an alert with the partner's plugin and hands the bytes to
 * deliver_submit(); once that returns 0 the bytes are in the spool (they survive kill -9)
 * and the source event may be acknowledged. The transport then delivers spooled records in
 * spool order, retrying with backoff, and the spool forgets them once the partner confirmed.
 * Records spooled before a crash or restart are delivered after it (at-least-once).
 *
 * Everything runs on the libuv loop thread given to deliver_new(); no call blocks the loop
 * except the short write(2) of deliver_submit() (fsync runs on the threadpool).
 * Partners are independent: a stuck partner only fills its own spool.
 *
 * Function names use the file stem (deliver_), as STYLE.md asks.
 */
#ifndef KZ_DELIVER_H
#define KZ_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "errlist.h"
#include "yaml-tree.h"

#define DELIVER_DEFAULT_STATE_DIR "/var/lib/kizuna"

struct deliver;

/* What deliver_new() and deliver_check() need; only read, never kept. */
struct deliver_conf {
    const char *partner;         /* name: spool directory and log tag; [A-Za-z0-9._-]+ */
    const char *state_dir;       /* NULL: DELIVER_DEFAULT_STATE_DIR */
    const struct ynode *deliver; /* the partner's `deliver:` map (keys in DELIVERY.md) */
    const char *conf_file;       /* for messages "FILE:LINE:COL: partner 'X': ..." */
    const char *conf_dir;        /* relative paths in the map resolve against it; NULL: cwd */
};

/* Counters of one partner (deliver_get_stats()). */
struct deliver_stats {
    uint64_t submitted; /* records deliver_submit() accepted */
    uint64_t refused;   /* deliver_submit() calls that returned an error */
    uint64_t delivered; /* records the partner confirmed (what that means: per transport) */
    uint64_t failed;    /* send attempts that failed transiently (record sent again) */
    uint64_t retries;   /* backoff rounds: failed attempts after which delivery waited */
    uint64_t rejected;  /* records refused permanently, moved to the rejected file */
    uint64_t dropped;   /* records removed undelivered by spool.policy drop_oldest */
    uint64_t recovered; /* records found in the spool at start (spooled by an earlier run) */
    uint64_t redelivered_after_restart; /* delivered records that were recovered: these may
                                           duplicate what the earlier run delivered */
    uint64_t corrupt;                   /* corrupt or truncated spool regions skipped (logged) */
    uint64_t spool_bytes;               /* size of the spool's segment files */
    uint64_t spool_records; /* records spooled, not yet delivered, rejected or dropped */
    uint64_t in_flight;     /* records handed to the transport, not yet confirmed */
    int up;                 /* 0 while the partner is failing (between failure and recovery) */
};

/*
 * Validate a partner's delivery config without side effects (--check-config): keys, types,
 * bounds, that files it names exist with safe permissions. Every problem is appended to
 * errs as "FILE:LINE:COL: partner 'X': ...". Returns 0 when valid, -1 otherwise.
 */
int deliver_check(const struct deliver_conf *dc, struct errlist *errs);

/*
 * Validate dc, create/open the spool directory, recover records left by an earlier run
 * (they are delivered first) and start the transport on loop. Returns 0 and *out (owned by
 * the caller: deliver_stop() then deliver_free()), or -1 with the problems in errs.
 * Also sets SIGXFSZ and SIGPIPE to SIG_IGN (process-wide): a file size limit or a partner
 * that hung up is an error to handle (EFBIG, EPIPE), not a kill.
 */
int deliver_new(uv_loop_t *loop, const struct deliver_conf *dc, struct deliver **out,
                struct errlist *errs);

/*
 * Append one record (the formatted alert) to the partner's spool. bytes are copied;
 * alert_id (NUL-terminated, 1..1024 bytes) travels with it (Kafka key, HTTP header, Redis
 * field). Returns:
 *   0            safely spooled: the caller may acknowledge the source event. Also 0 for a
 *                record that can never be spooled (larger than spool.max_record or a quarter
 *                of spool.max_bytes, or a bad id): it is kept in the partner's rejected
 *                file instead, counted in `rejected` and logged;
 *   -EAGAIN      spool full (spool.policy block): not spooled; pause the inputs and submit
 *                again after the writable callback;
 *   -ESHUTDOWN   deliver_stop() has finished draining;
 *   other < 0    -errno of a failed write (ENOSPC, EFBIG, EIO ...): not spooled; treat as
 *                -EAGAIN (the writable callback follows after retry.initial).
 * Loop thread only.
 */
int deliver_submit(struct deliver *d, const char *alert_id, const void *bytes, size_t len);

typedef void (*deliver_writable_cb)(void *arg);

/*
 * Set the callback called (once, from the loop, never from inside deliver_submit()) after a
 * deliver_submit() returned -EAGAIN or a write error, when submitting may succeed again.
 */
void deliver_set_writable_cb(struct deliver *d, deliver_writable_cb cb, void *arg);

/* Reopen what the transport has open by path (the file transport; SIGHUP, logrotate). */
void deliver_reopen(struct deliver *d);

typedef void (*deliver_done_cb)(void *arg);

/*
 * Stop: keep delivering for at most drain_timeout (default 5s) or until the spool is empty,
 * then close the transport, fsync the spool and save the cursor; done(arg) is called from
 * the loop when every handle is closed. What was not delivered stays in the spool for the
 * next start. deliver_submit() still spools while stopping.
 */
void deliver_stop(struct deliver *d, deliver_done_cb done, void *arg);

/*
 * Free a stopped delivery (after done). Called on one that was not stopped, it closes
 * without draining and the memory is released once the loop has run the close callbacks.
 * Accepts NULL.
 */
void deliver_free(struct deliver *d);

/* Copy the partner's counters into *st. */
void deliver_get_stats(const struct deliver *d, struct deliver_stats *st);

/* The partner's name (owned by d). */
const char *deliver_partner(const struct deliver *d);

#endif
