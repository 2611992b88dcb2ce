/*
 * The daemon's own log. Levels are syslog severities; the level is checked before any
 * formatting happens. Lines go to stderr (default), syslog, or as JSON lines. Each line is
 * written with one write(2) (safe from any thread); control characters in plain lines are
 * written as \xNN. When stderr is connected to journald ($JOURNAL_STREAM names it, as under
 * systemd), plain lines carry an "<N>" severity prefix and no timestamp. errno is preserved.
 */
#ifndef KZ_LOG_H
#define KZ_LOG_H

#include <stdarg.h>

#define LOG_LVL_ERR 3
#define LOG_LVL_WARNING 4
#define LOG_LVL_NOTICE 5
#define LOG_LVL_INFO 6
#define LOG_LVL_DEBUG 7

enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

extern int log_level;

void log_set_level(int level);
/* Parse "err", "warning", "notice", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *name);
void log_set_target(enum log_target target, int json);
/* Write one line at the given level; tag may be NULL (e.g. "out_json:soc"). */
void log_write(int level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(int level, const char *tag, const char *fmt, va_list ap);

#define log_err(...)                                                                         \
    do {                                                                                     \
        if (log_level >= LOG_LVL_ERR)                                                        \
            log_write(LOG_LVL_ERR, NULL, __VA_ARGS__);                                       \
    } while (0)
#define log_warn(...)                                                                        \
    do {                                                                                     \
        if (log_level >= LOG_LVL_WARNING)                                                    \
            log_write(LOG_LVL_WARNING, NULL, __VA_ARGS__);                                   \
    } while (0)
#define log_notice(...)                                                                      \
    do {                                                                                     \
        if (log_level >= LOG_LVL_NOTICE)                                                     \
            log_write(LOG_LVL_NOTICE, NULL, __VA_ARGS__);                                    \
    } while (0)
#define log_info(...)                                                                        \
    do {                                                                                     \
        if (log_level >= LOG_LVL_INFO)                                                       \
            log_write(LOG_LVL_INFO, NULL, __VA_ARGS__);                                      \
    } while (0)
#define log_debug(...)                                                                       \
    do {                                                                                     \
        if (log_level >= LOG_LVL_DEBUG)                                                      \
            log_write(LOG_LVL_DEBUG, NULL, __VA_ARGS__);                                     \
    } while (0)

#endif
