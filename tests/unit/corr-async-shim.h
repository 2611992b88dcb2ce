/*
 * Force-included (-include) into a second build of test-corr.c and test-corr-reference.c:
 * every engine those suites create drives its in-memory store through the asynchronous
 * interface (corr_opts.async), the path a Redis store takes. The suites' assertions then
 * check that flights (submit, complete, finish in order) give exactly the alerts, ids and
 * order of the synchronous path.
 */
#ifndef KZ_CORR_ASYNC_SHIM_H
#define KZ_CORR_ASYNC_SHIM_H

#define corr_engine_new(opts, cb, arg) corr_async_engine_new(opts, cb, arg)

#endif
