/*
 * Tests of the Redis transport (core/deliver-redis.c) against real redis-server processes
 * on loopback, each with its own port and directory: XADD of every record once and in
 * order, redis restarted mid-stream (SHUTDOWN SAVE, records keep coming, start again on the
 * same dump), MAXLEN trimming, AUTH with a password_file over a unix socket, a wrong
 * password failing, config checks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "deliver.h"
#include "errlist.h"
#include "tap.h"
#include "test-deliver-util.h"

static uv_loop_t loop;

struct redis_srv {
    pid_t pid;
    int port;
    char dir[512];
    char sock[600];
    char pass[64];
};

static int
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static redisContext *
srv_connect(struct redis_srv *s)
{
    redisContext *c =
        s->sock[0] != '\0' ? redisConnectUnix(s->sock) : redisConnect("127.0.0.1", s->port);
    redisReply *r;

    if (c == NULL || c->err != 0) {
        if (c != NULL) {
            redisFree(c);
        }
        return NULL;
    }
    if (s->pass[0] != '\0') {
        r = redisCommand(c, "AUTH %s", s->pass);
        freeReplyObject(r);
    }
    return c;
}

static int
srv_ready(void *arg)
{
    redisContext *c = srv_connect(arg);
    redisReply *r;
    int up;

    if (c == NULL) {
        return 0;
    }
    r = redisCommand(c, "PING");
    up = r != NULL && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    redisFree(c);
    return up;
}

/* Start redis-server for s (port, dir, optional unix socket and password). 0 or -1. */
static int
srv_start(struct redis_srv *s)
{
    char port[16];

    mkdir(s->dir, 0700);
    snprintf(port, sizeof(port), "%d", s->port);
    fflush(stdout);
    s->pid = fork();
    if (s->pid == 0) {
        const char *argv[20];
        int n = 0;
        argv[n++] = "redis-server";
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--bind";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--dir";
        argv[n++] = s->dir;
        argv[n++] = "--save";
        argv[n++] = "";
        argv[n++] = "--appendonly";
        argv[n++] = "no";
        if (s->sock[0] != '\0') {
            argv[n++] = "--unixsocket";
            argv[n++] = s->sock;
        }
        if (s->pass[0] != '\0') {
            argv[n++] = "--requirepass";
            argv[n++] = s->pass;
        }
        argv[n] = NULL;
        if (freopen("/dev/null", "w", stdout) == NULL) {
            _exit(126);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    return dt_run_until(&loop, srv_ready, s, 10000) ? 0 : -1;
}

/* SHUTDOWN SAVE (the stream survives into the next start) and reap. */
static void
srv_stop(struct redis_srv *s)
{
    redisContext *c = srv_connect(s);

    if (c != NULL) {
        freeReplyObject(redisCommand(c, "SHUTDOWN SAVE"));
        redisFree(c);
    }
    if (waitpid(s->pid, NULL, 0) != s->pid) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

/* ids of the stream entries in order, space-separated (caller frees); *bad counts entries
   whose data does not hold their id. */
static char *
stream_ids(struct redis_srv *s, const char *stream, int *bad, long long *xlen)
{
    redisContext *c = srv_connect(s);
    char *out = calloc(1, 1 << 20);
    size_t len = 0;
    redisReply *r;

    *bad = 0;
    *xlen = -1;
    if (c == NULL) {
        return out;
    }
    r = redisCommand(c, "XRANGE %s - +", stream);
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *fields = r->element[i]->element[1];
        const char *id = NULL, *data = NULL;
        for (size_t j = 0; j + 1 < fields->elements; j += 2) {
            if (strcmp(fields->element[j]->str, "id") == 0) {
                id = fields->element[j + 1]->str;
            } else if (strcmp(fields->element[j]->str, "data") == 0) {
                data = fields->element[j + 1]->str;
            }
        }
        if (id == NULL || data == NULL || strstr(data, id) == NULL) {
            (*bad)++;
            continue;
        }
        if (len + strlen(id) + 2 < (1 << 20)) {
            len += (size_t)sprintf(out + len, "%s ", id);
        }
    }
    freeReplyObject(r);
    r = redisCommand(c, "XLEN %s", stream);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
        *xlen = r->integer;
    }
    freeReplyObject(r);
    redisFree(c);
    return out;
}

static int
submit_range(struct deliver *d, int from, int to)
{
    char id[32], data[128];

    for (int i = from; i < to; i++) {
        int r;
        snprintf(id, sizeof(id), "r-%06d", i);
        snprintf(data, sizeof(data), "{\"alert\":\"r-%06d\"}\n", i);
        r = deliver_submit(d, id, data, strlen(data));
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

static void
test_restart(void)
{
    struct redis_srv s;
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    struct dt_ids ids;
    long long xlen;
    char *list;
    int bad;

    memset(&s, 0, sizeof(s));
    s.port = free_port();
    snprintf(s.dir, sizeof(s.dir), "%s", dt_path("redis-a"));
    if (!ok(srv_start(&s) == 0, "redis-server started")) {
        return;
    }
    d = dt_deliver_new(&loop, "rstream", dt_path("state"),
                       dt_yaml("type: redis\nurl: redis://127.0.0.1:%d/0\nstream: alerts\n"
                               "timeout: 1s\nretry: {initial: 20ms, max: 100ms}\n",
                               s.port));
    ok(d != NULL, "redis transport starts");
    if (d == NULL) {
        srv_stop(&s);
        return;
    }
    submit_range(d, 0, 300);
    w.d = d;
    w.n = 300;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "300 XADDed");
    srv_stop(&s);
    submit_range(d, 300, 600);
    dt_run_for(&loop, 300);
    deliver_get_stats(d, &st);
    ok(st.delivered == 300 && st.failed > 0 && !st.up,
       "redis down: nothing more delivered, failures counted (%llu)",
       (unsigned long long)st.failed);
    if (!ok(srv_start(&s) == 0, "redis-server restarted on the same dump")) {
        deliver_free(d);
        return;
    }
    w.n = 600;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "all 600 XADDed after restart");
    deliver_get_stats(d, &st);
    is_int(st.up, 1, "recovered");
    list = stream_ids(&s, "alerts", &bad, &xlen);
    dt_ids_check(list, "r-", 600, &ids);
    free(list);
    ok(ids.unique == 600 && ids.missing == 0 && ids.order && ids.unknown == 0,
       "stream holds all 600 in order (%d entries, %d missing)", ids.n, ids.missing);
    ok(ids.dups <= (int)st.failed, "duplicates (%d) only for failed attempts", ids.dups);
    is_int(bad, 0, "field id = alert id, field data = the record");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");

    /* MAXLEN ~ trims */
    d = dt_deliver_new(&loop, "rtrim", dt_path("state"),
                       dt_yaml("type: redis\nurl: redis://127.0.0.1:%d\nstream: trimmed\n"
                               "maxlen: 100\n",
                               s.port));
    submit_range(d, 0, 2000);
    w.d = d;
    w.n = 2000;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "2000 XADDed with MAXLEN ~ 100");
    free(stream_ids(&s, "trimmed", &bad, &xlen));
    ok(xlen >= 100 && xlen < 400, "stream trimmed to about 100 (%lld)", xlen);
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
    srv_stop(&s);
}

