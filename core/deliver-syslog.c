/*
 * The syslog transport: every record is one syslog message (the out_syslog plugin writes
 * the RFC 5424 line; one trailing newline is stripped), sent over
 *   tcp://host:port   RFC 6587 octet counting: "LEN SP MSG", on one kept-alive connection;
 *   udp://host:port   one datagram per record (RFC 5426).
 * Records longer than max_message are rejected (kept in the rejected file), never cut.
 *
 * What counts as delivered: syslog has no application acknowledgement. Over TCP a record
 * counts once the receiver's TCP stack has acknowledged its last byte (the socket's unacked
 * send queue, SIOCOUTQ, has drained past it; without SIOCOUTQ: once written to the socket).
 * A receiver that crashes after its kernel acknowledged loses those records. Over UDP a
 * record counts once the datagram left; loss on the way is not seen.
 *
 * A failed connection fails its records in flight (sent again after a backoff, in order);
 * the next send connects again (name resolved again each time, asynchronously).
 */
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#if defined(__linux__)
#include <linux/sockios.h>
#endif

#include "deliver-int.h"
#include "log.h"
#include "xmalloc.h"

#define SYSLOG_TICK_MS 5 /* connect time-out and acknowledgement checks */
#define SYSLOG_UDP_MAX 65507

enum deliver_syslog_proto { SYSLOG_TCP, SYSLOG_UDP };

struct deliver_syslog_conf {
    char *address;
    int64_t timeout_us;
    int64_t max_message;
};

static const struct deliver_key deliver_syslog_keys[] = {
    {"address", DK_STRING, NULL, 0, 0, offsetof(struct deliver_syslog_conf, address), NULL, NULL, 1,
     "tcp://host:port (octet counting) or udp://host:port"},
    {"timeout", DK_DURATION, "10s", 1000, INT64_C(3600000000),
     offsetof(struct deliver_syslog_conf, timeout_us), NULL, NULL, 0, "connect time-out (tcp)"},
    {"max_message", DK_SIZE, "0", 0, SPOOL_FORMAT_MAX_DATA,
     offsetof(struct deliver_syslog_conf, max_message), NULL, NULL, 0,
     "longest message; longer records are rejected (0: udp 65507, tcp no limit)"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

struct deliver_syslog;

/* A record written on a connection, waiting for the peer's TCP acknowledgement. */
struct syslog_sent {
    struct deliver_rec *rec;
    uint64_t end; /* connection byte offset after it */
};

struct syslog_conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct deliver_syslog *s;
    int up;
    int dead;
    uint64_t started; /* loop time of the connect */
    uint64_t written; /* bytes whose write completed */
    struct syslog_sent *sent;
    size_t sent_head;
    size_t nsent;
    size_t sent_cap;
};

struct syslog_write {
    uv_write_t req;
    struct syslog_conn *c;
    struct deliver_rec *rec;
    size_t bytes;
    char hdr[24];
};

struct syslog_udp_send {
    uv_udp_send_t req;
    struct deliver_syslog *s;
    struct deliver_rec *rec;
};

struct deliver_syslog {
    struct deliver *d;
    enum deliver_syslog_proto proto;
    char *host;
    char *port;
    char *address;
    uint64_t timeout_ms;
    size_t max_message;
    struct syslog_conn *conn;
    struct deliver_rec **waiting; /* to send once connected/resolved */
    size_t nwaiting;
    size_t waiting_cap;
    uv_getaddrinfo_t gai;
    int resolving;
    uv_timer_t timer;
    uv_udp_t udp;
    int udp_init;
    struct sockaddr_storage dst;
    int have_dst;
    int closing;
    int handles_open;
};

/* Split "tcp://host:port" / "udp://[v6]:port". Returns 0 or -1 with a message. */
static int
deliver_syslog_parse(const char *a, enum deliver_syslog_proto *proto, char **host, char **port,
                     char *err, size_t errlen)
{
    const char *p, *colon;
    char *end;
    long v;

    *host = *port = NULL;
    if (strncmp(a, "tcp://", 6) == 0) {
        *proto = SYSLOG_TCP;
    } else if (strncmp(a, "udp://", 6) == 0) {
        *proto = SYSLOG_UDP;
    } else {
        snprintf(err, errlen, "expected tcp://host:port or udp://host:port");
        return -1;
    }
    p = a + 6;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "expected [ipv6]:port");
            return -1;
        }
        *host = xstrndup(p + 1, (size_t)(close - p - 1));
        colon = close + 1;
    } else {
        colon = strrchr(p, ':');
        if (colon == NULL || colon == p) {
            snprintf(err, errlen, "expected host:port");
            return -1;
        }
        *host = xstrndup(p, (size_t)(colon - p));
    }
    v = strtol(colon + 1, &end, 10);
    if (*end != '\0' || v <= 0 || v > 65535) {
        free(*host);
        *host = NULL;
        snprintf(err, errlen, "bad port \"%s\"", colon + 1);
        return -1;
    }
    *port = xstrdup(colon + 1);
    return 0;
}

