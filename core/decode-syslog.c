/*
 * Syslog decoder: RFC 3164 ("BSD") and RFC 5424 headers, told apart by what follows the
 * <PRI>. RFC 3164 timestamps may be "Mmm dd HH:MM:SS" (year inferred), "Mmm dd yyyy
 * HH:MM:SS[.fff]" or an RFC 3339 timestamp (rsyslog's high-precision format). RFC 5424
 * structured data becomes sd.<SD-ID>.<PARAM-NAME> fields. The header parser is also used by
 * the CEF and kv decoders, and by `auto` detection. No allocation beyond the event arena,
 * no sscanf/strptime: this is the hot path.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decode-private.h"
#include "decode.h"
#include "event.h"
#include "timeutil.h"

#define SYSLOG_MAX_TAG 128
#define SYSLOG_FUTURE_SLACK_US (31LL * 86400 * 1000000) /* year inference, see DECODERS.md */

#define F_PRIORITY "log.syslog.priority"
#define F_FACILITY_CODE "log.syslog.facility.code"
#define F_FACILITY_NAME "log.syslog.facility.name"
#define F_SEVERITY_CODE "log.syslog.severity.code"
#define F_SEVERITY_NAME "log.syslog.severity.name"
#define F_VERSION "log.syslog.version"
#define F_APPNAME "log.syslog.appname"
#define F_PROCID "log.syslog.procid"
#define F_MSGID "log.syslog.msgid"
#define SLEN(s) (sizeof(s) - 1)

static const char *const syslog_facility_names[24] = {
    "kern",     "user",   "mail",   "daemon", "auth",    "syslog",  "lpr",          "news",
    "uucp",     "cron",   "authpriv", "ftp",  "ntp",     "security", "console", "solaris-cron",
    "local0",   "local1", "local2", "local3", "local4",  "local5",  "local6",       "local7",
};

static const char *const syslog_severity_names[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static const char *const syslog_small_ints[24] = {
    "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10", "11",
    "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23",
};

/* Time zone abbreviations accepted after a BSD timestamp (offsets in minutes). */
static const struct {
    const char *name;
    int minutes;
} syslog_zones[] = {
    {"UTC", 0},    {"UT", 0},     {"GMT", 0},    {"Z", 0},      {"WET", 0},    {"WEST", 60},
    {"BST", 60},   {"CET", 60},   {"CEST", 120}, {"MET", 60},   {"MEST", 120}, {"EET", 120},
    {"EEST", 180}, {"MSK", 180},  {"IST", 330},  {"SGT", 480},  {"HKT", 480},  {"JST", 540},
    {"KST", 540},  {"AEST", 600}, {"AEDT", 660}, {"NZST", 720}, {"NZDT", 780}, {"EST", -300},
    {"EDT", -240}, {"CST", -360}, {"CDT", -300}, {"MST", -420}, {"MDT", -360}, {"PST", -480},
    {"PDT", -420}, {"AKST", -540}, {"AKDT", -480}, {"HST", -600},
};

static int
syslog_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
syslog_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
syslog_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && syslog_is_leap(y) ? 29 : dim[m - 1];
}

/* The civil year of a time in µs. */
static int64_t
syslog_year_of(int64_t us)
{
    int64_t days = us / 86400000000LL;
    unsigned m, d;

    if (us % 86400000000LL < 0) {
        days--;
    }
    return time_civil_from_days(days, &m, &d);
}

/* "Jan".."Dec" (any case) -> 1..12, else 0; p holds at least 3 bytes. */
static unsigned
syslog_month(const char *p)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    char a = (char)(p[0] | 0x20), b = (char)(p[1] | 0x20), c = (char)(p[2] | 0x20);

    for (unsigned m = 0; m < 12; m++) {
        if (names[m * 3] == a && names[m * 3 + 1] == b && names[m * 3 + 2] == c) {
            return m + 1;
        }
    }
    return 0;
}

