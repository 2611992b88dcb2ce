/*
 * Decoder dispatch, `auto` detection, and the helpers every decoder shares: starting and
 * finishing a decode call, adding fields, error messages, and timestamp values.
 * The format-specific parsers live in decode-syslog.c, decode-json.c, decode-cef.c and
 * decode-kv.c; docs/DECODERS.md describes what each one produces.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "decode-private.h"
#include "decode.h"
#include "event.h"
#include "timeutil.h"

static const char *const decode_names[] = {
    [DECODE_AUTO] = "auto", [DECODE_SYSLOG] = "syslog", [DECODE_JSON] = "json",
    [DECODE_CEF] = "cef",   [DECODE_KV] = "kv",
};

/* Map a config name to a format. Returns 0, or -1 for an unknown (or NULL) name. */
int
decode_format_parse(const char *name, enum decode_format *out)
{
    for (size_t i = 0; i < sizeof(decode_names) / sizeof(decode_names[0]); i++) {
        if (name != NULL && strcmp(name, decode_names[i]) == 0) {
            *out = (enum decode_format)i;
            return 0;
        }
    }
    return -1;
}

/* The config name of a format (a static string; "unknown" when out of range). */
const char *
decode_format_name(enum decode_format fmt)
{
    if ((unsigned)fmt < sizeof(decode_names) / sizeof(decode_names[0])) {
        return decode_names[fmt];
    }
    return "unknown";
}

/* Write "<format>: <reason>" into the caller's err buffer (may be NULL). Returns -1. */
int
decode_fail(struct decode_state *st, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (st->err == NULL || st->errlen == 0) {
        return -1;
    }
    n = snprintf(st->err, st->errlen, "%s: ", st->fmt);
    if (n < 0 || (size_t)n >= st->errlen) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A printable excerpt of input for an error message, written into buf. */
const char *
decode_quote(char *buf, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n && i < 40; i++) {
        unsigned char c = (unsigned char)p[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

/* Start a decode call: trim CR/LF, check the length, copy the line as event.original. */
int
decode_begin(struct decode_state *st, struct event *ev, const char *fmt, const char *line,
             size_t len, const struct decode_ctx *ctx, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    st->ev = ev;
    st->ctx = ctx;
    st->err = err;
    st->errlen = errlen;
    st->fmt = fmt;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (line == NULL) {
        len = 0;
    }
    if (len > 0 && line[len - 1] == '\n') {
        len--;
    }
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    st->line = line;
    st->len = len;
    if (len == 0) {
        return decode_fail(st, "empty line");
    }
    if (len >= UINT32_MAX) {
        return decode_fail(st, "line of %zu bytes is too long", len);
    }
    if (event_set_raw(ev, line, len) != 0) {
        return decode_fail(st, "too many fields (limit %u)", ev->max_fields);
    }
    return 0;
}

/* Refuse binary data (NUL, C0 controls but TAB LF VT FF CR ESC). Returns 0 or -1. */
int
decode_check_text(struct decode_state *st)
{
    const unsigned char *p = (const unsigned char *)st->line;
    size_t n = st->len, i = 0;

#ifdef __SSE2__
    /* Sixteen bytes at a time: skip blocks without any byte below 0x20 (max(b, 0x20) == b
     * unsigned, for every byte). SSE2 is part of x86-64. */
    if (n >= 16) {
        const __m128i space = _mm_set1_epi8(0x20);
        __m128i b;
        for (; i + 16 <= n; i += 16) {
            b = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(b, space), b)) != 0xffff) {
                break;
            }
        }
        if (i + 16 > n) {
            /* The tail: the last 16 bytes, overlapping what is done. */
            b = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(b, space), b)) == 0xffff) {
                return 0;
            }
            i = n - 16;
        }
    }
#endif
    /* Eight bytes at a time: skip words without any byte below 0x20. */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (((w - 0x2020202020202020ull) & ~w & 0x8080808080808080ull) != 0) {
            break;
        }
    }
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' &&
            c != 0x1b) {
            return decode_fail(st, "binary data: byte 0x%02x at offset %zu", c, i);
        }
    }
    return 0;
}

