/*
 * Helpers of the delivery tests (see test-deliver-util.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errlist.h"
#include "tap.h"
#include "test-deliver-util.h"

static char dt_dir[256];
static struct ynode *dt_nodes[256];
static size_t dt_nnodes;

const char *
dt_init(void)
{
    const char *t = getenv("TMPDIR");

    signal(SIGPIPE, SIG_IGN);
    snprintf(dt_dir, sizeof(dt_dir), "%s/kz-deliver-XXXXXX", t != NULL ? t : "/tmp");
    if (mkdtemp(dt_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    return dt_dir;
}

void
dt_cleanup(void)
{
    char cmd[600];

    for (size_t i = 0; i < dt_nnodes; i++) {
        yaml_tree_free(dt_nodes[i]);
    }
    dt_nnodes = 0;
    if (getenv("KZ_KEEP_TMP") == NULL && dt_dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dt_dir);
        if (system(cmd) != 0) {
            tap_diag("could not remove %s", dt_dir);
        }
    }
}

const char *
dt_path(const char *fmt, ...)
{
    static char bufs[8][512];
    static int next;
    char rel[256];
    char *b = bufs[next++ % 8];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    snprintf(b, 512, "%s/%s", dt_dir, rel);
    return b;
}

struct ynode *
dt_yaml(const char *fmt, ...)
{
    struct ynode **docs = NULL;
    struct ynode *root;
    size_t ndocs = 0;
    char text[8192], err[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (yaml_tree_parse("test.yaml", text, strlen(text), &docs, &ndocs, err, sizeof(err)) != 0 ||
        ndocs != 1) {
        fprintf(stderr, "dt_yaml: %s\n%s\n", err, text);
        abort();
    }
    root = docs[0];
    free(docs);
    if (dt_nnodes < sizeof(dt_nodes) / sizeof(dt_nodes[0])) {
        dt_nodes[dt_nnodes++] = root;
    }
    return root;
}

static void
dt_tick_cb(uv_timer_t *h)
{
    (void)h;
}

static void
dt_tick_closed_cb(uv_handle_t *h)
{
    (void)h;
}

int
dt_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, int timeout_ms)
{
    uv_timer_t tick;
    uint64_t deadline;
    int met;

    uv_update_time(loop);
    deadline = uv_now(loop) + (uint64_t)timeout_ms;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, dt_tick_cb, 5, 5);
    while (!(met = cond(arg)) && uv_now(loop) < deadline) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&tick, dt_tick_closed_cb);
    uv_run(loop, UV_RUN_NOWAIT);
    return met;
}

static int
dt_never(void *arg)
{
    (void)arg;
    return 0;
}

void
dt_run_for(uv_loop_t *loop, int ms)
{
    dt_run_until(loop, dt_never, NULL, ms);
}

struct deliver *
dt_deliver_new(uv_loop_t *loop, const char *partner, const char *state_dir, struct ynode *node)
{
    struct deliver_conf dc = {partner, state_dir, node, "test.yaml", NULL};
    struct errlist errs = {NULL, 0};
    struct deliver *d = NULL;

    if (deliver_new(loop, &dc, &d, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("%s", errs.msgs[i]);
        }
    }
    errlist_free(&errs);
    return d;
}

static void
dt_done_cb(void *arg)
{
    *(int *)arg = 1;
}

static int
dt_flag(void *arg)
{
    return *(int *)arg;
}

int
dt_deliver_stop(uv_loop_t *loop, struct deliver *d, int timeout_ms)
{
    int done = 0;

    deliver_stop(d, dt_done_cb, &done);
    dt_run_until(loop, dt_flag, &done, timeout_ms);
    if (done) {
        deliver_free(d);
    }
    return done;
}

int
dt_delivered_at_least(void *arg)
{
    struct dt_wait *w = arg;
    struct deliver_stats st;

    deliver_get_stats(w->d, &st);
    return st.delivered >= w->n;
}

int
dt_sink_start(struct dt_sink *s, const char *mode, const char *args)
{
    const char *srcdir = getenv("top_srcdir");
    int in[2], out[2];
    char line[256];

    memset(s, 0, sizeof(*s));
    if (srcdir == NULL) {
        srcdir = ".";
    }
    if (pipe(in) != 0 || pipe(out) != 0) {
        return -1;
    }
    s->pid = fork();
    if (s->pid == 0) {
        char script[512], cmd[1024];
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        snprintf(script, sizeof(script), "%s/tests/partner-sink.py", srcdir);
        snprintf(cmd, sizeof(cmd), "exec python3 '%s' %s %s", script, mode,
                 args != NULL ? args : "");
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->cmd = fdopen(in[1], "w");
    s->out = fdopen(out[0], "r");
    if (fgets(line, sizeof(line), s->out) == NULL || sscanf(line, "PORT %d", &s->port) != 1) {
        tap_diag("partner-sink.py %s did not start", mode);
        dt_sink_stop(s);
        return -1;
    }
    return 0;
}

const char *
dt_sink_cmd(struct dt_sink *s, const char *fmt, ...)
{
    static char *line;
    static size_t cap;
    va_list ap;
    ssize_t n;

    va_start(ap, fmt);
    vfprintf(s->cmd, fmt, ap);
    va_end(ap);
    fputc('\n', s->cmd);
    fflush(s->cmd);
    n = getline(&line, &cap, s->out);
    if (n <= 0) {
        return "";
    }
    if (line[n - 1] == '\n') {
        line[n - 1] = '\0';
    }
    return line;
}

void
dt_sink_stop(struct dt_sink *s)
{
    if (s->cmd != NULL) {
        fputs("quit\n", s->cmd);
        fclose(s->cmd);
        s->cmd = NULL;
    }
    if (s->out != NULL) {
        fclose(s->out);
        s->out = NULL;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

void
dt_ids_check(const char *list, const char *prefix, int expected, struct dt_ids *r)
{
    int *seen = calloc((size_t)expected + 1, sizeof(*seen));
    size_t plen = strlen(prefix);
    const char *p = list;
    int last = -1;

    memset(r, 0, sizeof(*r));
    r->order = 1;
    while (*p != '\0') {
        const char *e;
        char *end;
        long v;

        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        e = strchr(p, ' ');
        if (e == NULL) {
            e = p + strlen(p);
        }
        r->n++;
        if ((size_t)(e - p) > plen && strncmp(p, prefix, plen) == 0) {
            v = strtol(p + plen, &end, 10);
            if (end == e && v >= 0 && v < expected) {
                if (seen[v]++ == 0) {
                    if (v < last) {
                        r->order = 0;
                    }
                    last = (int)v;
                } else {
                    r->dups++;
                }
                p = e;
                continue;
            }
        }
        r->unknown++;
        p = e;
    }
    for (int i = 0; i < expected; i++) {
        if (seen[i] > 0) {
            r->unique++;
        } else {
            r->missing++;
        }
    }
    free(seen);
}
