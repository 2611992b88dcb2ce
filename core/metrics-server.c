/*
 * /metrics, /healthz and /readyz over HTTP (metrics-server.h): libmicrohttpd in external
 * epoll mode, its epoll fd watched by a uv_poll_t, its timeouts by a uv_timer_t. We open
 * the listening socket ourselves so a failed bind reports the address and errno.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "dynlib.h"
#include "log.h"
#include "metrics-server.h"
#include "xmalloc.h"

/*
 * libmicrohttpd is loaded when the first endpoint starts, not linked: with its TLS
 * libraries it took 1.5 ms of every kizunad start, and a replay has no endpoint. The
 * functions used, resolved once (dynlib.h):
 */
#define METRICS_LIBMHD "libmicrohttpd.so.12"

static struct {
    int loaded;
    struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
                                       MHD_AcceptPolicyCallback apc, void *apc_cls,
                                       MHD_AccessHandlerCallback dh, void *dh_cls, ...);
    void (*stop_daemon)(struct MHD_Daemon *d);
    enum MHD_Result (*run)(struct MHD_Daemon *d);
    enum MHD_Result (*get_timeout)(struct MHD_Daemon *d, MHD_UNSIGNED_LONG_LONG *ms);
    const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *d,
                                                   enum MHD_DaemonInfoType type, ...);
    struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
                                                         enum MHD_ResponseMemoryMode mode);
    enum MHD_Result (*add_response_header)(struct MHD_Response *r, const char *header,
                                           const char *content);
    enum MHD_Result (*queue_response)(struct MHD_Connection *c, unsigned int status,
                                      struct MHD_Response *r);
    void (*destroy_response)(struct MHD_Response *r);
} libmhd;

/* Load libmicrohttpd, once. Returns 0, or -1 with the reason in err. */
static int
metrics_server_mhd_load(char *err, size_t errlen)
{
#define MHD_SYM(field, name) {name, offsetof(__typeof__(libmhd), field)}
    static const struct dynlib_sym syms[] = {
        MHD_SYM(start_daemon, "MHD_start_daemon"),
        MHD_SYM(stop_daemon, "MHD_stop_daemon"),
        MHD_SYM(run, "MHD_run"),
        MHD_SYM(get_timeout, "MHD_get_timeout"),
        MHD_SYM(get_daemon_info, "MHD_get_daemon_info"),
        MHD_SYM(create_response_from_buffer, "MHD_create_response_from_buffer"),
        MHD_SYM(add_response_header, "MHD_add_response_header"),
        MHD_SYM(queue_response, "MHD_queue_response"),
        MHD_SYM(destroy_response, "MHD_destroy_response"),
    };
#undef MHD_SYM

    if (libmhd.loaded) {
        return 0;
    }
    if (dynlib_load(METRICS_LIBMHD, "libmicrohttpd12", syms, sizeof(syms) / sizeof(syms[0]),
                    &libmhd, err, errlen) != 0) {
        return -1;
    }
    libmhd.loaded = 1;
    return 0;
}

#define METRICS_SERVER_CONN_LIMIT 32
#define METRICS_SERVER_CONN_TIMEOUT 10 /* seconds */

struct metrics_server {
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;   /* MHD's epoll fd */
    uv_timer_t timer; /* MHD_get_timeout() */
    int closing;      /* handles still to close before free */
    struct metrics_registry *reg;
    metrics_ready_cb ready_cb;
    void *ready_arg;
    int port;
};

/* Split "host:port" / "[v6]:port" and resolve the numeric address into ss. */
static int
metrics_server_parse_listen(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen,
                            char *err, size_t errlen)
{
    struct addrinfo hints = {0};
    struct addrinfo *ai = NULL;
    char *copy = xstrdup(addr);
    char *host = copy;
    char *port;
    char *end;
    long portnum;
    int rc;
    int r = -1;

    port = strrchr(copy, ':');
    if (port == NULL || port == copy) {
        snprintf(err, errlen, "metrics listen address \"%s\": expected HOST:PORT", addr);
        goto out;
    }
    *port++ = '\0';
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']') {
            snprintf(err, errlen, "metrics listen address \"%s\": unbalanced [ ]", addr);
            goto out;
        }
        host[hl - 1] = '\0';
        host++;
    } else if (strchr(host, ':') != NULL) {
        snprintf(err, errlen, "metrics listen address \"%s\": write IPv6 as [ADDR]:PORT", addr);
        goto out;
    }
    errno = 0;
    portnum = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || errno != 0 || portnum < 0 || portnum > 65535) {
        snprintf(err, errlen, "metrics listen address \"%s\": bad port \"%s\"", addr, port);
        goto out;
    }
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen,
                 "metrics listen address \"%s\": \"%s\" is not a numeric address"
                 " (%s)",
                 addr, host, gai_strerror(rc));
        goto out;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sslen = ai->ai_addrlen;
    r = 0;