/* Record the event's own time (ignored outside years 1..9999); decode_finish() applies it. */
void
decode_set_time(struct decode_state *st, int64_t us)
{
    /* Only what RFC 3339 can write (years 1..9999) is a usable time. */
    if (us < DECODE_TIME_MIN || us > DECODE_TIME_MAX) {
        return;
    }
    st->has_time = 1;
    st->time_us = us;
}

/* The "too many fields" failure of decode_add() and decode_add_ref(). Returns -1. */
int
decode_fail_fields(struct decode_state *st)
{
    return decode_fail(st, "too many fields (limit %u)", st->ev->max_fields);
}

/* Add a field holding a decimal integer (copied into the arena). */
int
decode_add_int(struct decode_state *st, const char *name, size_t name_len, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);

    return decode_add(st, name, name_len, buf, (size_t)n);
}

/* prefix + key as a NUL-terminated string in the event arena. */
char *
decode_name(struct decode_state *st, const char *prefix, size_t prefix_len, const char *key,
            size_t key_len, size_t *out_len)
{
    char *s = event_alloc(st->ev, prefix_len + key_len + 1);

    memcpy(s, prefix, prefix_len);
    memcpy(s + prefix_len, key, key_len);
    s[prefix_len + key_len] = '\0';
    *out_len = prefix_len + key_len;
    return s;
}

/*
 * The @timestamp value for a time, exactly as time_format_rfc3339() writes it. That costs
 * a gmtime_r() and a snprintf(); the syslog path runs at millions of lines a second, so the
 * date part is formatted once per day (per thread) and the time of day is written here.
 */
void
decode_format_time(int64_t us, char *buf)
{
    static __thread int64_t cached_day = INT64_MIN, last_us = INT64_MIN;
    static __thread char cached[32], last[32];
    int64_t day = us / 86400000000LL, rem = us % 86400000000LL;
    int64_t sod, frac;

    if (us == last_us) {
        /* Lines of a burst share their time. */
        memcpy(buf, last, 28);
        return;
    }
    if (rem < 0) {
        rem += 86400000000LL;
        day--;
    }
    if (day != cached_day) {
        time_format_rfc3339(day * 86400000000LL, cached);
        cached_day = day;
    }
    memcpy(buf, cached, 28);
    sod = rem / 1000000;
    frac = rem % 1000000;
    buf[11] = (char)('0' + sod / 36000);
    buf[12] = (char)('0' + sod / 3600 % 10);
    buf[14] = (char)('0' + sod % 3600 / 600);
    buf[15] = (char)('0' + sod % 600 / 60);
    buf[17] = (char)('0' + sod % 60 / 10);
    buf[18] = (char)('0' + sod % 10);
    for (int i = 25; i >= 20; i--) {
        buf[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    memcpy(last, buf, 28);
    last_us = us;
}

/* Set the event time (arrival when the line had none) and add @timestamp. */
int
decode_finish(struct decode_state *st)
{
    struct event *ev = st->ev;
    char *ts;

    if (st->has_time) {
        event_set_time(ev, st->time_us, 0);
    } else {
        event_set_time(ev, st->ctx != NULL ? st->ctx->now_us : ev->arrival_us, 1);
    }
    if (st->replace_ts) {
        event_del(ev, F_TIMESTAMP, sizeof(F_TIMESTAMP) - 1);
    }
    if (ev->time_us >= DECODE_TIME_MIN && ev->time_us <= DECODE_TIME_MAX) {
        ts = event_alloc(ev, 32);
        decode_format_time(ev->time_us, ts);
        return decode_add_ref(st, F_TIMESTAMP, sizeof(F_TIMESTAMP) - 1, ts, 27);
    }
    return 0;
}

/* Epoch number: integer digits with an optional fraction; the magnitude picks the unit. */
static int
decode_time_epoch(const char *p, size_t n, int64_t *us)
{
    uint64_t ip = 0;
    size_t i = 0, idigits = 0, fdigits = 0;
    int64_t frac = 0, t;
    const int64_t lo = 631152000LL * 1000000;   /* 1990-01-01 */
    const int64_t hi = 4102444800LL * 1000000;  /* 2100-01-01 */

    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (++idigits > 19) {
            return -1;
        }
        ip = ip * 10 + (uint64_t)(p[i] - '0');
        i++;
    }
    if (idigits == 0) {
        return -1;
    }
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (fdigits < 6) {
                frac = frac * 10 + (p[i] - '0');
            }
            fdigits++;
            i++;
        }
        if (fdigits == 0) {
            return -1;
        }
        for (size_t k = fdigits; k < 6; k++) {
            frac *= 10;
        }
    }
    if (i != n) {
        return -1;
    }
    if (ip < 100000000000ull) { /* seconds */
        t = (int64_t)ip * 1000000 + frac;
    } else if (ip < 100000000000000ull) { /* milliseconds */
        t = (int64_t)ip * 1000 + frac / 1000;
    } else if (ip < 100000000000000000ull) { /* microseconds */
        t = (int64_t)ip;
    } else { /* nanoseconds */
        t = (int64_t)(ip / 1000);
    }
    if (t < lo || t >= hi) {
        return -1;
    }
    *us = t;
    return 0;
}

