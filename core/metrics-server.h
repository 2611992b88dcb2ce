/*
 * The HTTP endpoint for metrics and health, served by libmicrohttpd driven from the libuv
 * loop (no MHD thread): MHD runs in external epoll mode, its epoll fd is watched by a
 * uv_poll_t and its timeouts by a uv_timer_t, so every request, and every metrics
 * collector, runs on the loop thread.
 *
 *   GET /metrics  200, Prometheus text format 0.0.4 (metrics.h)
 *   GET /healthz  200 "ok": answered at all only while the loop turns
 *   GET /readyz   200 "ready" once the readiness callback says so, else 503 with its reason
 *   other paths   404; methods other than GET and HEAD: 405
 *
 * Any address may be configured; the default is loopback because the endpoint has no
 * authentication (see docs/OPERATIONS.md).
 */
#ifndef KZ_METRICS_SERVER_H
#define KZ_METRICS_SERVER_H

#include <uv.h>

#include "buf.h"
#include "metrics.h"

struct metrics_server;

/*
 * Readiness: return 1 when ready; otherwise return 0 and append a one-line reason to
 * reason ("kafka: partitions not assigned"). Called on the loop thread for each /readyz.
 */
typedef int (*metrics_ready_cb)(void *arg, struct buf *reason);

/*
 * Listen on `listen` ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", "localhost:9464";
 * numeric addresses only besides "localhost"; port 0 picks a free port, see
 * metrics_server_port()) and serve the registry reg (borrowed: it must outlive the server)
 * from loop. On success *out is the server (stop it with metrics_server_stop()) and 0 is
 * returned; on failure *out is NULL, err holds a message naming the address and the
 * failing call, and -1 is returned. The server's handles are unreferenced: they do not keep
 * the loop running (stop the server before uv_loop_close() all the same). Loop thread.
 */
int metrics_server_start(uv_loop_t *loop, const char *listen, struct metrics_registry *reg,
                         struct metrics_server **out, char *err, size_t errlen);

/*
 * Set the readiness callback used by /readyz (arg borrowed). Until one is set, /readyz
 * answers 503 "starting".
 */
void metrics_server_set_ready_cb(struct metrics_server *srv, metrics_ready_cb cb, void *arg);

/* The TCP port the server listens on (the one picked when port 0 was asked for). */
int metrics_server_port(const struct metrics_server *srv);

/*
 * Close the listening socket and every connection now; the handles are closed and the
 * memory is freed by the loop (run it once more, as with uv_close()). NULL is ok.
 */
void metrics_server_stop(struct metrics_server *srv);

#endif
