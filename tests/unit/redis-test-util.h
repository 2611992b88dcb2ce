/*
 * Helpers for the tests of the Redis state store: a private redis-server on a free loopback
 * port (or a unix socket) with its own directory, optional password and ACL user; blocking
 * commands for setup and inspection; and driving a libuv loop until a condition holds.
 */
#ifndef KZ_REDIS_TEST_UTIL_H
#define KZ_REDIS_TEST_UTIL_H

#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <uv.h>

struct rt_server {
    pid_t pid;
    int port;
    char dir[256];
    char sock[300]; /* set to listen on a unix socket too */
    char pass[64];  /* requirepass, or "" */
    char url[400];  /* redis://127.0.0.1:PORT/0 */
};

/* A fresh private directory for servers; returns its path. Removed by rt_cleanup(). */
const char *rt_tmpdir(void);
void rt_cleanup(void);
/* Pick a free port and start redis-server (waits until it answers PING). 0 or -1. */
int rt_server_start(struct rt_server *s);
/* Start again on the same port and directory (after rt_server_kill). 0 or -1. */
int rt_server_restart(struct rt_server *s);
/* SIGKILL and reap (the data is gone: no persistence). */
void rt_server_kill(struct rt_server *s);
/* Stop (SHUTDOWN NOSAVE) and reap. */
void rt_server_stop(struct rt_server *s);
/* A blocking connection (authenticated when the server has a password), or NULL. */
redisContext *rt_connect(const struct rt_server *s);
/* Run one command on a fresh connection; returns the reply (caller frees) or NULL. */
redisReply *rt_cmd(const struct rt_server *s, const char *fmt, ...);
/* Run the loop until cond(arg) or timeout_ms; 1 when cond became true. */
int rt_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, int timeout_ms);

#endif