/* A time from a field value: epoch number, RFC 3339 or a BSD date. 0 or -1. */
int
decode_time_value(const char *p, size_t n, int64_t now_us, int64_t *us)
{
    size_t used;

    while (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }
    if (n == 0) {
        return -1;
    }
    if (p[0] >= '0' && p[0] <= '9') {
        if (n >= 10 && p[4] == '-') {
            return time_parse_rfc3339(p, n, us);
        }
        return decode_time_epoch(p, n, us);
    }
    used = decode_syslog_time_bsd(p, n, now_us, us);
    return used == n && used > 0 ? 0 : -1;
}

/* Plain text: the line is the message; the time is the arrival time. */
static int
decode_plain_run(struct decode_state *st)
{
    st->fmt = "plain";
    st->ev->format = "plain";
    if (decode_check_text(st) != 0) {
        return -1;
    }
    return decode_add(st, F_MESSAGE, sizeof(F_MESSAGE) - 1, st->line, st->len);
}

/* Detect the format of one line; see "Auto-detection" in docs/DECODERS.md. */
static int
decode_auto_run(struct decode_state *st)
{
    const char *p = st->line;
    size_t n = st->len, i = 0;
    struct decode_syslog_hdr h;

    while (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    if (i + 3 <= n && (unsigned char)p[i] == 0xef && (unsigned char)p[i + 1] == 0xbb &&
        (unsigned char)p[i + 2] == 0xbf) {
        i += 3;
    }
    if (i < n && p[i] == '{') {
        return decode_json_run(st);
    }
    if (decode_cef_starts(p, n)) {
        return decode_cef_run(st);
    }
    if (decode_syslog_parse(p, n, st->ctx != NULL ? st->ctx->now_us : 0, &h, NULL, 0) == 0) {
        if (h.msg != NULL && decode_cef_starts(h.msg, h.msg_len)) {
            return decode_cef_run(st);
        }
        if (!h.rfc5424) {
            struct decode_syslog_hdr t = h;
            decode_syslog_split_tag(&t);
            if (t.msg != NULL && t.app != NULL && decode_cef_starts(t.msg, t.msg_len)) {
                return decode_cef_run(st);
            }
        }
        return decode_syslog_run_hdr(st, &h);
    }
    if (decode_kv_count(p, n, 2) >= 2) {
        return decode_kv_run(st);
    }
    return decode_plain_run(st);
}

/* Decode one line in the given format (DECODE_AUTO detects); see decode.h. */
int
decode_line(enum decode_format fmt, struct event *ev, const char *line, size_t len,
            const struct decode_ctx *ctx, char *err, size_t errlen)
{
    struct decode_state st;
    int r;

    if (decode_begin(&st, ev, decode_format_name(fmt), line, len, ctx, err, errlen) != 0) {
        return -1;
    }
    switch (fmt) {
    case DECODE_AUTO:
        r = decode_auto_run(&st);
        break;
    case DECODE_SYSLOG:
        r = decode_syslog_run(&st);
        break;
    case DECODE_JSON:
        r = decode_json_run(&st);
        break;
    case DECODE_CEF:
        r = decode_cef_run(&st);
        break;
    case DECODE_KV:
        r = decode_kv_run(&st);
        break;
    default:
        return decode_fail(&st, "unknown format %d", (int)fmt);
    }
    if (r != 0) {
        return -1;
    }
    return decode_finish(&st);
}
