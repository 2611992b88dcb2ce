/*
 * Helpers shared by the delivery tests (test-deliver*.c): a private temporary directory,
 * YAML snippets as config nodes, driving the loop until a condition or a deadline, and
 * the loopback partner servers of tests/partner-sink.py driven over pipes.
 */
#ifndef KZ_TEST_DELIVER_UTIL_H
#define KZ_TEST_DELIVER_UTIL_H

#include <stdio.h>
#include <sys/types.h>

#include <uv.h>

#include "deliver.h"
#include "yaml-tree.h"

/* Make the private temporary directory; returns its path (removed by dt_cleanup()). */
const char *dt_init(void);
void dt_cleanup(void);
/* A path inside the temporary directory (static buffer rotated over 8 calls). */
const char *dt_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse one YAML document (printf-formatted); aborts on error. Freed by dt_cleanup(). */
struct ynode *dt_yaml(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Run loop until cond(arg) is true or timeout_ms passed (a 5 ms timer keeps the loop
 * waking up to check). Returns 1 when cond became true.
 */
int dt_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, int timeout_ms);
/* Run loop for ms milliseconds (to observe that something does NOT happen). */
void dt_run_for(uv_loop_t *loop, int ms);

/* New delivery for partner with the given deliver map; NULL (with diagnostics) on error. */
struct deliver *dt_deliver_new(uv_loop_t *loop, const char *partner, const char *state_dir,
                               struct ynode *node);
/* deliver_stop(), run the loop until done, deliver_free(). Returns 1 when done was called. */
int dt_deliver_stop(uv_loop_t *loop, struct deliver *d, int timeout_ms);

/* Condition helper: stats of arg (a struct dt_wait) reach delivered >= n. */
struct dt_wait {
    struct deliver *d;
    uint64_t n;
};
int dt_delivered_at_least(void *arg);

/* One tests/partner-sink.py process. */
struct dt_sink {
    pid_t pid;
    FILE *cmd; /* its stdin */
    FILE *out; /* its stdout */
    int port;
};
/* Start the sink in mode ("http", "tcp", "udp") with extra args; 0 or -1 (skip the tests). */
int dt_sink_start(struct dt_sink *s, const char *mode, const char *args);
/* Send one command line, return its one-line answer (static buffer, no newline). */
const char *dt_sink_cmd(struct dt_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dt_sink_stop(struct dt_sink *s);

/*
 * Check a sink's records: the answer of "ids" is a space-separated list of ids in arrival
 * order. Counts duplicates and order violations against "t-000000".."t-(n-1)" style ids.
 */
struct dt_ids {
    int n;       /* ids received */
    int unique;  /* distinct ids of the expected set */
    int dups;    /* received more than once */
    int missing; /* expected, never received */
    int order;   /* 1 when first occurrences are in increasing order */
    int unknown; /* ids not of the expected set */
};
void dt_ids_check(const char *list, const char *prefix, int expected, struct dt_ids *r);

#endif