out:
    if (ai != NULL) {
        freeaddrinfo(ai);
    }
    free(copy);
    return r;
}

/* A non-blocking listening socket bound to addr; returns the fd or -1 with err set. */
static int
metrics_server_listen(const char *addr, int *port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    int one = 1;
    int fd = -1;
    int r = -1;

    if (metrics_server_parse_listen(addr, &ss, &sslen, err, errlen) < 0) {
        goto out;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "metrics %s: socket() failed: %s", addr, strerror(errno));
        goto out;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        snprintf(err, errlen, "metrics %s: setsockopt(SO_REUSEADDR) failed: %s", addr,
                 strerror(errno));
        goto out;
    }
    if (ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
        snprintf(err, errlen, "metrics %s: setsockopt(IPV6_V6ONLY) failed: %s", addr,
                 strerror(errno));
        goto out;
    }
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
        snprintf(err, errlen, "metrics %s: bind() failed: %s", addr, strerror(errno));
        goto out;
    }
    if (listen(fd, 16) < 0) {
        snprintf(err, errlen, "metrics %s: listen() failed: %s", addr, strerror(errno));
        goto out;
    }
    sslen = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        snprintf(err, errlen, "metrics %s: getsockname() failed: %s", addr, strerror(errno));
        goto out;
    }
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    r = fd;
    fd = -1;
out:
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

static void
metrics_server_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t len;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r')) {
        msg[--len] = '\0';
    }
    log_write(LOG_LVL_WARNING, "metrics", "libmicrohttpd: %s", msg);
}

/* Queue a response whose body is body (taken: freed by MHD). */
static enum MHD_Result
metrics_server_respond(struct MHD_Connection *conn, unsigned int status, const char *ctype,
                       struct buf *body)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t len = body->len;
    char *data = body->data;

    if (data == NULL) {
        data = xstrdup("");
    }
    buf_init(body);
    resp = libmhd.create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    libmhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    libmhd.add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = libmhd.queue_response(conn, status, resp);
    libmhd.destroy_response(resp);
    return ret;
}

static enum MHD_Result
metrics_server_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                       const char *version, const char *upload_data, size_t *upload_data_size,
                       void **con_cls)
{
    struct metrics_server *srv = cls;
    struct buf body = {0};
    const char *text = "text/plain; charset=utf-8";

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        buf_puts(&body, "method not allowed\n");
        return metrics_server_respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, &body);
    }
    if (strcmp(url, "/metrics") == 0) {
        metrics_render(srv->reg, &body);
        return metrics_server_respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                      &body);
    }
    if (strcmp(url, "/healthz") == 0) {
        buf_puts(&body, "ok\n");
        return metrics_server_respond(conn, MHD_HTTP_OK, text, &body);
    }
    if (strcmp(url, "/readyz") == 0) {
        struct buf reason = {0};
        int ready = srv->ready_cb != NULL && srv->ready_cb(srv->ready_arg, &reason);

        if (ready) {
            buf_puts(&body, "ready\n");
        } else {
            buf_printf(&body, "not ready: %s\n",
                       srv->ready_cb == NULL ? "starting"
                       : reason.len > 0      ? buf_cstr(&reason)
                                             : "no reason given");
        }
        buf_free(&reason);
        return metrics_server_respond(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                                      text, &body);
    }
    buf_puts(&body, "not found\n");
    return metrics_server_respond(conn, MHD_HTTP_NOT_FOUND, text, &body);
}

static void metrics_server_run(struct metrics_server *srv);

