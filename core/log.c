/*
 * The daemon's log: one line per call, to stderr or syslog, plain text or JSON lines.
 * On stderr each line is built whole and written with one write(2). Under systemd (stderr
 * connected to the journal) plain lines carry a "<N>" severity prefix instead of a
 * timestamp, which is all journald needs: no libsystemd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

int log_level = LOG_LVL_INFO;
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_json;

static const char *const log_level_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void
log_set_level(int level)
{
    log_level = level;
}

int
log_level_parse(const char *name)
{
    for (int i = 0; i < 8; i++) {
        if (strcmp(name, log_level_names[i]) == 0) {
            return i;
        }
    }
    if (strcmp(name, "error") == 0) {
        return LOG_LVL_ERR;
    }
    if (strcmp(name, "warn") == 0) {
        return LOG_LVL_WARNING;
    }
    return -1;
}

void
log_set_target(enum log_target target, int json)
{
    log_target = target;
    log_json = json;
    if (target == LOG_TARGET_SYSLOG) {
        openlog("kizunad", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

/*
 * Under systemd, stderr is a stream to journald and $JOURNAL_STREAM holds its "dev:ino".
 * Then each line starts with "<N>" (sd-daemon(3)) so the journal records the severity,
 * and carries no timestamp (the journal has its own). Checked once; 1 or 0 afterwards.
 */
static int log_journal = -1;

static int
log_stderr_is_journal(void)
{
    int v = __atomic_load_n(&log_journal, __ATOMIC_RELAXED);
    const char *env;
    unsigned long long dev;
    unsigned long long ino;
    struct stat st;

    if (v >= 0) {
        return v;
    }
    env = getenv("JOURNAL_STREAM");
    v = env != NULL && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
        fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
        (unsigned long long)st.st_ino == ino;
    __atomic_store_n(&log_journal, v, __ATOMIC_RELAXED);
    return v;
}

/* One write(2) per line, so lines from several threads do not interleave. */
static void
log_emit(const struct buf *line)
{
    size_t off = 0;

    while (off < line->len) {
        ssize_t n = write(STDERR_FILENO, line->data + off, line->len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        off += (size_t)n;
    }
}

/* msg with control characters as \xNN, so a quoted event cannot forge log lines. */
static void
log_put_text(struct buf *line, const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
        if (*p < 0x20 && *p != '\t') {
            buf_printf(line, "\\x%02x", *p);
        } else {
            buf_putc(line, (char)*p);
        }
    }
}

void
log_vwrite(int level, const char *tag, const char *fmt, va_list ap)
{
    char msg[2048];
    char when[96];
    struct timeval tv;
    struct tm tm;
    struct buf line;
    int saved_errno = errno;

    if (level > log_level) {
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_target == LOG_TARGET_SYSLOG) {
        syslog(level, "%s%s%s%s", tag ? "[" : "", tag ? tag : "", tag ? "] " : "", msg);
        errno = saved_errno;
        return;
    }
    buf_init(&line);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    if (log_json) {
        /* buf_json_string() keeps the line valid JSON whatever bytes msg quotes. */
        buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\",", when, log_level_names[level & 7]);
        if (tag != NULL) {
            buf_puts(&line, "\"tag\":");
            buf_json_string(&line, tag, strlen(tag));
            buf_putc(&line, ',');
        }
        buf_puts(&line, "\"msg\":");
        buf_json_string(&line, msg, strlen(msg));
        buf_puts(&line, "}\n");
    } else {
        if (log_stderr_is_journal()) {
            buf_printf(&line, "<%d>", level & 7);
        } else {
            buf_printf(&line, "%s kizunad %s: ", when, log_level_names[level & 7]);
        }
        if (tag != NULL) {
            buf_printf(&line, "[%s] ", tag);
        }
        log_put_text(&line, msg);
        buf_putc(&line, '\n');
    }
    log_emit(&line);
    buf_free(&line);
    errno = saved_errno;
}

void
log_write(int level, const char *tag, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, tag, fmt, ap);
    va_end(ap);
}