static int
deliver_syslog_check(const void *conf, const struct deliver_ctx *cx, struct errlist *errs)
{
    const struct deliver_syslog_conf *c = conf;
    enum deliver_syslog_proto proto;
    char *host, *port, err[256];

    if (deliver_syslog_parse(c->address, &proto, &host, &port, err, sizeof(err)) != 0) {
        deliver_conf_error(cx, ynode_get(cx->node, "address"), errs, "deliver.address: %s", err);
        return -1;
    }
    free(host);
    free(port);
    if (proto == SYSLOG_UDP && c->max_message > SYSLOG_UDP_MAX) {
        deliver_conf_error(cx, ynode_get(cx->node, "max_message"), errs,
                           "deliver.max_message: a UDP datagram holds at most %d bytes",
                           SYSLOG_UDP_MAX);
        return -1;
    }
    return 0;
}

/* The message of a record: its bytes without one trailing "\n" (or "\r\n"). */
static size_t
deliver_syslog_msg_len(const struct deliver_rec *rec)
{
    size_t len = rec->sr->len;

    if (len > 0 && rec->sr->data[len - 1] == '\n') {
        len--;
        if (len > 0 && rec->sr->data[len - 1] == '\r') {
            len--;
        }
    }
    return len;
}

static void
deliver_syslog_maybe_closed(struct deliver_syslog *s)
{
    struct deliver *d = s->d;

    if (!s->closing || s->handles_open > 0 || s->resolving) {
        return;
    }
    free(s->waiting);
    free(s->host);
    free(s->port);
    free(s->address);
    free(s);
    deliver_transport_closed(d);
}

static void
deliver_syslog_fail_waiting(struct deliver_syslog *s, const char *reason)
{
    while (s->nwaiting > 0 && !s->closing) {
        struct deliver_rec *rec = s->waiting[0];
        memmove(s->waiting, s->waiting + 1, --s->nwaiting * sizeof(*s->waiting));
        deliver_done(s->d, rec, DELIVER_RETRY, reason);
    }
    s->nwaiting = 0;
}

static void
deliver_syslog_conn_closed_cb(uv_handle_t *h)
{
    struct syslog_conn *c = h->data;
    struct deliver_syslog *s = c->s;

    free(c->sent);
    free(c);
    s->handles_open--;
    deliver_syslog_maybe_closed(s);
}

static void deliver_syslog_check_acks(struct syslog_conn *c);

/* The connection failed: its records go back to delivery (sent again later). */
static void
deliver_syslog_conn_fail(struct syslog_conn *c, const char *reason)
{
    struct deliver_syslog *s = c->s;

    if (c->dead) {
        return;
    }
    if (c->up && !s->closing) {
        deliver_syslog_check_acks(c); /* what the peer has is delivered, not failed */
    }
    c->dead = 1;
    if (s->conn == c) {
        s->conn = NULL;
    }
    while (c->nsent > 0) {
        struct deliver_rec *rec = c->sent[c->sent_head].rec;
        c->sent_head = (c->sent_head + 1) % c->sent_cap;
        c->nsent--;
        if (!s->closing) {
            deliver_done(s->d, rec, DELIVER_RETRY, reason);
        }
    }
    deliver_syslog_fail_waiting(s, reason);
    uv_close((uv_handle_t *)&c->tcp, deliver_syslog_conn_closed_cb); /* writes: ECANCELED */
}

