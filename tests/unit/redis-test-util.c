/*
 * Helpers for the Redis state store tests (redis-test-util.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis-test-util.h"

static char rt_dir[256];

/* The private directory (made on first use). */
const char *
rt_tmpdir(void)
{
    if (rt_dir[0] == '\0') {
        snprintf(rt_dir, sizeof(rt_dir), "%s/kz-redis-XXXXXX",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(rt_dir) == NULL) {
            rt_dir[0] = '\0';
            return "/tmp";
        }
    }
    return rt_dir;
}

/* Remove the private directory. */
void
rt_cleanup(void)
{
    char cmd[320];

    if (rt_dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rt_dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "# could not remove %s\n", rt_dir);
        }
        rt_dir[0] = '\0';
    }
}

static int
rt_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0) {
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

/* A blocking connection (redis-test-util.h). */
redisContext *
rt_connect(const struct rt_server *s)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    redisReply *r;

    if (c == NULL || c->err != 0) {
        if (c != NULL) {
            redisFree(c);
        }
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (s->pass[0] != '\0') {
        r = redisCommand(c, "AUTH %s", s->pass);
        freeReplyObject(r);
    }
    return c;
}

/* One command on a fresh connection (redis-test-util.h). */
redisReply *
rt_cmd(const struct rt_server *s, const char *fmt, ...)
{
    redisContext *c = rt_connect(s);
    redisReply *r;
    va_list ap;

    if (c == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

static int
rt_ping(const struct rt_server *s)
{
    redisReply *r = rt_cmd(s, "PING");
    int up = r != NULL && r->type == REDIS_REPLY_STATUS;

    freeReplyObject(r);
    return up;
}

static int
rt_spawn(struct rt_server *s)
{
    char port[16];
    struct timespec ts = {0, 20 * 1000 * 1000};

    mkdir(s->dir, 0700);
    snprintf(port, sizeof(port), "%d", s->port);
    fflush(stdout);
    fflush(stderr);
    s->pid = fork();
    if (s->pid < 0) {
        return -1;
    }
    if (s->pid == 0) {
        const char *argv[24];
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
        argv[n++] = "--daemonize";
        argv[n++] = "no";
        if (s->sock[0] != '\0') {
            argv[n++] = "--unixsocket";
            argv[n++] = s->sock;
            argv[n++] = "--unixsocketperm";
            argv[n++] = "700";
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
    for (int i = 0; i < 500; i++) { /* up to 10 s */
        int st;
        if (rt_ping(s)) {
            return 0;
        }
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Start a server on a free port (redis-test-util.h). */
int
rt_server_start(struct rt_server *s)
{
    static int n;

    s->port = rt_free_port();
    if (s->port <= 0) {
        return -1;
    }
    snprintf(s->dir, sizeof(s->dir), "%s/srv%d", rt_tmpdir(), n++);
    snprintf(s->url, sizeof(s->url), "redis://127.0.0.1:%d/0", s->port);
    return rt_spawn(s);
}

/* Start again on the same port (redis-test-util.h). */
int
rt_server_restart(struct rt_server *s)
{
    return rt_spawn(s);
}

/* SIGKILL (redis-test-util.h). */
void
rt_server_kill(struct rt_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* SHUTDOWN NOSAVE (redis-test-util.h). */
void
rt_server_stop(struct rt_server *s)
{
    redisReply *r;

    if (s->pid <= 0) {
        return;
    }
    r = rt_cmd(s, "SHUTDOWN NOSAVE");
    freeReplyObject(r);
    for (int i = 0; i < 250; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        nanosleep(&ts, NULL);
    }
    rt_server_kill(s);
}

static void
rt_tick_cb(uv_timer_t *t)
{
    (void)t;
}

static void
rt_closed_cb(uv_handle_t *h)
{
    (void)h;
}

/* Run the loop until cond or the deadline (redis-test-util.h). */
int
rt_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, int timeout_ms)
{
    uv_timer_t tick;
    uint64_t deadline;
    int met;

    uv_update_time(loop);
    deadline = uv_now(loop) + (uint64_t)timeout_ms;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, rt_tick_cb, 5, 5);
    while (!(met = cond(arg)) && uv_now(loop) < deadline) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&tick, rt_closed_cb);
    uv_run(loop, UV_RUN_NOWAIT);
    return met;
}
