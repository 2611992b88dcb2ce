/*
 * The Redis transport: XADD <stream> [MAXLEN ~ <maxlen>] * id <alert id> data <record>, with
 * hiredis' async API on the libuv loop (hiredis/adapters/libuv.h). Commands are pipelined
 * (max_in_flight, default 100); a record is delivered when its XADD got an entry id back.
 *
 * A lost connection, a reply time-out or an error reply (OOM, READONLY, LOADING, NOAUTH,
 * WRONGTYPE ...: all about the server, never about one record) sends the record again after
 * a backoff; an XADD whose reply was lost may have been applied, so the partner can see an
 * id twice (at-least-once; counted in `failed`). The connection is made again lazily on the
 * next send, followed by AUTH and SELECT as configured.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "deliver-int.h"
#include "log.h"
#include "redis-server.h"
#include "xmalloc.h"

struct deliver_redis_conf {
    char *url;
    char *stream;
    int64_t maxlen;
    char *username;
    char *password_file;
    int64_t db;
    int64_t timeout_us;
};

static const struct deliver_key deliver_redis_keys[] = {
    {"url", DK_STRING, "redis://127.0.0.1:6379", 0, 0, offsetof(struct deliver_redis_conf, url),
     NULL, NULL, 0, "redis://host[:port][/db] or unix:/path/to/socket"},
    {"stream", DK_STRING, NULL, 0, 0, offsetof(struct deliver_redis_conf, stream), NULL, NULL, 1,
     "stream key XADDed to"},
    {"maxlen", DK_INT, "0", 0, INT64_C(1) << 40, offsetof(struct deliver_redis_conf, maxlen), NULL,
     NULL, 0, "MAXLEN ~ trimming of the stream; 0: none"},
    {"username", DK_STRING, NULL, 0, 0, offsetof(struct deliver_redis_conf, username), NULL, NULL,
     0, "ACL user (Redis 6+), with password_file"},
    {"password_file", DK_PATH, NULL, 0, 0, offsetof(struct deliver_redis_conf, password_file), NULL,
     NULL, 0, "file holding the password; mode 0600"},
    {"db", DK_INT, "-1", -1, 1 << 20, offsetof(struct deliver_redis_conf, db), NULL, NULL, 0,
     "database number (overrides the url's /db)"},
    {"timeout", DK_DURATION, "10s", 1000, INT64_C(3600000000),
     offsetof(struct deliver_redis_conf, timeout_us), NULL, NULL, 0, "connect and reply time-out"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

struct deliver_redis {
    struct deliver *d;
    char *host; /* NULL for a unix socket */
    int port;
    char *path; /* unix socket */
    int db;
    char *stream;
    char maxlen[24]; /* "" when not trimming */
    char *username;
    char *password;
    uint64_t timeout_ms;
    redisAsyncContext *ac;
    int connected;
    uint64_t pending;     /* commands sent, reply not yet in */
    uint64_t progress_at; /* loop time of the last reply, or of the first pending command */
    uv_timer_t timer;
    int closing;
    char lasterr[256];
};

static int
deliver_redis_check(const void *conf, const struct deliver_ctx *cx, struct errlist *errs)
{
    const struct deliver_redis_conf *c = conf;
    char *host = NULL, *path = NULL, *pw = NULL, err[512];
    int port, db, r = 0;

    if (redis_server_parse_url(c->url, &host, &port, &path, &db, err, sizeof(err)) != 0) {
        deliver_conf_error(cx, ynode_get(cx->node, "url"), errs, "deliver.url: %s", err);
        r = -1;
    }
    if (c->password_file != NULL &&
        redis_server_read_password(c->password_file, &pw, err, sizeof(err)) != 0) {
        deliver_conf_error(cx, ynode_get(cx->node, "password_file"), errs,
                           "deliver.password_file: %s", err);
        r = -1;
    }
    if (c->username != NULL && c->password_file == NULL) {
        deliver_conf_error(cx, ynode_get(cx->node, "username"), errs,
                           "deliver.username: needs password_file");
        r = -1;
    }
    free(host);
    free(path);
    free(pw);
    return r;
}

static void
deliver_redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct deliver_redis *h = ac->data;

    if (h == NULL) {
        return;
    }
    h->ac = NULL;
    h->connected = 0;
    if (!h->closing && status != REDIS_OK) {
        snprintf(h->lasterr, sizeof(h->lasterr), "%s", ac->errstr);
        log_debug("%s: Redis connection lost: %s", deliver_tag(h->d), ac->errstr);
    }
}

