/*
 * Process statistics for the metrics endpoint: resident memory, open file descriptors, CPU
 * time, start time (read from /proc and getrusage() at scrape time), and the event loop's
 * lag: a periodic uv_timer measures how late it fires; a loop blocked by a long callback
 * fires it late by about as long as it was blocked.
 *
 * Metrics (see docs/OPERATIONS.md): process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_cpu_seconds_total, process_start_time_seconds, kizuna_loop_lag_seconds (last
 * measurement), kizuna_loop_lag_max_seconds (largest since the previous scrape),
 * kizuna_build_info{version}.
 */
#ifndef KZ_PROCSTAT_H
#define KZ_PROCSTAT_H

#include <stdint.h>

#include <uv.h>

#include "metrics.h"

struct procstat_sample {
    uint64_t resident_bytes;
    uint64_t virtual_bytes;
    uint64_t open_fds;
    uint64_t max_fds;   /* soft RLIMIT_NOFILE */
    double cpu_seconds; /* user + system */
    double start_time;  /* seconds since the Unix epoch */
};

struct procstat;

/*
 * Read the current process figures into s. Returns 0, or -1 when /proc could not be read
 * (the fields that could be read are filled, the others are 0). Any thread.
 */
int procstat_read(struct procstat_sample *s);

/*
 * Register the process metrics in reg (borrowed; must outlive the procstat) and start the
 * loop-lag timer on loop, firing every interval_ms (0: 500 ms). The timer is unreferenced:
 * it never keeps the loop alive. Returns 0 and *out, or a negative libuv error code with
 * *out NULL. Loop thread.
 */
int procstat_start(uv_loop_t *loop, struct metrics_registry *reg, uint64_t interval_ms,
                   struct procstat **out);

/*
 * The loop lag, in seconds: the last measurement, and the largest since the previous call
 * with reset set (each scrape resets it; with no measurement since, the last one). For
 * tests and the log. Loop thread.
 */
double procstat_lag_last(const struct procstat *ps);
double procstat_lag_max(struct procstat *ps, int reset);

/*
 * Unregister the metrics and stop the timer; the memory is freed in the timer's close
 * callback (run the loop once more). NULL is ok.
 */
void procstat_stop(struct procstat *ps);

#endif
