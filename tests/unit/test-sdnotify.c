/*
 * Tests of the sd_notify protocol (core/sdnotify.c) against a real AF_UNIX datagram socket
 * named by NOTIFY_SOCKET, as systemd would create it: a path socket and an abstract one,
 * the messages, the environment rules of the watchdog, and the watchdog timer itself on a
 * uv loop (the receiving socket is watched by a uv_poll_t; a deadline stops the loop).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "sdnotify.h"
#include "tap.h"

/* A datagram socket bound to name ("/path" or "@abstract"); returns the fd or -1. */
static int
notify_socket(const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        return -1;
    }
    memcpy(addr.sun_path, name, strlen(name));
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
    if (name[0] == '@') {
        addr.sun_path[0] = '\0';
    } else {
        len++;
    }
    if (bind(fd, (struct sockaddr *)&addr, len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The next datagram on fd as a string ("" when none is waiting). */
static const char *
notify_recv(int fd)
{
    static char msg[512];
    ssize_t n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);

    msg[n > 0 ? n : 0] = '\0';
    return msg;
}

struct ping_count {
    int fd;
    int pings;
    uint64_t first_ns;
    uint64_t third_ns;
};

static void
ping_poll_cb(uv_poll_t *handle, int status, int events)
{
    struct ping_count *pc = handle->data;

    while (strcmp(notify_recv(pc->fd), "WATCHDOG=1") == 0) {
        pc->pings++;
        if (pc->pings == 1) {
            pc->first_ns = uv_hrtime();
        } else if (pc->pings == 3) {
            pc->third_ns = uv_hrtime();
            uv_stop(handle->loop);
        }
    }
}

static int deadline_hit;

static void
deadline_cb(uv_timer_t *handle)
{
    deadline_hit = 1;
    uv_stop(handle->loop);
}

static void
test_watchdog(const char *path, int fd)
{
    uv_loop_t loop;
    uv_poll_t poll;
    uv_timer_t deadline;
    struct sdnotify_watchdog *wd = (struct sdnotify_watchdog *)&wd;
    struct ping_count pc = {fd, 0, 0, 0};
    double ms;

    uv_loop_init(&loop);
    unsetenv("WATCHDOG_USEC");
    is_int(sdnotify_watchdog_start(&loop, &wd), 0, "watchdog_start without WATCHDOG_USEC");
    ok(wd == NULL, "no watchdog asked for: none started");

    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "60000", 1); /* 60 ms: a ping every 30 ms */
    unsetenv("WATCHDOG_PID");
    uv_poll_init(&loop, &poll, fd);
    poll.data = &pc;
    uv_poll_start(&poll, UV_READABLE, ping_poll_cb);
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, deadline_cb, 10000, 0);
    is_int(sdnotify_watchdog_start(&loop, &wd), 0, "watchdog_start with WATCHDOG_USEC");
    ok(wd != NULL, "watchdog started");
    uv_run(&loop, UV_RUN_DEFAULT);
    ok(!deadline_hit && pc.pings >= 3, "three WATCHDOG=1 pings arrived (%d)", pc.pings);
    ms = (double)(pc.third_ns - pc.first_ns) / 1e6;
    /* First ping at start, then every 30 ms: the third comes about 60 ms after the first. */
    ok(ms >= 55, "pings spaced at half the interval (%.1f ms for two intervals)", ms);
    sdnotify_watchdog_stop(wd);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "uv_loop_close: every handle closed");
}

int
main(void)
{
    char dir[] = "/tmp/kz-sdnotify-XXXXXX";
    char path[128];
    char abstract[64];
    char pid[32];
    int fd;
    int afd;

    unsetenv("NOTIFY_SOCKET");
    is_int(sdnotify_ready(), 0, "no NOTIFY_SOCKET: nothing sent, 0");

    if (mkdtemp(dir) == NULL) {
        tap_diag("mkdtemp: %s", strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = notify_socket(path);
    ok(fd >= 0, "bound a datagram socket at %s", path);
    setenv("NOTIFY_SOCKET", path, 1);
    is_int(sdnotify_ready(), 1, "READY sent");
    is_str(notify_recv(fd), "READY=1", "READY=1 received");
    is_int(sdnotify_reloading(), 1, "RELOADING sent");
    is_str(notify_recv(fd), "RELOADING=1", "RELOADING=1 received");
    is_int(sdnotify_stopping(), 1, "STOPPING sent");
    is_str(notify_recv(fd), "STOPPING=1", "STOPPING=1 received");
    is_int(sdnotify_status("3 inputs\nrunning"), 1, "STATUS sent");
    is_str(notify_recv(fd), "STATUS=3 inputs running", "STATUS on one line");

    snprintf(abstract, sizeof(abstract), "@kizuna-test-sdnotify-%d", (int)getpid());
    afd = notify_socket(abstract);
    ok(afd >= 0, "bound an abstract datagram socket %s", abstract);
    setenv("NOTIFY_SOCKET", abstract, 1);
    is_int(sdnotify_ready(), 1, "READY sent to an abstract socket");
    is_str(notify_recv(afd), "READY=1", "READY=1 received on the abstract socket");
    close(afd);

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    is_int(sdnotify_ready(), -EINVAL, "a relative NOTIFY_SOCKET is refused");
    setenv("NOTIFY_SOCKET", "/nonexistent/kizuna/notify", 1);
    ok(sdnotify_ready() < 0, "a missing socket is an error");

    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    is_int(sdnotify_watchdog_usec(), 0, "no WATCHDOG_USEC: 0");
    setenv("WATCHDOG_USEC", "20000000", 1);
    is_int(sdnotify_watchdog_usec(), 20000000, "WATCHDOG_USEC read");
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    is_int(sdnotify_watchdog_usec(), 20000000, "WATCHDOG_PID is us");
    snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    is_int(sdnotify_watchdog_usec(), 0, "WATCHDOG_PID is another process: 0");
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "-5", 1);
    is_int(sdnotify_watchdog_usec(), 0, "negative WATCHDOG_USEC: 0");
    setenv("WATCHDOG_USEC", "12x", 1);
    is_int(sdnotify_watchdog_usec(), 0, "garbage WATCHDOG_USEC: 0");

    test_watchdog(path, fd);

    close(fd);
    unlink(path);
    rmdir(dir);
    return tap_done();
}