/* n digits at p[*i] (bounds-checked); advances *i. Returns the value or -1. */
static int
syslog_num(const char *p, size_t len, size_t *i, size_t n)
{
    int v = 0;

    if (*i + n > len) {
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        char c = p[*i + k];
        if (!syslog_is_digit(c)) {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *i += n;
    return v;
}

/* A zone after a BSD timestamp: an abbreviation from the table or +hh[:]mm. */
static size_t
syslog_zone(const char *p, size_t n, int *minutes)
{
    size_t k = 0;

    if (n > 0 && (p[0] == '+' || p[0] == '-')) {
        size_t i = 1;
        int hh = syslog_num(p, n, &i, 2), mm;
        if (hh < 0) {
            return 0;
        }
        if (i < n && p[i] == ':') {
            i++;
        }
        mm = syslog_num(p, n, &i, 2);
        if (mm < 0 || hh > 23 || mm > 59 || (i < n && p[i] != ' ')) {
            return 0;
        }
        *minutes = (p[0] == '-' ? -1 : 1) * (hh * 60 + mm);
        return i;
    }
    while (k < n && k < 5 && p[k] >= 'A' && p[k] <= 'Z') {
        k++;
    }
    if (k == 0 || (k < n && p[k] != ' ')) {
        return 0;
    }
    for (size_t z = 0; z < sizeof(syslog_zones) / sizeof(syslog_zones[0]); z++) {
        if (strlen(syslog_zones[z].name) == k && memcmp(syslog_zones[z].name, p, k) == 0) {
            *minutes = syslog_zones[z].minutes;
            return k;
        }
    }
    return 0;
}

/*
 * The last plain "Mmm dd HH:MM:SS" date parsed (per thread) and what it gave, for the
 * same 15 bytes at the same now_us: lines of a log come in bursts within one second, and
 * the clock is read once per batch of lines.
 */
#define SYSLOG_BSD_PLAIN 15
static __thread char c_plain[SYSLOG_BSD_PLAIN];
static __thread int64_t c_plain_now = INT64_MIN, c_plain_us;

/* A plain date ends at p[15]: the end of p, or a space not followed by a zone. */
static int
syslog_plain_end(const char *p, size_t n)
{
    const char *q = p + SYSLOG_BSD_PLAIN + 1;
    int zone;

    if (n == SYSLOG_BSD_PLAIN) {
        return 1;
    }
    if (p[SYSLOG_BSD_PLAIN] != ' ') {
        return 0;
    }
    /* Zones start with '+', '-' or an upper-case letter and are upper case throughout:
     * most host names are told apart by their first two bytes without the table. */
    if (n > SYSLOG_BSD_PLAIN + 2 && q[0] != '+' && q[0] != '-' &&
        !(q[0] >= 'A' && q[0] <= 'Z' && (q[1] == ' ' || (q[1] >= 'A' && q[1] <= 'Z')))) {
        return 1;
    }
    return syslog_zone(q, n - SYSLOG_BSD_PLAIN - 1, &zone) == 0;
}

/* Parse a BSD date at p; returns the bytes used (0: none) and the time in *us. */
size_t
decode_syslog_time_bsd(const char *p, size_t n, int64_t now_us, int64_t *us)
{
    size_t i = 3, end;
    unsigned mon, day = 0;
    int64_t year = -1, frac = 0, secs, t;
    int hh, mi, ss, zone = 0;

    if (n >= SYSLOG_BSD_PLAIN && now_us == c_plain_now &&
        memcmp(p, c_plain, SYSLOG_BSD_PLAIN) == 0 && syslog_plain_end(p, n)) {
        *us = c_plain_us;
        return SYSLOG_BSD_PLAIN;
    }
    if (n < 3 || (mon = syslog_month(p)) == 0 || i >= n || p[i] != ' ') {
        return 0;
    }
    while (i < n && p[i] == ' ') {
        i++;
    }
    for (size_t k = 0; k < 2 && i < n && syslog_is_digit(p[i]); k++, i++) {
        day = day * 10 + (unsigned)(p[i] - '0');
    }
    if (day < 1 || day > 31) {
        return 0;
    }
    if (i < n && p[i] == ',') {
        i++;
    }
    if (i >= n || p[i] != ' ') {
        return 0;
    }
    while (i < n && p[i] == ' ') {
        i++;
    }
    if (i + 4 < n && p[i + 4] == ' ') {
        size_t j = i;
        int y = syslog_num(p, n, &j, 4);
        if (y < 0) {
            return 0;
        }
        year = y;
        i = j + 1;
    }
    hh = syslog_num(p, n, &i, 2);
    if (hh < 0 || i >= n || p[i++] != ':') {
        return 0;
    }
    mi = syslog_num(p, n, &i, 2);
    if (mi < 0 || i >= n || p[i++] != ':') {
        return 0;
    }
    ss = syslog_num(p, n, &i, 2);
    if (ss < 0 || hh > 23 || mi > 59 || ss > 60) {
        return 0;
    }
    if (i + 1 < n && (p[i] == '.' || p[i] == ',') && syslog_is_digit(p[i + 1])) {
        int digits = 0;
        i++;
        while (i < n && syslog_is_digit(p[i])) {
            if (digits < 6) {
                frac = frac * 10 + (p[i] - '0');
            }
            digits++;
            i++;
        }
        for (; digits < 6; digits++) {
            frac *= 10;
        }
    }
    if (i < n && p[i] != ' ') {
        return 0;
    }
    end = i;
    if (i + 1 < n) {
        size_t z = syslog_zone(p + i + 1, n - i - 1, &zone);
        if (z > 0) {
            end = i + 1 + z;
        }
    }
    secs = (int64_t)hh * 3600 + mi * 60 + (ss == 60 ? 59 : ss) - (int64_t)zone * 60;
    if (year >= 0) {
        if (day > syslog_days_in_month(year, mon)) {
            return 0;
        }
        t = (time_days_from_civil(year, mon, day) * 86400 + secs) * 1000000 + frac;
    } else {
        /*
         * The latest year in which the date is not more than a month after now. The year
         * of now and the day numbers are cached (per thread): lines of one log share them.
         */
        static __thread int64_t c_now_day = INT64_MIN, c_ynow, c_next_jan1;
        static __thread int64_t c_y = INT64_MIN, c_days;
        static __thread unsigned c_mon, c_day;
        int64_t now_day = now_us / 86400000000LL - (now_us % 86400000000LL < 0);
        int64_t limit = now_us + SYSLOG_FUTURE_SLACK_US, y;
        int found = 0;
        if (now_day != c_now_day) {
            c_ynow = syslog_year_of(now_us);
            c_next_jan1 = time_days_from_civil(c_ynow + 1, 1, 1);
            c_now_day = now_day;
        }
        /* Next year only when now is within a month (and a day for zones) of it. */
        y = limit >= (c_next_jan1 - 1) * 86400000000LL ? c_ynow + 1 : c_ynow;
        t = 0;
        for (; y >= c_ynow - 8 && !found; y--) {
            if (day > syslog_days_in_month(y, mon)) {
                continue;
            }
            if (y != c_y || mon != c_mon || day != c_day) {
                c_days = time_days_from_civil(y, mon, day);
                c_y = y;
                c_mon = mon;
                c_day = day;
            }
            t = (c_days * 86400 + secs) * 1000000 + frac;
            found = t <= limit;
        }
        if (!found) {
            return 0;
        }
        if (end == SYSLOG_BSD_PLAIN && syslog_plain_end(p, n)) {
            memcpy(c_plain, p, SYSLOG_BSD_PLAIN);
            c_plain_now = now_us;
            c_plain_us = t;
        }
    }
    *us = t;
    return end;
}

static void
syslog_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
syslog_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* RFC 5424 SD-NAME character (PRINTUSASCII except '=', SP, ']', '"'). */
static int
syslog_sd_name_char(char c)
{
    return c > ' ' && c <= '~' && c != '=' && c != ']' && c != '"';
}

/* Validate STRUCTURED-DATA elements starting at line[i] == '['; returns the end or 0. */
static size_t
syslog_sd_scan(const char *line, size_t len, size_t i)
{
    while (i < len && line[i] == '[') {
        size_t j = ++i;
        while (j < len && syslog_sd_name_char(line[j])) {
            j++;
        }
        if (j == i) {
            return 0;
        }
        i = j;
        while (i < len && line[i] == ' ') {
            i++;
            j = i;
            while (j < len && syslog_sd_name_char(line[j])) {
                j++;
            }
            if (j == i || j + 1 >= len || line[j] != '=' || line[j + 1] != '"') {
                return 0;
            }
            i = j + 2;
            while (i < len && line[i] != '"') {
                i += line[i] == '\\' ? 2 : 1;
            }
            if (i >= len) {
                return 0;
            }
            i++;
        }
        if (i >= len || line[i] != ']') {
            return 0;
        }
        i++;
    }
    return i;
}

/* A header token at line[*i] (after one or more spaces); NULL for NILVALUE. */
static int
syslog_token(const char *line, size_t len, size_t *i, const char **tok, size_t *tok_len)
{
    size_t j;

    if (*i >= len || line[*i] != ' ') {
        return -1;
    }
    while (*i < len && line[*i] == ' ') {
        (*i)++;
    }
    j = *i;
    while (j < len && line[j] != ' ') {
        j++;
    }
    if (j == *i) {
        return -1;
    }
    if (j - *i == 1 && line[*i] == '-') {
        *tok = NULL;
        *tok_len = 0;
    } else {
        *tok = line + *i;
        *tok_len = j - *i;
    }
    *i = j;
    return 0;
}

/* HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG] from line[i] (a space). */
static int
syslog_parse_5424_rest(const char *line, size_t len, size_t i, struct decode_syslog_hdr *h,
                       int strict, char *why, size_t whylen)
{
    static const char *const names[] = {"HOSTNAME", "APP-NAME", "PROCID", "MSGID"};
    const char **toks[4] = {&h->host, &h->app, &h->procid, &h->msgid};
    size_t *lens[4] = {&h->host_len, &h->app_len, &h->procid_len, &h->msgid_len};
    size_t end;

    for (int k = 0; k < 4; k++) {
        if (syslog_token(line, len, &i, toks[k], lens[k]) != 0) {
            syslog_why(why, whylen, "truncated RFC 5424 header: no %s", names[k]);
            return -1;
        }
    }
    if (strict && h->app != NULL && h->app[h->app_len - 1] == ':') {
        return -1;
    }
    if (i >= len || line[i] != ' ') {
        syslog_why(why, whylen, "truncated RFC 5424 header: no STRUCTURED-DATA");
        return -1;
    }
    while (i < len && line[i] == ' ') {
        i++;
    }
    if (i < len && line[i] == '-' && (i + 1 == len || line[i + 1] == ' ')) {
        end = i + 1;
    } else if (i < len && line[i] == '[' && (end = syslog_sd_scan(line, len, i)) != 0) {
        h->sd = line + i;
        h->sd_len = end - i;
    } else {
        syslog_why(why, whylen, "malformed structured data at byte %zu", i);
        return -1;
    }
    if (end < len) {
        if (line[end] != ' ') {
            syslog_why(why, whylen, "no space after structured data at byte %zu", end);
            return -1;
        }
        h->msg = line + end + 1;
        h->msg_len = len - end - 1;
    }
    return 0;
}

/* TIMESTAMP and the rest of an RFC 5424 header from line[i]. */
static int
syslog_parse_5424(const char *line, size_t len, size_t i, struct decode_syslog_hdr *h,
                  char *why, size_t whylen)
{
    size_t j = i;

    h->rfc5424 = 1;
    while (j < len && line[j] != ' ') {
        j++;
    }
    if (j == i) {
        syslog_why(why, whylen, "truncated RFC 5424 header: no TIMESTAMP");
        return -1;
    }
    if (!(j - i == 1 && line[i] == '-')) {
        if (time_parse_rfc3339(line + i, j - i, &h->time_us) != 0) {
            char q[48];
            syslog_why(why, whylen, "invalid RFC 5424 timestamp '%s'",
                       decode_quote(q, line + i, j - i));
            return -1;
        }
        h->has_time = 1;
    }
    return syslog_parse_5424_rest(line, len, j, h, 0, why, whylen);
}

/* "yyyy-mm-ddT" at p. */
static int
syslog_iso_at(const char *p, size_t n)
{
    return n >= 11 && syslog_is_digit(p[0]) && syslog_is_digit(p[3]) && p[4] == '-' &&
           p[7] == '-' && (p[10] == 'T' || p[10] == 't');
}

/* Parse the syslog header of line into *h (pointers into line). Returns 0 or -1. */
int
decode_syslog_parse(const char *line, size_t len, int64_t now_us, struct decode_syslog_hdr *h,
                    char *why, size_t whylen)
{
    size_t i = 0, j;

    memset(h, 0, sizeof(*h));
    h->pri = -1;
    if (len > 0 && line[0] == '<') {
        int v = 0;
        for (j = 1; j < len && j < 5 && syslog_is_digit(line[j]); j++) {
            v = v * 10 + (line[j] - '0');
        }
        if (j == 1) {
            syslog_why(why, whylen, "no digits in <PRI>");
            return -1;
        }
        if (j >= len || line[j] != '>') {
            syslog_why(why, whylen, "unterminated <PRI>");
            return -1;
        }
        if (v > 191 || j > 4) {
            syslog_why(why, whylen, "PRI %.*s out of range (0..191)", (int)(j - 1), line + 1);
            return -1;
        }
        h->pri = v;
        i = j + 1;
    }
    /* RFC 5424: VERSION SP; without <PRI> only when an RFC 3339 TIMESTAMP follows. */
    for (j = i; j < len && j < i + 3 && syslog_is_digit(line[j]); j++) {
    }
    if (j > i && j < len && line[j] == ' ' && line[i] != '0' &&
        (h->pri >= 0 || syslog_iso_at(line + j + 1, len - j - 1))) {
        int v = 0;
        for (size_t k = i; k < j; k++) {
            v = v * 10 + (line[k] - '0');
        }
        h->version = v;
        return syslog_parse_5424(line, len, j + 1, h, why, whylen);
    }
    if (syslog_iso_at(line + i, len - i)) {
        struct decode_syslog_hdr t;
        for (j = i; j < len && line[j] != ' '; j++) {
        }
        if (time_parse_rfc3339(line + i, j - i, &h->time_us) != 0) {
            char q[48];
            syslog_why(why, whylen, "invalid timestamp '%s'", decode_quote(q, line + i, j - i));
            return -1;
        }
        h->has_time = 1;
        /* An RFC 5424 header without <PRI> and VERSION, if it is strictly one. */
        t = *h;
        if (syslog_parse_5424_rest(line, len, j, &t, 1, NULL, 0) == 0) {
            *h = t;
            h->rfc5424 = 1;
            return 0;
        }
        i = j;
    } else {
        size_t used = decode_syslog_time_bsd(line + i, len - i, now_us, &h->time_us);
        if (used == 0) {
            if (h->pri >= 0) {
                syslog_why(why, whylen, "<PRI> not followed by a timestamp or a version");
            } else {
                syslog_why(why, whylen, "no syslog header (<PRI>, timestamp or version)");
            }
            return -1;
        }
        h->has_time = 1;
        i += used;
    }
    if (i < len && line[i] != ' ') {
        syslog_why(why, whylen, "no space after the timestamp at byte %zu", i);
        return -1;
    }
    while (i < len && line[i] == ' ') {
        i++;
    }
    if (i >= len) {
        return 0;
    }
    if (decode_cef_starts(line + i, len - i)) {
        /* "<134>Feb 12 14:10:21 CEF:0|...": no HOSTNAME, the message is a CEF record. */
        h->msg = line + i;
        h->msg_len = len - i;
        return 0;
    }
    {
        const char *sp = memchr(line + i, ' ', len - i);
        j = sp != NULL ? (size_t)(sp - line) : len;
    }
    if (line[j - 1] == ':' && memchr(line + i, '[', j - i) != NULL) {
        /* "sshd[1]:" right after the timestamp: a TAG, the HOSTNAME is missing. */
        h->msg = line + i;
        h->msg_len = len - i;
        return 0;
    }
    h->host = line + i;
    h->host_len = line[j - 1] == ':' && j - i > 1 ? j - i - 1 : j - i;
    i = j;
    while (i < len && line[i] == ' ') {
        i++;
    }
    if (i < len) {
        h->msg = line + i;
        h->msg_len = len - i;
    }
    return 0;
}

/* Bytes that end an RFC 3164 TAG: controls, space, '[' and ':'. */
static const unsigned char syslog_tag_end[256] = {
    [0 ... ' '] = 1, ['['] = 1, [':'] = 1,
};

/* Move an RFC 3164 "TAG[PID]: " from the front of h->msg into h->app/h->procid. */
void
decode_syslog_split_tag(struct decode_syslog_hdr *h)
{
    const char *p = h->msg;
    size_t n = h->msg_len, i = 0, tag_len, lim = n < SYSLOG_MAX_TAG ? n : SYSLOG_MAX_TAG;
    const char *pid = NULL;
    size_t pid_len = 0;

    if (h->rfc5424 || p == NULL) {
        return;
    }
    while (i < lim && !syslog_tag_end[(unsigned char)p[i]]) {
        i++;
    }
    if (i == 0 || i >= n) {
        return;
    }
    tag_len = i;
    if (p[i] == '[') {
        size_t j = i + 1, jlim = n < i + 11 ? n : i + 11; /* at most 10 digits */
        while (j < jlim && (unsigned char)(p[j] - '0') < 10) {
            j++;
        }
        if (j == i + 1 || j >= n || p[j] != ']') {
            return;
        }
        pid = p + i + 1;
        pid_len = j - i - 1;
        i = j + 1;
    }
    if (i >= n || p[i] != ':' || (i + 1 < n && p[i + 1] != ' ' && p[i + 1] != '\t')) {
        return;
    }
    i++;
    if (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    h->app = p;
    h->app_len = tag_len;
    h->procid = pid;
    h->procid_len = pid_len;
    h->procid_digits = pid != NULL; /* 1..10 digits, checked above */
    h->msg = p + i;
    h->msg_len = n - i;
}

/* Add the parameters of validated STRUCTURED-DATA as sd.<SD-ID>.<PARAM-NAME> fields. */
static int
syslog_emit_sd(struct decode_state *st, const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] == '[') {
        size_t id = ++i, id_len;
        while (i < n && syslog_sd_name_char(p[i])) {
            i++;
        }
        id_len = i - id;
        while (i < n && p[i] == ' ') {
            size_t name = ++i, name_len, vstart, vlen = 0, fname_len;
            char *val, *fname;
            while (i < n && syslog_sd_name_char(p[i])) {
                i++;
            }
            name_len = i - name;
            i += 2; /* =" */
            vstart = i;
            while (i < n && p[i] != '"') {
                i += p[i] == '\\' ? 2 : 1;
            }
            val = event_alloc(st->ev, i - vstart + 1);
            for (size_t k = vstart; k < i; k++) {
                if (p[k] == '\\' && k + 1 < i &&
                    (p[k + 1] == '"' || p[k + 1] == '\\' || p[k + 1] == ']')) {
                    k++;
                }
                val[vlen++] = p[k];
            }
            val[vlen] = '\0';
            i++; /* closing quote */
            fname = event_alloc(st->ev, 3 + id_len + 1 + name_len + 1);
            memcpy(fname, "sd.", 3);
            memcpy(fname + 3, p + id, id_len);
            fname[3 + id_len] = '.';
            memcpy(fname + 4 + id_len, p + name, name_len);
            fname_len = 4 + id_len + name_len;
            fname[fname_len] = '\0';
            if (decode_add_ref(st, fname, fname_len, val, vlen) != 0) {
                return -1;
            }
        }
        i++; /* ] */
    }
    return 0;
}

static int
syslog_all_digits(const char *p, size_t n)
{
    if (n == 0 || n > 10) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!syslog_is_digit(p[i])) {
            return 0;
        }
    }
    return 1;
}

