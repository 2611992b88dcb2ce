/*
 * The systemd notification protocol (sd_notify(3)), without libsystemd: one datagram of
 * "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@'). Used with Type=notify and WatchdogSec= in
 * contrib/systemd/kizunad.service. Outside systemd ($NOTIFY_SOCKET unset) every call is a
 * no-op that returns 0.
 */
#ifndef KZ_SDNOTIFY_H
#define KZ_SDNOTIFY_H

#include <stdint.h>

#include <uv.h>

/*
 * Send state (e.g. "READY=1\nSTATUS=running") to $NOTIFY_SOCKET. Returns 1 when sent, 0
 * when $NOTIFY_SOCKET is unset, or a negative errno (-EINVAL for a malformed socket name).
 * Any thread.
 */
int sdnotify_send(const char *state);
/* "READY=1": start-up is finished (inputs, state store and outputs are up). */
int sdnotify_ready(void);
/* "RELOADING=1": a SIGHUP reload started; send sdnotify_ready() when it is done. */
int sdnotify_reloading(void);
/* "STOPPING=1": shutdown started. */
int sdnotify_stopping(void);
/* "STATUS=<text>": one line shown by systemctl status (newlines become spaces). */
int sdnotify_status(const char *text);

/*
 * The watchdog interval systemd asked for, in microseconds: $WATCHDOG_USEC, when set, a
 * positive integer, and $WATCHDOG_PID is unset or names this process. 0 otherwise.
 */
uint64_t sdnotify_watchdog_usec(void);

struct sdnotify_watchdog;

/*
 * When systemd asked for a watchdog (sdnotify_watchdog_usec() > 0), send "WATCHDOG=1" now
 * and then every half interval from a timer on loop, so pings stop when the loop stalls.
 * The timer is unreferenced (it does not keep the loop alive). Returns 0 with *out set
 * (NULL when no watchdog was asked for), or a negative libuv error code. Loop thread.
 */
int sdnotify_watchdog_start(uv_loop_t *loop, struct sdnotify_watchdog **out);
/* Stop pinging; memory freed in the close callback (run the loop once more). NULL ok. */
void sdnotify_watchdog_stop(struct sdnotify_watchdog *wd);

#endif
