/*
 * Internals shared by the decoders (decode.c, decode-syslog.c, decode-json.c,
 * decode-cef.c, decode-kv.c). Nothing outside core/decode*.c includes this header.
 *
 * Every decode_*() entry point fills a struct decode_state with decode_begin(), parses the
 * caller's buffer (never past len, never relying on a NUL), adds fields through the
 * decode_add*() helpers and ends with decode_finish(), which sets the event time and the
 * normalised @timestamp field.
 */
#ifndef KZ_DECODE_PRIVATE_H
#define KZ_DECODE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "event.h"

/* The range of usable event times: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
#define DECODE_TIME_MIN (-62135596800LL * 1000000)
#define DECODE_TIME_MAX (253402300800LL * 1000000 - 1)

/* One decode call. */
struct decode_state {
    struct event *ev;
    const struct decode_ctx *ctx;
    const char *line;   /* the caller's buffer; not NUL-terminated */
    size_t len;         /* length without the trailing CR/LF */
    const char *fmt;    /* prefix of error messages: "syslog", "json", ... */
    char *err;
    size_t errlen;
    int has_time;       /* time_us holds the event's own time */
    int time_rank;      /* precedence of the key that gave the time (json, kv) */
    int64_t time_us;
    int replace_ts;     /* the input may itself have produced an @timestamp field */
};

/* A parsed syslog header (RFC 3164 or RFC 5424); pointers are into the caller's line. */
struct decode_syslog_hdr {
    int pri;              /* 0..191, or -1 when the line has no <PRI> */
    int rfc5424;          /* 1 for RFC 5424 (with or without VERSION) */
    int version;          /* RFC 5424 VERSION, 0 when absent */
    int has_time;
    int64_t time_us;
    const char *host;     /* NULL when absent or NILVALUE */
    size_t host_len;
    const char *app;      /* RFC 5424 APP-NAME, or the RFC 3164 TAG once split */
    size_t app_len;
    const char *procid;   /* RFC 5424 PROCID, or the RFC 3164 [pid] */
    size_t procid_len;
    int procid_digits;    /* procid is 1..10 digits (an RFC 3164 [PID] always is) */
    const char *msgid;
    size_t msgid_len;
    const char *sd;       /* RFC 5424 STRUCTURED-DATA (validated), NULL when "-" */
    size_t sd_len;
    const char *msg;      /* MSG up to the end of the line, NULL when there is none */
    size_t msg_len;
};

/* decode.c */

/*
 * Start a decode call: strip one trailing CR/LF pair, refuse empty and oversized lines, copy
 * the line into the arena as event.original. fmt prefixes errors until a decoder takes over.
 * Returns 0 or -1 (err filled).
 */
int decode_begin(struct decode_state *st, struct event *ev, const char *fmt, const char *line,
                 size_t len, const struct decode_ctx *ctx, char *err, size_t errlen);
