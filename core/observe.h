/*
 * The daemon's counters as Prometheus metrics (names and labels in docs/OPERATIONS.md).
 * The collectors read the live objects at scrape time, on the loop thread.
 */
#ifndef KZ_OBSERVE_H
#define KZ_OBSERVE_H

#include <stddef.h>

#include "conf.h"
#include "metrics.h"

struct pipeline;
struct output_set;
struct kafka_input;

/* Where the collectors find the daemon's objects; pointers to pointers follow reloads. */
struct observe_sources {
    struct pipeline *pipe;
    struct output_set **outputs;   /* the current partner set */
    const struct conf **conf;      /* the config the inputs were started from */
    struct kafka_input **kafka;    /* by input index; NULL for file inputs */
    size_t ninputs;
};

struct observe;

/*
 * Register every collector in reg. sources is copied; what it points to must outlive the
 * registration. Returns the collectors' state: unregister with metrics_registry_free()
 * (or the registry's unregister calls) before observe_free().
 */
struct observe *observe_register(struct metrics_registry *reg, const struct observe_sources *src);
void observe_free(struct observe *ob);

#endif
