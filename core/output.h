/*
 * The partner layer: where alerts leave. Each `outputs:` entry or `partners:` entry is an
 * output: a filter (level, tags, rule ids), a TLP clearance, a format plugin instance
 * (plugin-loader.h), and a sink:
 *   - outputs: a file the host appends to (or stdout), written synchronously;
 *   - partners: a struct deliver (deliver.h): an on-disk spool and a transport.
 * An alert is complete for a partner once its bytes are in the spool (or written); if a
 * spool refuses them (full, disk error) they wait in a small in-memory queue and the output
 * set reports itself not writable, so the inputs pause instead of anything being dropped.
 *
 * The set lives on the loop thread. Delivery objects survive a reload: a new set built with
 * the old one as `prev` takes over the delivery of every partner that keeps its name.
 */
#ifndef KZ_OUTPUT_H
#define KZ_OUTPUT_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "alert.h"
#include "conf.h"
#include "errlist.h"
#include "plugin-loader.h"

struct output_set;

/* Called when a set that was not writable can take alerts again. */
typedef void (*output_writable_cb)(void *arg);

/*
 * Instantiate every output and partner of conf with plugins from reg. Partners open their
 * delivery on loop, or take it over from prev (a running set being replaced; NULL at
 * start). Returns 0 and *out (caller frees with output_set_free), or -1 with every problem
 * in errs and nothing taken from prev. With check_only, plugins are loaded and options and
 * delivery maps checked, but nothing is opened (loop may be NULL).
 */
int output_set_new(const struct conf *conf, struct plugin_registry *reg, uv_loop_t *loop,
                   int check_only, struct output_set *prev, struct output_set **out,
                   struct errlist *errs);
/* Hand one alert to every output whose filter and TLP clearance it passes. Read-only. */
void output_set_emit(struct output_set *os, struct alert *a);
/* 1 when every output can take alerts now (no alert waiting for a full spool). */
int output_set_writable(const struct output_set *os);
void output_set_set_writable_cb(struct output_set *os, output_writable_cb cb, void *arg);
/* Flush file sinks and retry alerts waiting for a spool (end of a batch, timer). */
void output_set_flush(struct output_set *os);
/* Reopen file sinks and delivery files (SIGHUP, for logrotate). */
void output_set_reopen(struct output_set *os);
/*
 * Shutdown: flush, then let every delivery drain for its bounded time and close its spool;
 * done(arg) runs on the loop when all are stopped. Free the set afterwards.
 */
void output_set_stop(struct output_set *os, void (*done)(void *arg), void *arg);
void output_set_free(struct output_set *os);
/* Alerts accepted (written or spooled), over all outputs. */
uint64_t output_set_written(const struct output_set *os);

/* Counters of one output, for metrics. */
struct output_stats {
    const char *name;
    const char *plugin;
    int is_partner;
    uint64_t accepted; /* written (outputs) or spooled (partners) */
    uint64_t failed;   /* format errors, write errors */
    uint64_t filtered; /* did not pass the filter */
    uint64_t withheld; /* above the partner's TLP clearance */
    uint64_t pending;  /* waiting in memory for a full spool */
};
size_t output_set_count(const struct output_set *os);
void output_set_get_stats(const struct output_set *os, size_t i, struct output_stats *st);
/* The delivery of output i, or NULL for a file output. */
struct deliver *output_set_deliver(const struct output_set *os, size_t i);

#endif