static void
deliver_redis_connect_cb(const redisAsyncContext *ac, int status)
{
    struct deliver_redis *h = ac->data;

    if (h == NULL) {
        return;
    }
    if (status != REDIS_OK) {
        /* hiredis frees the context and fails the pending commands */
        snprintf(h->lasterr, sizeof(h->lasterr), "connect: %s", ac->errstr);
        h->ac = NULL;
        return;
    }
    h->connected = 1;
}

/* A reply to AUTH or SELECT: an error drops the connection (pending commands fail). */
static void
deliver_redis_setup_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct deliver_redis *h = ac->data;
    redisReply *reply = r;

    if (h == NULL || h->closing) {
        return;
    }
    if (h->pending > 0) {
        h->pending--;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        snprintf(h->lasterr, sizeof(h->lasterr), "%s: %s", (const char *)privdata, reply->str);
        redisAsyncFree(ac); /* deferred by hiredis until this callback returns */
    }
}

static void
deliver_redis_xadd_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct deliver_redis *h = ac->data;
    struct deliver_rec *rec = privdata;
    redisReply *reply = r;
    char reason[600];

    if (h == NULL || h->closing) {
        return;
    }
    if (h->pending > 0) {
        h->pending--;
    }
    h->progress_at = uv_now(deliver_loop(h->d));
    if (reply == NULL) {
        snprintf(reason, sizeof(reason), "Redis %s: %s", h->host != NULL ? h->host : h->path,
                 h->lasterr[0] != '\0'   ? h->lasterr
                 : ac->errstr[0] != '\0' ? ac->errstr
                                         : "connection lost");
        deliver_done(h->d, rec, DELIVER_RETRY, reason);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(reason, sizeof(reason), "Redis XADD %s: %s", h->stream, reply->str);
        deliver_done(h->d, rec, DELIVER_RETRY, reason);
        return;
    }
    deliver_done(h->d, rec, DELIVER_OK, NULL);
}

