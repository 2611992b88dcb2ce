/*
 * timefmt.h - UTC time stamps for output plugins, header-only: RFC 3339 with 0, 3 or 6
 * fractional digits, from the microseconds since the epoch the plugin ABI hands out. The
 * fraction is truncated, never rounded, so a time never moves into the next second.
 */
#ifndef KZ_PLUGIN_TIMEFMT_H
#define KZ_PLUGIN_TIMEFMT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Room for "YYYYYY-MM-DDTHH:MM:SS.ffffffZ" and the NUL. */
#define TIMEFMT_MAX 40

/* Split microseconds into whole seconds and a non-negative microsecond remainder. */
static inline void
timefmt_split(int64_t us, int64_t *sec, int64_t *frac_us)
{
    int64_t s = us / 1000000, f = us % 1000000;

    if (f < 0) {
        f += 1000000;
        s -= 1;
    }
    *sec = s;
    *frac_us = f;
}

/*
 * Write us as "2026-11-27T01:02:03[.fff|.ffffff]Z" into out (digits: 0, 3 or 6) and return
 * the length. Times gmtime_r() cannot represent come out as the epoch.
 */
static inline int
timefmt_rfc3339(int64_t us, int digits, char out[TIMEFMT_MAX])
{
    int64_t sec, frac;
    time_t t;
    struct tm tm;
    int n;

    timefmt_split(us, &sec, &frac);
    t = (time_t)sec;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        t = 0;
        frac = 0;
        gmtime_r(&t, &tm);
    }
    n = snprintf(out, TIMEFMT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (digits == 3) {
        n += snprintf(out + n, (size_t)(TIMEFMT_MAX - n), ".%03d", (int)(frac / 1000));
    } else if (digits == 6) {
        n += snprintf(out + n, (size_t)(TIMEFMT_MAX - n), ".%06d", (int)frac);
    }
    n += snprintf(out + n, (size_t)(TIMEFMT_MAX - n), "Z");
    return n;
}

/* Milliseconds since the epoch (floor), for formats that count in ms. */
static inline int64_t
timefmt_ms(int64_t us)
{
    int64_t sec, frac;

    timefmt_split(us, &sec, &frac);
    return sec * 1000 + frac / 1000;
}

#endif
