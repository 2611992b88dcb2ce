/*
 * sd_notify(3) by hand (sdnotify.h): a datagram to $NOTIFY_SOCKET, and a watchdog timer.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"
#include "xmalloc.h"

struct sdnotify_watchdog {
    uv_timer_t timer;
};

int
sdnotify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    socklen_t addrlen;
    size_t plen;
    size_t slen = strlen(state);
    ssize_t n;
    int fd = -1;
    int r;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    plen = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(addr.sun_path)) {
        r = -EINVAL;
        goto out;
    }
    memcpy(addr.sun_path, path, plen);
    if (path[0] == '@') {
        addr.sun_path[0] = '\0'; /* abstract namespace: no NUL terminator counted */
        addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    } else {
        addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen);
    if (n < 0) {
        r = -errno;
        goto out;
    }
    r = (size_t)n == slen ? 1 : -EMSGSIZE;
out:
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

int
sdnotify_ready(void)
{
    return sdnotify_send("READY=1");
}

int
sdnotify_reloading(void)
{
    return sdnotify_send("RELOADING=1");
}

int
sdnotify_stopping(void)
{
    return sdnotify_send("STOPPING=1");
}

int
sdnotify_status(const char *text)
{
    char *msg = xasprintf("STATUS=%s", text);
    int r;

    for (char *p = msg; *p != '\0'; p++) {
        if (*p == '\n') {
            *p = ' ';
        }
    }
    r = sdnotify_send(msg);
    free(msg);
    return r;
}

uint64_t
sdnotify_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    unsigned long long v;
    char *end;

    if (usec == NULL || usec[0] == '\0') {
        return 0;
    }
    if (pid != NULL && pid[0] != '\0') {
        errno = 0;
        v = strtoull(pid, &end, 10);
        if (errno != 0 || *end != '\0' || v != (unsigned long long)getpid()) {
            return 0;
        }
    }
    if (usec[0] < '0' || usec[0] > '9') {
        return 0;
    }
    errno = 0;
    v = strtoull(usec, &end, 10);
    if (errno != 0 || *end != '\0') {
        return 0;
    }
    return (uint64_t)v;
}

static void
sdnotify_watchdog_cb(uv_timer_t *timer)
{
    int r = sdnotify_send("WATCHDOG=1");

    if (r < 0) {
        log_warn("sdnotify: sending WATCHDOG=1 to \"%s\" failed: %s",
                 getenv("NOTIFY_SOCKET") ? getenv("NOTIFY_SOCKET") : "", strerror(-r));
    }
}

int
sdnotify_watchdog_start(uv_loop_t *loop, struct sdnotify_watchdog **out)
{
    struct sdnotify_watchdog *wd;
    uint64_t usec = sdnotify_watchdog_usec();
    uint64_t ms;
    int rc;

    *out = NULL;
    if (usec == 0) {
        return 0;
    }
    ms = usec / 2000; /* half the interval, in milliseconds */
    if (ms == 0) {
        ms = 1;
    }
    wd = xcalloc(1, sizeof(*wd));
    rc = uv_timer_init(loop, &wd->timer);
    if (rc < 0) {
        free(wd);
        return rc;
    }
    wd->timer.data = wd;
    sdnotify_watchdog_cb(&wd->timer);
    uv_timer_start(&wd->timer, sdnotify_watchdog_cb, ms, ms);
    uv_unref((uv_handle_t *)&wd->timer);
    log_info("sdnotify: watchdog every %llu ms (WatchdogSec=%.3fs)", (unsigned long long)ms,
             (double)usec / 1e6);
    *out = wd;
    return 0;
}

static void
sdnotify_watchdog_close_cb(uv_handle_t *handle)
{
    free(handle->data);
}

void
sdnotify_watchdog_stop(struct sdnotify_watchdog *wd)
{
    if (wd == NULL) {
        return;
    }
    uv_timer_stop(&wd->timer);
    uv_close((uv_handle_t *)&wd->timer, sdnotify_watchdog_close_cb);
}
