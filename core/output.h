/*
 * Outputs: where alerts leave. Each output is a format plugin instance (plugin-loader.h)
 * plus a sink the host owns (a file appended to, or stdout). The partner layer of the
 * partner-exchange issue (filters, privacy, delivery queues) builds on this.
 */
#ifndef KZ_OUTPUT_H
#define KZ_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "conf.h"
#include "errlist.h"
#include "plugin-loader.h"

struct output_set;

/*
 * Instantiate every output of conf with plugins from reg, and open their sinks. Returns 0
 * and *out (caller frees with output_set_free), or -1 with every problem in errs.
 * With check_only, plugins are loaded and options checked but nothing is opened.
 */
int output_set_new(const struct conf *conf, struct plugin_registry *reg, int check_only,
                   struct output_set **out, struct errlist *errs);
/* Hand one alert to every output. The alert is only read. */
void output_set_emit(struct output_set *os, struct alert *a);
/* Flush every sink (end of a batch, shutdown). */
void output_set_flush(struct output_set *os);
/* Reopen file sinks (SIGHUP, for logrotate). */
void output_set_reopen(struct output_set *os);
void output_set_free(struct output_set *os);
/* Alerts written, over all outputs. */
uint64_t output_set_written(const struct output_set *os);

#endif