static void
test_auth_unix(void)
{
    const char *pwf = dt_path("redis-pw"), *badf = dt_path("redis-badpw");
    struct redis_srv s;
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    FILE *f;

    memset(&s, 0, sizeof(s));
    s.port = free_port();
    snprintf(s.dir, sizeof(s.dir), "%s", dt_path("redis-b"));
    snprintf(s.sock, sizeof(s.sock), "%s/redis.sock", s.dir);
    snprintf(s.pass, sizeof(s.pass), "pw-%d", (int)getpid());
    if (!ok(srv_start(&s) == 0, "redis-server with requirepass and a unix socket")) {
        return;
    }
    f = fopen(pwf, "w");
    fprintf(f, "%s\n", s.pass);
    fclose(f);
    chmod(pwf, 0600);
    f = fopen(badf, "w");
    fputs("wrong\n", f);
    fclose(f);
    chmod(badf, 0600);
    d = dt_deliver_new(&loop, "rauth", dt_path("state"),
                       dt_yaml("type: redis\nurl: unix:%s\nstream: s\npassword_file: %s\n"
                               "db: 2\n",
                               s.sock, pwf));
    submit_range(d, 0, 50);
    w.d = d;
    w.n = 50;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "AUTH + SELECT over unix socket");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
    {
        redisContext *c = srv_connect(&s);
        redisReply *r = c != NULL ? redisCommand(c, "SELECT 2") : NULL;
        freeReplyObject(r);
        r = c != NULL ? redisCommand(c, "XLEN s") : NULL;
        ok(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 50, "50 entries in db 2");
        freeReplyObject(r);
        if (c != NULL) {
            redisFree(c);
        }
    }

    d = dt_deliver_new(&loop, "rbadauth", dt_path("state"),
                       dt_yaml("type: redis\nurl: unix:%s\nstream: s2\npassword_file: %s\n"
                               "retry: {initial: 20ms, max: 50ms}\ndrain_timeout: 50ms\n",
                               s.sock, badf));
    submit_range(d, 0, 5);
    dt_run_for(&loop, 300);
    deliver_get_stats(d, &st);
    ok(st.delivered == 0 && st.failed > 0 && st.spool_records == 5,
       "wrong password: nothing delivered, records stay spooled");
    ok(dt_deliver_stop(&loop, d, 5000), "stop after drain_timeout");
    srv_stop(&s);
}

static void
check_error(const char *yaml, const char *want, const char *what)
{
    struct deliver_conf dc = {"p", NULL, dt_yaml("%s", yaml), "test.yaml", NULL};
    struct errlist errs = {NULL, 0};
    int found = 0;

    is_int(deliver_check(&dc, &errs), -1, what);
    for (size_t i = 0; i < errs.n; i++) {
        found |= strstr(errs.msgs[i], want) != NULL;
    }
    if (!ok(found, "%s: \"%s\"", what, want)) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("got: %s", errs.msgs[i]);
        }
    }
    errlist_free(&errs);
}

static void
test_config(void)
{
    check_error("type: redis\nurl: http://x\nstream: s\n", "deliver.url: expected redis://",
                "bad url scheme");
    check_error("type: redis\nurl: redis://u:p@x:6379\nstream: s\n",
                "credentials do not belong in the url", "password in url");
    check_error("type: redis\nurl: redis://x:99999\nstream: s\n", "bad port", "bad port");
    check_error("type: redis\nstream: s\nusername: u\n", "deliver.username: needs password_file",
                "username without password");
    check_error("type: redis\nurl: redis://x\n", "missing key 'stream'", "stream required");
}

int
main(void)
{
    dt_init();
    uv_loop_init(&loop);
    if (system("redis-server --version >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP redis-server not installed\n");
        return 0;
    }
    test_config();
    test_restart();
    test_auth_unix();
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
    dt_cleanup();
    return tap_done();
}
