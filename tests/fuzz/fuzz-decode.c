/*
 * libFuzzer target for the decoders. The first input byte b picks the format (b % 5: auto,
 * syslog, json, cef, kv) and the limits ((b / 5) & 1: max_fields 8 instead of 256;
 * (b / 5) & 2: max_depth 2 instead of the default); the rest is the line, copied into a
 * buffer of exactly its length so AddressSanitizer sees any read past the end. One event
 * is reused across inputs, as the daemon does. Besides crashes, the target aborts when a
 * decode breaks the contract: a result other than 0/-1, a refusal without a printable
 * one-line reason, or an accepted event without format, event.original or exactly one
 * @timestamp. KZ_FUZZ_FORMAT=syslog (json, cef, kv, auto) pins the format for a run; the
 * first byte then only picks the limits. Built only with configure --enable-fuzzing
 * (CC=clang); see docs/DECODERS.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when err is a non-empty, one-line, printable reason. */
static int
fuzz_good_reason(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);

    if (n == 0 || n >= errlen) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static void
fuzz_check_event(const struct event *ev, const char *line, size_t len)
{
    int nts = 0;

    if (ev->format == NULL || ev->raw == NULL || ev->raw_len > len ||
        memcmp(ev->raw, line, ev->raw_len) != 0 || ev->raw[ev->raw_len] != '\0') {
        abort();
    }
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        if (f->name == NULL || f->value == NULL || f->name[f->name_len] != '\0' ||
            f->value[f->value_len] != '\0' || f->name_hash != event_name_hash(f->name,
                                                                              f->name_len)) {
            abort();
        }
        nts += f->name_len == 10 && memcmp(f->name, "@timestamp", 10) == 0;
    }
    if (nts != 1 || ev->nfields > ev->max_fields) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event ev;
    static int init, pinned = -1;
    struct decode_ctx ctx = {1780272000000000LL, 0};
    enum decode_format fmt;
    char err[256];
    char *line;
    size_t len;
    int r;

    if (size < 1) {
        return 0;
    }
    if (!init) {
        const char *pin = getenv("KZ_FUZZ_FORMAT");
        event_init(&ev);
        if (pin != NULL && decode_format_parse(pin, &fmt) == 0) {
            pinned = (int)fmt;
        }
        init = 1;
    }
    fmt = pinned >= 0 ? (enum decode_format)pinned : (enum decode_format)(data[0] % 5);
    event_reset(&ev);
    ev.max_fields = (data[0] / 5) & 1 ? 8 : EVENT_MAX_FIELDS_DEFAULT;
    ctx.max_depth = (data[0] / 5) & 2 ? 2 : 0;
    ev.arrival_us = ctx.now_us;
    len = size - 1;
    line = malloc(len > 0 ? len : 1);
    memcpy(line, data + 1, len);
    err[0] = '\0';
    r = decode_line(fmt, &ev, line, len, &ctx, err, sizeof(err));
    if (r == 0) {
        fuzz_check_event(&ev, line, len);
    } else if (r != -1 || !fuzz_good_reason(err, sizeof(err))) {
        abort();
    }
    free(line);
    return 0;
}
