/*
 * Decoders: one raw line in, one event with ECS-named fields out.
 * Each decoder is its own file (decode-syslog.c, decode-json.c, decode-cef.c, decode-kv.c);
 * decode.c dispatches and implements `auto` detection.
 *
 * Contract for every decoder:
 *  - the caller has event_reset() the event and filled ev->src and ev->arrival_us;
 *  - the decoder copies the line into the arena (event_set_raw: event.original), adds
 *    fields, sets ev->format and the event time (event_set_time); when the line carries no
 *    usable time it stamps ctx->now_us and flags it (time_from_arrival = 1);
 *  - it returns 0, or -1 with a one-line reason in err (the event then goes to the
 *    dead-letter sink; nothing is lost). It never reads past len; line need not be
 *    NUL-terminated. It must not crash or loop on any input (fuzzed).
 */
#ifndef KZ_DECODE_H
#define KZ_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum decode_format {
    DECODE_AUTO = 0,
    DECODE_SYSLOG, /* RFC 3164 or RFC 5424, told apart by the header */
    DECODE_JSON,
    DECODE_CEF,    /* bare "CEF:0|..." or behind a syslog header */
    DECODE_KV,
};

struct decode_ctx {
    int64_t now_us;     /* arrival time; also the reference for RFC 3164 year inference */
    uint32_t max_depth; /* JSON nesting limit (0: EVENT_MAX_DEPTH_DEFAULT) */
};

/* "auto", "syslog", "json", "cef", "kv" -> format; returns 0 or -1. */
int decode_format_parse(const char *name, enum decode_format *out);
const char *decode_format_name(enum decode_format fmt);

/* Decode with the given format (DECODE_AUTO detects). See the contract above. */
int decode_line(enum decode_format fmt, struct event *ev, const char *line, size_t len,
                const struct decode_ctx *ctx, char *err, size_t errlen);

int decode_syslog(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
                  char *err, size_t errlen);
int decode_json(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
                char *err, size_t errlen);
int decode_cef(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
               char *err, size_t errlen);
int decode_kv(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
              char *err, size_t errlen);

#endif