/* Connect (lazily) and queue AUTH/SELECT. Returns 0 or -1 with lasterr set. */
static int
deliver_redis_connect(struct deliver_redis *h)
{
    redisAsyncContext *ac;

    h->lasterr[0] = '\0';
    ac = h->path != NULL ? redisAsyncConnectUnix(h->path) : redisAsyncConnect(h->host, h->port);
    if (ac == NULL) {
        snprintf(h->lasterr, sizeof(h->lasterr), "out of memory");
        return -1;
    }
    if (ac->err != 0) {
        snprintf(h->lasterr, sizeof(h->lasterr), "connect: %s", ac->errstr);
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = h;
    if (redisLibuvAttach(ac, deliver_loop(h->d)) != REDIS_OK) {
        snprintf(h->lasterr, sizeof(h->lasterr), "redisLibuvAttach() failed");
        ac->data = NULL;
        redisAsyncFree(ac);
        return -1;
    }
    redisAsyncSetConnectCallback(ac, deliver_redis_connect_cb);
    redisAsyncSetDisconnectCallback(ac, deliver_redis_disconnect_cb);
    h->ac = ac;
    h->pending = 0;
    h->progress_at = uv_now(deliver_loop(h->d));
    if (h->password != NULL) {
        if (h->username != NULL) {
            const char *argv[] = {"AUTH", h->username, h->password};
            redisAsyncCommandArgv(ac, deliver_redis_setup_cb, "AUTH", 3, argv, NULL);
        } else {
            const char *argv[] = {"AUTH", h->password};
            redisAsyncCommandArgv(ac, deliver_redis_setup_cb, "AUTH", 2, argv, NULL);
        }
        h->pending++;
    }
    if (h->db > 0) {
        redisAsyncCommand(ac, deliver_redis_setup_cb, "SELECT", "SELECT %d", h->db);
        h->pending++;
    }
    return 0;
}

static void
deliver_redis_send(void *state, struct deliver_rec *rec)
{
    struct deliver_redis *h = state;
    const char *argv[10];
    size_t lens[10];
    int argc = 0;
    char reason[400];

    if (h->ac == NULL && deliver_redis_connect(h) != 0) {
        snprintf(reason, sizeof(reason), "Redis %s: %s", h->host != NULL ? h->host : h->path,
                 h->lasterr);
        deliver_done(h->d, rec, DELIVER_RETRY, reason);
        return;
    }
    argv[argc] = "XADD";
    lens[argc++] = 4;
    argv[argc] = h->stream;
    lens[argc++] = strlen(h->stream);
    if (h->maxlen[0] != '\0') {
        argv[argc] = "MAXLEN";
        lens[argc++] = 6;
        argv[argc] = "~";
        lens[argc++] = 1;
        argv[argc] = h->maxlen;
        lens[argc++] = strlen(h->maxlen);
    }
    argv[argc] = "*";
    lens[argc++] = 1;
    argv[argc] = "id";
    lens[argc++] = 2;
    argv[argc] = rec->sr->id;
    lens[argc++] = rec->sr->id_len;
    argv[argc] = "data";
    lens[argc++] = 4;
    argv[argc] = rec->sr->data;
    lens[argc++] = rec->sr->len;
    if (h->pending == 0) {
        h->progress_at = uv_now(deliver_loop(h->d));
    }
    if (redisAsyncCommandArgv(h->ac, deliver_redis_xadd_cb, rec, argc, argv, lens) != REDIS_OK) {
        snprintf(reason, sizeof(reason), "Redis XADD %s: connection closing", h->stream);
        deliver_done(h->d, rec, DELIVER_RETRY, reason);
        return;
    }
    h->pending++;
}

/* Replies overdue: drop the connection, which fails every pending command. */
static void
deliver_redis_timer_cb(uv_timer_t *t)
{
    struct deliver_redis *h = t->data;
    redisAsyncContext *ac;

    if (h->ac == NULL || h->pending == 0 ||
        uv_now(deliver_loop(h->d)) - h->progress_at < h->timeout_ms) {
        return;
    }
    ac = h->ac;
    snprintf(h->lasterr, sizeof(h->lasterr), "no reply within %" PRIu64 " ms", h->timeout_ms);
    h->ac = NULL;
    h->connected = 0;
    redisAsyncFree(ac);
}

static int
deliver_redis_open(struct deliver *d, const void *conf, void **state, char *err, size_t errlen)
{
    const struct deliver_redis_conf *c = conf;
    struct deliver_redis *h = xcalloc(1, sizeof(*h));
    uint64_t tick;

    h->d = d;
    if (redis_server_parse_url(c->url, &h->host, &h->port, &h->path, &h->db, err, errlen) != 0 ||
        (c->password_file != NULL &&
         redis_server_read_password(c->password_file, &h->password, err, errlen) != 0)) {
        free(h->host);
        free(h->path);
        free(h);
        return -1;
    }
    if (c->db >= 0) {
        h->db = (int)c->db;
    }
    h->stream = xstrdup(c->stream);
    h->username = c->username != NULL ? xstrdup(c->username) : NULL;
    if (c->maxlen > 0) {
        snprintf(h->maxlen, sizeof(h->maxlen), "%" PRId64, c->maxlen);
    }
    h->timeout_ms = (uint64_t)(c->timeout_us / 1000);
    uv_timer_init(deliver_loop(d), &h->timer);
    h->timer.data = h;
    tick = h->timeout_ms / 4 > 0 ? h->timeout_ms / 4 : 1;
    uv_timer_start(&h->timer, deliver_redis_timer_cb, tick, tick);
    *state = h;
    return 0;
}

static void
deliver_redis_timer_closed_cb(uv_handle_t *t)
{
    struct deliver_redis *h = t->data;
    struct deliver *d = h->d;

    free(h->host);
    free(h->path);
    free(h->stream);
    free(h->username);
    if (h->password != NULL) {
        memset(h->password, 0, strlen(h->password));
        free(h->password);
    }
    free(h);
    deliver_transport_closed(d);
}

static void
deliver_redis_close(void *state)
{
    struct deliver_redis *h = state;

    h->closing = 1;
    if (h->ac != NULL) {
        redisAsyncContext *ac = h->ac;
        h->ac = NULL;
        redisAsyncFree(ac); /* pending callbacks see closing and do nothing */
    }
    uv_close((uv_handle_t *)&h->timer, deliver_redis_timer_closed_cb);
}

const struct deliver_transport deliver_redis_transport = {
    .type = "redis",
    .keys = deliver_redis_keys,
    .conf_size = sizeof(struct deliver_redis_conf),
    .window = 100,
    .window_max = 100000,
    .check = deliver_redis_check,
    .open = deliver_redis_open,
    .send = deliver_redis_send,
    .reopen = NULL,
    .close = deliver_redis_close,
};
