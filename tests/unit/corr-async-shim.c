/*
 * The other half of corr-async-shim.h: corr_async_engine_new() is corr_engine_new() with
 * corr_opts.async set, so the engine takes its asynchronous path over the in-memory store.
 */
#include <string.h>

#include "corr.h"

/* This file is built with the shim header too: the real function is meant here. */
#undef corr_engine_new
struct corr_engine *corr_engine_new(const struct corr_opts *opts, corr_alert_cb cb, void *arg);

/* corr_engine_new() with opts->async forced to 1. */
struct corr_engine *
corr_async_engine_new(const struct corr_opts *opts, corr_alert_cb cb, void *arg)
{
    struct corr_opts o;

    memset(&o, 0, sizeof(o));
    if (opts != NULL) {
        o = *opts;
    }
    o.async = 1;
    return corr_engine_new(&o, cb, arg);
}