/* Stamp the event time (arrival when the event had none) and add @timestamp. 0 or -1. */
int decode_finish(struct decode_state *st);
/* Format "<st->fmt>: <message>" into the caller's err buffer; returns -1. */
int decode_fail(struct decode_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Refuse binary data (NUL and C0 controls other than TAB, LF, VT, FF, CR, ESC). 0 or -1. */
int decode_check_text(struct decode_state *st);
/*
 * Up to 40 bytes of p[0..n) for quoting in an error message: control bytes and DEL become
 * '?', so the message stays one printable line. Returns buf (at least 48 bytes).
 */
const char *decode_quote(char *buf, const char *p, size_t n);
/* Format us as time_format_rfc3339() does (27 chars + NUL into buf[32]), faster. */
void decode_format_time(int64_t us, char *buf);
/* Record the event's own time; a later call wins; times outside years 1..9999 are ignored. */
void decode_set_time(struct decode_state *st, int64_t us);

/* The "too many fields" failure of the decode_add*() helpers. Returns -1. */
int decode_fail_fields(struct decode_state *st);

/* Add a field whose name and value both outlive the event already (static or arena). */
static inline __attribute__((always_inline)) int
decode_add_ref(struct decode_state *st, const char *name, size_t name_len, const char *value,
               size_t value_len)
{
    if (event_add(st->ev, name, name_len, value, value_len) != 0) {
        return decode_fail_fields(st);
    }
    return 0;
}

/*
 * Add a field. name must outlive the event (static or arena); the value is copied into the
 * arena (or shared with event.original when it ends the line) so it is NUL-terminated.
 * Returns 0, or -1 with "too many fields" in err. Always inline (as is decode_add_ref()):
 * the decoders call it with constant names, whose hashes then fold into constants; left to
 * itself, link-time optimisation made one out-of-line copy and hashed every name at run
 * time (217 instructions a syslog line).
 */
static inline __attribute__((always_inline)) int
decode_add(struct decode_state *st, const char *name, size_t name_len, const char *value,
           size_t value_len)
{
    struct event *ev = st->ev;
    uintptr_t v = (uintptr_t)value, l = (uintptr_t)st->line;
    const char *copy;

    if (ev->nfields >= ev->max_fields) {
        return decode_fail_fields(st);
    }
    if (v >= l && v - l <= st->len && v - l + value_len == st->len) {
        /* The value ends the line: share event.original's copy, which ends with a NUL. */
        copy = ev->raw + (v - l);
    } else {
        copy = event_strdup(ev, value, value_len);
    }
    return decode_add_ref(st, name, name_len, copy, value_len);
}
/* Add a decimal integer field. */
int decode_add_int(struct decode_state *st, const char *name, size_t name_len, int64_t v);
/* prefix + key as a NUL-terminated arena string; *out_len gets its length. */
char *decode_name(struct decode_state *st, const char *prefix, size_t prefix_len,
                  const char *key, size_t key_len, size_t *out_len);

/*
 * Parse a timestamp value: epoch seconds/ms/us/ns (by magnitude, 1990..2100 only),
 * RFC 3339, or a BSD "Mmm dd [yyyy] HH:MM:SS[.fff] [zone]" date. The whole of p[0..n)
 * must be the timestamp (surrounding blanks allowed). Returns 0 and *us, or -1.
 */
int decode_time_value(const char *p, size_t n, int64_t now_us, int64_t *us);

/* decode-syslog.c */

/*
 * Parse a syslog header at the start of line. On success fills *h (MSG not yet split from
 * an RFC 3164 TAG) and returns 0; returns -1 with a reason in why when the line has no
 * syslog header or a malformed one.
 */
int decode_syslog_parse(const char *line, size_t len, int64_t now_us,
                        struct decode_syslog_hdr *h, char *why, size_t whylen);
/* RFC 3164: split "TAG[PID]: " or "TAG: " off the front of h->msg, if present. */
void decode_syslog_split_tag(struct decode_syslog_hdr *h);
/* Add the header's fields (and message, when h->msg is set); records the header time. */
int decode_syslog_emit(struct decode_state *st, const struct decode_syslog_hdr *h);
/*
 * Parse "Mmm dd [yyyy] HH:MM:SS[.frac] [zone]" at p; the year, when absent, is inferred
 * from now_us. Returns the number of bytes used (0 when p holds no such date) and *us.
 */
size_t decode_syslog_time_bsd(const char *p, size_t n, int64_t now_us, int64_t *us);
/* Decode the whole line as syslog; st from decode_begin(). */
int decode_syslog_run(struct decode_state *st);
/* The same with the header already parsed by decode_syslog_parse() (h is modified). */
int decode_syslog_run_hdr(struct decode_state *st, struct decode_syslog_hdr *h);

/* decode-json.c */
int decode_json_run(struct decode_state *st);

/* decode-cef.c */

/* 1 when p[0..n) starts with "CEF:" and a digit. */
int decode_cef_starts(const char *p, size_t n);
/* Decode a CEF record that starts at p ("CEF:..."); p lies inside st->line. */
int decode_cef_body(struct decode_state *st, const char *p, size_t n);
int decode_cef_run(struct decode_state *st);

/* decode-kv.c */

/* Count key=value pairs in p[0..n), stopping at max. */
int decode_kv_count(const char *p, size_t n, int max);
/* Add a field (and its ECS alias) for every key=value pair in p[0..n); *npairs counts them. */
int decode_kv_pairs(struct decode_state *st, const char *p, size_t n, int *npairs);
int decode_kv_run(struct decode_state *st);

#endif