/* Records whose bytes the peer's TCP has acknowledged are delivered. */
static void
deliver_syslog_check_acks(struct syslog_conn *c)
{
    uint64_t acked = c->written;

#ifdef SIOCOUTQ
    {
        uv_os_fd_t fd;
        int outq = 0;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || ioctl(fd, SIOCOUTQ, &outq) != 0) {
            outq = 0;
        }
        acked = (uint64_t)outq >= c->written ? 0 : c->written - (uint64_t)outq;
    }
#endif
    while (c->nsent > 0 && c->sent[c->sent_head].end <= acked) {
        struct deliver_rec *rec = c->sent[c->sent_head].rec;
        c->sent_head = (c->sent_head + 1) % c->sent_cap;
        c->nsent--;
        deliver_done(c->s->d, rec, DELIVER_OK, NULL);
    }
}

static void
deliver_syslog_timer_cb(uv_timer_t *t)
{
    struct deliver_syslog *s = t->data;
    struct syslog_conn *c = s->conn;
    char reason[300];

    if (c == NULL) {
        uv_timer_stop(&s->timer);
        return;
    }
    if (!c->up) {
        if (uv_now(deliver_loop(s->d)) - c->started >= s->timeout_ms) {
            snprintf(reason, sizeof(reason), "syslog %s: connect timed out", s->address);
            deliver_syslog_conn_fail(c, reason);
        }
        return;
    }
    deliver_syslog_check_acks(c);
    if (c->nsent == 0) {
        uv_timer_stop(&s->timer);
    }
}

static void
deliver_syslog_tick(struct deliver_syslog *s)
{
    if (!uv_is_active((uv_handle_t *)&s->timer)) {
        uv_timer_start(&s->timer, deliver_syslog_timer_cb, SYSLOG_TICK_MS, SYSLOG_TICK_MS);
    }
}

static void
deliver_syslog_write_cb(uv_write_t *req, int status)
{
    struct syslog_write *w = (struct syslog_write *)req;
    struct syslog_conn *c = w->c;
    struct deliver_syslog *s = c->s;
    char reason[300];

    if (c->dead) {
        if (!s->closing) {
            deliver_done(s->d, w->rec, DELIVER_RETRY, "syslog connection lost");
        }
    } else if (status < 0) {
        snprintf(reason, sizeof(reason), "syslog %s: write: %s", s->address, uv_strerror(status));
        deliver_done(s->d, w->rec, DELIVER_RETRY, reason);
        deliver_syslog_conn_fail(c, reason);
    } else {
        c->written += w->bytes;
        if (c->nsent == c->sent_cap) {
            struct syslog_sent *n = xcalloc(c->sent_cap ? 2 * c->sent_cap : 16, sizeof(*n));
            for (size_t i = 0; i < c->nsent; i++) {
                n[i] = c->sent[(c->sent_head + i) % c->sent_cap];
            }
            free(c->sent);
            c->sent = n;
            c->sent_head = 0;
            c->sent_cap = c->sent_cap ? 2 * c->sent_cap : 16;
        }
        c->sent[(c->sent_head + c->nsent) % c->sent_cap].rec = w->rec;
        c->sent[(c->sent_head + c->nsent) % c->sent_cap].end = c->written;
        c->nsent++;
        deliver_syslog_check_acks(c);
        if (c->nsent > 0) {
            deliver_syslog_tick(s);
        }
    }
    free(w);
}

static void
deliver_syslog_write(struct syslog_conn *c, struct deliver_rec *rec)
{
    struct syslog_write *w = xcalloc(1, sizeof(*w));
    size_t len = deliver_syslog_msg_len(rec);
    uv_buf_t bufs[2];
    int r, n;

    w->c = c;
    w->rec = rec;
    n = snprintf(w->hdr, sizeof(w->hdr), "%zu ", len);
    bufs[0] = uv_buf_init(w->hdr, (unsigned)n);
    bufs[1] = uv_buf_init(rec->sr->data, (unsigned)len);
    w->bytes = (size_t)n + len;
    r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, 2, deliver_syslog_write_cb);
    if (r != 0) {
        char reason[300];
        free(w);
        snprintf(reason, sizeof(reason), "syslog %s: write: %s", c->s->address, uv_strerror(r));
        deliver_done(c->s->d, rec, DELIVER_RETRY, reason);
        deliver_syslog_conn_fail(c, reason);
    }
}

static void
deliver_syslog_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char sink[4096];

    *buf = uv_buf_init(sink, sizeof(sink));
}

