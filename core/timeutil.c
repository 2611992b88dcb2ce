/*
 * RFC 3339 parsing and formatting, durations, and the wall clock for arrival stamps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "timeutil.h"

int64_t
time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
time_digits(const char *s, size_t len, size_t pos, size_t n, int *out)
{
    int v = 0;

    if (pos + n > len) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[pos + i];
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

int
time_parse_rfc3339(const char *s, size_t len, int64_t *us)
{
    int y, mo, d, h, mi, sec, tzh, tzm;
    int64_t frac = 0, t;
    size_t p = 19;

    if (len < 19 || time_digits(s, len, 0, 4, &y) || s[4] != '-' ||
        time_digits(s, len, 5, 2, &mo) || s[7] != '-' || time_digits(s, len, 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || time_digits(s, len, 11, 2, &h) ||
        s[13] != ':' || time_digits(s, len, 14, 2, &mi) || s[16] != ':' ||
        time_digits(s, len, 17, 2, &sec)) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return -1;
    }
    if (p < len && (s[p] == '.' || s[p] == ',')) {
        int digits = 0;
        p++;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (s[p] - '0');
            }
            digits++;
            p++;
        }
        if (digits == 0) {
            return -1;
        }
        for (; digits < 6; digits++) {
            frac *= 10;
        }
    }
    t = (time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
         (sec == 60 ? 59 : sec)) * 1000000 + frac;
    if (p == len) {
        *us = t;
        return 0;
    }
    if (s[p] == 'Z' || s[p] == 'z') {
        p++;
    } else if (s[p] == '+' || s[p] == '-') {
        int sign = s[p] == '-' ? -1 : 1;
        if (time_digits(s, len, p + 1, 2, &tzh)) {
            return -1;
        }
        p += 3;
        if (p < len && s[p] == ':') {
            p++;
        }
        if (time_digits(s, len, p, 2, &tzm)) {
            return -1;
        }
        p += 2;
        if (tzh > 23 || tzm > 59) {
            return -1;
        }
        t -= sign * (int64_t)(tzh * 3600 + tzm * 60) * 1000000;
    } else {
        return -1;
    }
    if (p != len) {
        return -1;
    }
    *us = t;
    return 0;
}

int64_t
time_civil_from_days(int64_t days, unsigned *month, unsigned *day)
{
    /* Howard Hinnant's algorithm, the inverse of time_days_from_civil(). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    return (int64_t)yoe + era * 400 + (*month <= 2);
}

/* Write v as n decimal digits (zero-padded) at p. */
static void
time_put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/*
 * Without gmtime_r() and snprintf(): alerts format several times each, and so do the
 * outputs. Years outside 1..9999, which RFC 3339 cannot write in four digits, keep the
 * printf form.
 */
size_t
time_format_rfc3339(int64_t us, char *buf)
{
    int64_t secs = us / 1000000, frac = us % 1000000, days, sod, y;
    unsigned d, m;
    struct tm tm;
    time_t tt;

    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    days = secs / 86400;
    sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    y = time_civil_from_days(days, &m, &d);
    if (y >= 1 && y <= 9999) {
        time_put_digits(buf, (unsigned)y, 4);
        buf[4] = '-';
        time_put_digits(buf + 5, m, 2);
        buf[7] = '-';
        time_put_digits(buf + 8, d, 2);
        buf[10] = 'T';
        time_put_digits(buf + 11, (unsigned)(sod / 3600), 2);
        buf[13] = ':';
        time_put_digits(buf + 14, (unsigned)(sod / 60 % 60), 2);
        buf[16] = ':';
        time_put_digits(buf + 17, (unsigned)(sod % 60), 2);
        buf[19] = '.';
        time_put_digits(buf + 20, (unsigned)frac, 6);
        buf[26] = 'Z';
        buf[27] = '\0';
        return 27;
    }
    tt = (time_t)secs;
    gmtime_r(&tt, &tm);
    return (size_t)snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                            (int)frac);
}

int
time_parse_duration(const char *s, int64_t *us)
{
    char *end;
    double v;
    int64_t mult = 1000000;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    v = strtod(s, &end);
    if (end == s || v < 0) {
        return -1;
    }
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0) {
        mult = 1000000;
    } else if (strcmp(end, "ms") == 0) {
        mult = 1000;
    } else if (strcmp(end, "us") == 0) {
        mult = 1;
    } else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
        mult = 60000000LL;
    } else if (strcmp(end, "h") == 0) {
        mult = 3600000000LL;
    } else if (strcmp(end, "d") == 0) {
        mult = 86400000000LL;
    } else {
        return -1;
    }
    if (v * (double)mult > 9.0e18) {
        return -1;
    }
    *us = (int64_t)(v * (double)mult + 0.5);
    return 0;
}

int64_t
time_now_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}
