/*
 * The daemon's log: one line per call, to stderr or syslog, plain text or JSON lines.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>
#include <time.h>

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

static void
log_json_escape(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
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

    if (level > log_level) {
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_target == LOG_TARGET_SYSLOG) {
        syslog(level, "%s%s%s%s", tag ? "[" : "", tag ? tag : "", tag ? "] " : "", msg);
        return;
    }
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(tv.tv_usec / 1000));
    if (log_json) {
        fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",", when, log_level_names[level & 7]);
        if (tag != NULL) {
            fputs("\"tag\":\"", stderr);
            log_json_escape(stderr, tag);
            fputs("\",", stderr);
        }
        fputs("\"msg\":\"", stderr);
        log_json_escape(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s kizunad %s: %s%s%s%s\n", when, log_level_names[level & 7],
                tag ? "[" : "", tag ? tag : "", tag ? "] " : "", msg);
    }
}

void
log_write(int level, const char *tag, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, tag, fmt, ap);
    va_end(ap);
}