/* Add the fields of a parsed header (and its message). Returns 0 or -1. */
int
decode_syslog_emit(struct decode_state *st, const struct decode_syslog_hdr *h)
{
    if (h->pri >= 0) {
        int fac = h->pri >> 3, sev = h->pri & 7;
        if (decode_add_int(st, F_PRIORITY, SLEN(F_PRIORITY), h->pri) != 0 ||
            decode_add_ref(st, F_FACILITY_CODE, SLEN(F_FACILITY_CODE),
                           syslog_small_ints[fac], fac < 10 ? 1 : 2) != 0 ||
            decode_add_ref(st, F_FACILITY_NAME, SLEN(F_FACILITY_NAME),
                           syslog_facility_names[fac], strlen(syslog_facility_names[fac])) != 0 ||
            decode_add_ref(st, F_SEVERITY_CODE, SLEN(F_SEVERITY_CODE), syslog_small_ints[sev],
                           1) != 0 ||
            decode_add_ref(st, F_SEVERITY_NAME, SLEN(F_SEVERITY_NAME),
                           syslog_severity_names[sev], strlen(syslog_severity_names[sev])) != 0) {
            return -1;
        }
    }
    if (h->version > 0 && decode_add_int(st, F_VERSION, SLEN(F_VERSION), h->version) != 0) {
        return -1;
    }
    if (h->has_time) {
        decode_set_time(st, h->time_us);
    }
    if (h->host != NULL &&
        decode_add(st, F_HOST_NAME, SLEN(F_HOST_NAME), h->host, h->host_len) != 0) {
        return -1;
    }
    if (h->app != NULL) {
        const struct event_field *f;
        if (decode_add(st, F_PROCESS_NAME, SLEN(F_PROCESS_NAME), h->app, h->app_len) != 0) {
            return -1;
        }
        f = &st->ev->fields[st->ev->nfields - 1];
        if (decode_add_ref(st, F_APPNAME, SLEN(F_APPNAME), f->value, f->value_len) != 0) {
            return -1;
        }
    }
    if (h->procid != NULL) {
        if (h->rfc5424 &&
            decode_add(st, F_PROCID, SLEN(F_PROCID), h->procid, h->procid_len) != 0) {
            return -1;
        }
        if ((h->procid_digits || syslog_all_digits(h->procid, h->procid_len)) &&
            decode_add(st, F_PROCESS_PID, SLEN(F_PROCESS_PID), h->procid, h->procid_len) != 0) {
            return -1;
        }
    }
    if (h->msgid != NULL &&
        decode_add(st, F_MSGID, SLEN(F_MSGID), h->msgid, h->msgid_len) != 0) {
        return -1;
    }
    if (h->sd != NULL && syslog_emit_sd(st, h->sd, h->sd_len) != 0) {
        return -1;
    }
    if (h->msg != NULL) {
        const char *m = h->msg;
        size_t n = h->msg_len;
        if (h->rfc5424 && n >= 3 && (unsigned char)m[0] == 0xef &&
            (unsigned char)m[1] == 0xbb && (unsigned char)m[2] == 0xbf) {
            m += 3;
            n -= 3;
        }
        while (n > 0 && (m[n - 1] == ' ' || m[n - 1] == '\t' || m[n - 1] == '\r' ||
                         m[n - 1] == '\n')) {
            n--;
        }
        if (n > 0 && decode_add(st, F_MESSAGE, SLEN(F_MESSAGE), m, n) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Finish a syslog decode whose header is already parsed. Returns 0 or -1. */
int
decode_syslog_run_hdr(struct decode_state *st, struct decode_syslog_hdr *h)
{
    st->fmt = "syslog";
    st->ev->format = "syslog";
    if (decode_check_text(st) != 0) {
        return -1;
    }
    decode_syslog_split_tag(h);
    return decode_syslog_emit(st, h);
}

/* Decode st's line as syslog (RFC 3164 or RFC 5424). Returns 0 or -1. */
int
decode_syslog_run(struct decode_state *st)
{
    struct decode_syslog_hdr h;
    char why[160];

    st->fmt = "syslog";
    if (decode_syslog_parse(st->line, st->len, st->ctx != NULL ? st->ctx->now_us : 0, &h, why,
                            sizeof(why)) != 0) {
        /* Binary data is the better reason when there is some. */
        if (decode_check_text(st) != 0) {
            return -1;
        }
        return decode_fail(st, "%s", why);
    }
    return decode_syslog_run_hdr(st, &h);
}

/* Decode one syslog line; see decode.h for the contract. */
int
decode_syslog(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
              char *err, size_t errlen)
{
    return decode_line(DECODE_SYSLOG, ev, line, len, ctx, err, errlen);
}