/* Receivers do not talk; reading notices when they hang up. */
static void
deliver_syslog_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct syslog_conn *c = stream->data;
    char reason[300];

    if (nread >= 0) {
        return;
    }
    snprintf(reason, sizeof(reason), "syslog %s: %s", c->s->address,
             nread == UV_EOF ? "connection closed by the receiver" : uv_strerror((int)nread));
    deliver_syslog_conn_fail(c, reason);
}

static void
deliver_syslog_connect_cb(uv_connect_t *req, int status)
{
    struct syslog_conn *c = req->data;
    struct deliver_syslog *s = c->s;
    char reason[300];

    if (c->dead) {
        return;
    }
    if (status < 0) {
        snprintf(reason, sizeof(reason), "syslog %s: connect: %s", s->address, uv_strerror(status));
        deliver_syslog_conn_fail(c, reason);
        return;
    }
    c->up = 1;
    uv_read_start((uv_stream_t *)&c->tcp, deliver_syslog_alloc_cb, deliver_syslog_read_cb);
    while (s->nwaiting > 0 && s->conn == c) {
        struct deliver_rec *rec = s->waiting[0];
        memmove(s->waiting, s->waiting + 1, --s->nwaiting * sizeof(*s->waiting));
        deliver_syslog_write(c, rec);
    }
}

static void
deliver_syslog_udp_send_cb(uv_udp_send_t *req, int status)
{
    struct syslog_udp_send *u = (struct syslog_udp_send *)req;
    struct deliver_syslog *s = u->s;
    char reason[300];

    if (!s->closing) {
        if (status < 0) {
            snprintf(reason, sizeof(reason), "syslog %s: send: %s", s->address,
                     uv_strerror(status));
            deliver_done(s->d, u->rec, DELIVER_RETRY, reason);
        } else {
            deliver_done(s->d, u->rec, DELIVER_OK, NULL);
        }
    }
    free(u);
}

static void
deliver_syslog_udp_send(struct deliver_syslog *s, struct deliver_rec *rec)
{
    struct syslog_udp_send *u = xcalloc(1, sizeof(*u));
    uv_buf_t buf = uv_buf_init(rec->sr->data, (unsigned)deliver_syslog_msg_len(rec));
    int r;

    u->s = s;
    u->rec = rec;
    r = uv_udp_send(&u->req, &s->udp, &buf, 1, (const struct sockaddr *)&s->dst,
                    deliver_syslog_udp_send_cb);
    if (r != 0) {
        char reason[300];
        free(u);
        snprintf(reason, sizeof(reason), "syslog %s: send: %s", s->address, uv_strerror(r));
        s->have_dst = 0; /* resolve again next time */
        deliver_done(s->d, rec, DELIVER_RETRY, reason);
    }
}