static void
metrics_server_poll_cb(uv_poll_t *handle, int status, int events)
{
    struct metrics_server *srv = handle->data;

    if (status < 0) {
        log_warn("metrics: polling the HTTP server failed: %s", uv_strerror(status));
    }
    metrics_server_run(srv);
}

static void
metrics_server_timer_cb(uv_timer_t *handle)
{
    metrics_server_run(handle->data);
}

/* Let MHD do its work, then arm the timer for its next timeout. */
static void
metrics_server_run(struct metrics_server *srv)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (libmhd.run(srv->mhd) != MHD_YES) {
        log_warn("metrics: MHD_run() failed");
    }
    if (libmhd.get_timeout(srv->mhd, &ms) == MHD_YES) {
        uv_timer_start(&srv->timer, metrics_server_timer_cb, (uint64_t)ms, 0);
    } else {
        uv_timer_stop(&srv->timer);
    }
}

static void
metrics_server_close_cb(uv_handle_t *handle)
{
    struct metrics_server *srv = handle->data;

    if (--srv->closing == 0) {
        free(srv);
    }
}

int
metrics_server_start(uv_loop_t *loop, const char *addr, struct metrics_registry *reg,
                     struct metrics_server **out, char *err, size_t errlen)
{
    struct metrics_server *srv = NULL;
    const union MHD_DaemonInfo *info;
    int fd = -1;
    int port = 0;
    int rc;
    int r = -1;

    *out = NULL;
    if (metrics_server_mhd_load(err, errlen) != 0) {
        goto out;
    }
    fd = metrics_server_listen(addr, &port, err, errlen);
    if (fd < 0) {
        goto out;
    }
    srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->reg = reg;
    srv->port = port;
    srv->mhd = libmhd.start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, metrics_server_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, metrics_server_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_SERVER_CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_SERVER_CONN_TIMEOUT, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        snprintf(err, errlen, "metrics %s: MHD_start_daemon() failed", addr);
        goto out;
    }
    fd = -1; /* MHD owns and closes it now */
    info = libmhd.get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL) {
        snprintf(err, errlen, "metrics %s: libmicrohttpd has no epoll support", addr);
        goto out;
    }
    rc = uv_poll_init(loop, &srv->poll, info->epoll_fd);
    if (rc < 0) {
        snprintf(err, errlen, "metrics %s: uv_poll_init() failed: %s", addr, uv_strerror(rc));
        goto out;
    }
    srv->poll.data = srv;
    srv->closing++;
    uv_timer_init(loop, &srv->timer);
    srv->timer.data = srv;
    srv->closing++;
    /* The endpoint never keeps the loop alive: the daemon ends when its work is done. */
    uv_unref((uv_handle_t *)&srv->poll);
    uv_unref((uv_handle_t *)&srv->timer);
    rc = uv_poll_start(&srv->poll, UV_READABLE, metrics_server_poll_cb);
    if (rc < 0) {
        snprintf(err, errlen, "metrics %s: uv_poll_start() failed: %s", addr, uv_strerror(rc));
        goto out;
    }
    log_info("metrics: serving /metrics, /healthz, /readyz on %s (port %d)", addr, port);
    *out = srv;
    srv = NULL;
    r = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (srv != NULL) {
        if (srv->closing > 0) {
            metrics_server_stop(srv); /* frees srv from the close callbacks */
        } else {
            if (srv->mhd != NULL) {
                libmhd.stop_daemon(srv->mhd);
            }
            free(srv);
        }
    }
    return r;
}

void
metrics_server_set_ready_cb(struct metrics_server *srv, metrics_ready_cb cb, void *arg)
{
    srv->ready_cb = cb;
    srv->ready_arg = arg;
}

int
metrics_server_port(const struct metrics_server *srv)
{
    return srv->port;
}

void
metrics_server_stop(struct metrics_server *srv)
{
    if (srv == NULL) {
        return;
    }
    /* Unwatch the epoll fd before MHD closes it. */
    uv_poll_stop(&srv->poll);
    uv_close((uv_handle_t *)&srv->poll, metrics_server_close_cb);
    uv_timer_stop(&srv->timer);
    uv_close((uv_handle_t *)&srv->timer, metrics_server_close_cb);
    libmhd.stop_daemon(srv->mhd);
    srv->mhd = NULL;
}