static void
deliver_syslog_resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct deliver_syslog *s = req->data;
    struct syslog_conn *c;
    char reason[300];
    int r;

    s->resolving = 0;
    if (s->closing) {
        uv_freeaddrinfo(res);
        deliver_syslog_maybe_closed(s);
        return;
    }
    if (status < 0 || res == NULL) {
        snprintf(reason, sizeof(reason), "syslog %s: resolving %s: %s", s->address, s->host,
                 uv_strerror(status));
        uv_freeaddrinfo(res);
        deliver_syslog_fail_waiting(s, reason);
        return;
    }
    if (s->proto == SYSLOG_UDP) {
        memcpy(&s->dst, res->ai_addr, res->ai_addrlen);
        s->have_dst = 1;
        uv_freeaddrinfo(res);
        while (s->nwaiting > 0 && s->have_dst) {
            struct deliver_rec *rec = s->waiting[0];
            memmove(s->waiting, s->waiting + 1, --s->nwaiting * sizeof(*s->waiting));
            deliver_syslog_udp_send(s, rec);
        }
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->s = s;
    uv_tcp_init(deliver_loop(s->d), &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    s->handles_open++;
    s->conn = c;
    c->started = uv_now(deliver_loop(s->d));
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    r = uv_tcp_connect(&c->creq, &c->tcp, res->ai_addr, deliver_syslog_connect_cb);
    uv_freeaddrinfo(res);
    if (r != 0) {
        snprintf(reason, sizeof(reason), "syslog %s: connect: %s", s->address, uv_strerror(r));
        deliver_syslog_conn_fail(c, reason);
        return;
    }
    deliver_syslog_tick(s);
}

static void
deliver_syslog_resolve(struct deliver_syslog *s)
{
    struct addrinfo hints;
    char reason[300];
    int r;

    if (s->resolving) {
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = s->proto == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
    s->gai.data = s;
    r = uv_getaddrinfo(deliver_loop(s->d), &s->gai, deliver_syslog_resolved_cb, s->host, s->port,
                       &hints);
    if (r != 0) {
        snprintf(reason, sizeof(reason), "syslog %s: uv_getaddrinfo: %s", s->address,
                 uv_strerror(r));
        deliver_syslog_fail_waiting(s, reason);
        return;
    }
    s->resolving = 1;
}

static void
deliver_syslog_send(void *state, struct deliver_rec *rec)
{
    struct deliver_syslog *s = state;
    size_t len = deliver_syslog_msg_len(rec);
    char reason[200];

    if (s->max_message > 0 && len > s->max_message) {
        snprintf(reason, sizeof(reason), "message of %zu bytes is longer than max_message (%zu)",
                 len, s->max_message);
        deliver_done(s->d, rec, DELIVER_REJECT, reason);
        return;
    }
    if (s->proto == SYSLOG_UDP && s->have_dst) {
        deliver_syslog_udp_send(s, rec);
        return;
    }
    if (s->proto == SYSLOG_TCP && s->conn != NULL && s->conn->up) {
        deliver_syslog_write(s->conn, rec);
        return;
    }
    if (s->nwaiting == s->waiting_cap) {
        s->waiting_cap = s->waiting_cap ? 2 * s->waiting_cap : 16;
        s->waiting = xreallocarray(s->waiting, s->waiting_cap, sizeof(*s->waiting));
    }
    s->waiting[s->nwaiting++] = rec;
    if (s->conn == NULL) {
        deliver_syslog_resolve(s);
    }
}

static int
deliver_syslog_open(struct deliver *d, const void *conf, void **state, char *err, size_t errlen)
{
    const struct deliver_syslog_conf *c = conf;
    struct deliver_syslog *s = xcalloc(1, sizeof(*s));

    s->d = d;
    if (deliver_syslog_parse(c->address, &s->proto, &s->host, &s->port, err, errlen) != 0) {
        free(s);
        return -1;
    }
    s->address = xstrdup(c->address);
    s->timeout_ms = (uint64_t)(c->timeout_us / 1000);
    s->max_message = (size_t)c->max_message;
    if (s->max_message == 0 && s->proto == SYSLOG_UDP) {
        s->max_message = SYSLOG_UDP_MAX;
    }
    uv_timer_init(deliver_loop(d), &s->timer);
    s->timer.data = s;
    s->handles_open = 1;
    if (s->proto == SYSLOG_UDP) {
        uv_udp_init(deliver_loop(d), &s->udp);
        s->udp.data = s;
        s->udp_init = 1;
        s->handles_open++;
    }
    *state = s;
    return 0;
}

static void
deliver_syslog_handle_closed_cb(uv_handle_t *h)
{
    struct deliver_syslog *s = h->data;

    s->handles_open--;
    deliver_syslog_maybe_closed(s);
}

static void
deliver_syslog_close(void *state)
{
    struct deliver_syslog *s = state;

    s->closing = 1;
    s->nwaiting = 0;
    if (s->resolving) {
        uv_cancel((uv_req_t *)&s->gai); /* the callback still comes */
    }
    if (s->conn != NULL) {
        deliver_syslog_conn_fail(s->conn, "closing");
    }
    if (s->udp_init) {
        uv_close((uv_handle_t *)&s->udp, deliver_syslog_handle_closed_cb);
    }
    uv_close((uv_handle_t *)&s->timer, deliver_syslog_handle_closed_cb);
}

const struct deliver_transport deliver_syslog_transport = {
    .type = "syslog",
    .keys = deliver_syslog_keys,
    .conf_size = sizeof(struct deliver_syslog_conf),
    .window = 100,
    .window_max = 100000,
    .check = deliver_syslog_check,
    .open = deliver_syslog_open,
    .send = deliver_syslog_send,
    .reopen = NULL,
    .close = deliver_syslog_close,
};
