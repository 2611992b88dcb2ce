/*
 * ArcSight CEF decoder: "CEF:Version|Vendor|Product|Version|Signature ID|Name|Severity|
 * Extension", bare or behind an RFC 3164 / RFC 5424 syslog header. Header fields become
 * cef.* fields, extension pairs cef.ext.<key>, and well-known extension keys are also
 * mapped to ECS names (src -> source.ip, rt -> the event time, ...).
 */
#include <string.h>

#include "decode-private.h"
#include "decode.h"
#include "event.h"

#define SLEN(s) (sizeof(s) - 1)
#define CEF_EXT_PREFIX "cef.ext."

static const char *const cef_header_names[7] = {
    "cef.version",   "cef.device_vendor", "cef.device_product", "cef.device_version",
    "cef.signature_id", "cef.name",       "cef.severity",
};

/* Header fields also given ECS names (index into the header; NULL: none). */
static const char *const cef_header_ecs[7] = {
    NULL, "observer.vendor", "observer.product", "observer.version", "event.code", NULL, NULL,
};

/* A table entry with its lengths, so lookups need no strlen(). */
#define CEF_ALIAS(key, ecs) {key, sizeof(key) - 1, ecs, sizeof(ecs) - 1}

/* Extension keys with an ECS name (short and full ArcSight dictionary names). */
static const struct {
    const char *key;
    size_t key_len;
    const char *ecs;
    size_t ecs_len;
} cef_ext_ecs[] = {
    CEF_ALIAS("src", "source.ip"),
    CEF_ALIAS("sourceAddress", "source.ip"),
    CEF_ALIAS("dst", "destination.ip"),
    CEF_ALIAS("destinationAddress", "destination.ip"),
    CEF_ALIAS("spt", "source.port"),
    CEF_ALIAS("sourcePort", "source.port"),
    CEF_ALIAS("dpt", "destination.port"),
    CEF_ALIAS("destinationPort", "destination.port"),
    CEF_ALIAS("suser", "source.user.name"),
    CEF_ALIAS("sourceUserName", "source.user.name"),
    CEF_ALIAS("duser", "user.name"),
    CEF_ALIAS("destinationUserName", "user.name"),
    CEF_ALIAS("shost", "source.domain"),
    CEF_ALIAS("sourceHostName", "source.domain"),
    CEF_ALIAS("dhost", "destination.domain"),
    CEF_ALIAS("destinationHostName", "destination.domain"),
    CEF_ALIAS("smac", "source.mac"),
    CEF_ALIAS("sourceMacAddress", "source.mac"),
    CEF_ALIAS("dmac", "destination.mac"),
    CEF_ALIAS("destinationMacAddress", "destination.mac"),
    CEF_ALIAS("act", "event.action"),
    CEF_ALIAS("deviceAction", "event.action"),
    CEF_ALIAS("outcome", "event.outcome"),
    CEF_ALIAS("msg", "message"),
    CEF_ALIAS("message", "message"),
    CEF_ALIAS("proto", "network.transport"),
    CEF_ALIAS("transportProtocol", "network.transport"),
    CEF_ALIAS("app", "network.protocol"),
    CEF_ALIAS("applicationProtocol", "network.protocol"),
    CEF_ALIAS("request", "url.original"),
    CEF_ALIAS("requestMethod", "http.request.method"),
    CEF_ALIAS("requestClientApplication", "user_agent.original"),
    CEF_ALIAS("fname", "file.name"),
    CEF_ALIAS("fileName", "file.name"),
    CEF_ALIAS("filePath", "file.path"),
    CEF_ALIAS("dvchost", "observer.hostname"),
    CEF_ALIAS("deviceHostName", "observer.hostname"),
    CEF_ALIAS("dvc", "observer.ip"),
    CEF_ALIAS("deviceAddress", "observer.ip"),
};

/* Whether p[0..n) starts with "CEF:" and a digit. */
int
decode_cef_starts(const char *p, size_t n)
{
    return n >= 5 && memcmp(p, "CEF:", 4) == 0 && p[4] >= '0' && p[4] <= '9';
}

static int
cef_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* Length of "key=" at p (key chars then '='), or 0. */
static size_t
cef_key_at(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && cef_key_char(p[i])) {
        i++;
    }
    return i > 0 && i < n && p[i] == '=' ? i : 0;
}

/* Unescape a header field (\| and \\) into the arena. */
static char *
cef_unescape_header(struct decode_state *st, const char *p, size_t n, size_t *out_len)
{
    char *s = event_alloc(st->ev, n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n && (p[i + 1] == '|' || p[i + 1] == '\\')) {
            i++;
        }
        s[o++] = p[i];
    }
    s[o] = '\0';
    *out_len = o;
    return s;
}

/* Unescape an extension value (\= \\ \n \r; in a quoted value also \") into the arena. */
static char *
cef_unescape_value(struct decode_state *st, const char *p, size_t n, int quoted,
                   size_t *out_len)
{
    char *s = event_alloc(st->ev, n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char d = p[i + 1];
            if (d == '=' || d == '\\' || (quoted && d == '"')) {
                c = d;
                i++;
            } else if (d == 'n') {
                c = '\n';
                i++;
            } else if (d == 'r') {
                c = '\r';
                i++;
            }
        }
        s[o++] = c;
    }
    s[o] = '\0';
    *out_len = o;
    return s;
}

static int
cef_is_int(const char *p, size_t n)
{
    if (n == 0 || n > 9) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* One extension pair: cef.ext.<key>, its ECS alias, and rt as the event time. */
static int
cef_add_ext(struct decode_state *st, const char *key, size_t key_len, const char *val,
            size_t val_len)
{
    size_t name_len;
    char *name = decode_name(st, CEF_EXT_PREFIX, SLEN(CEF_EXT_PREFIX), key, key_len, &name_len);

    if (decode_add_ref(st, name, name_len, val, val_len) != 0) {
        return -1;
    }
    if ((key_len == 2 && memcmp(key, "rt", 2) == 0) ||
        (key_len == 11 && memcmp(key, "receiptTime", 11) == 0)) {
        int64_t us;
        if (decode_time_value(val, val_len, st->ctx != NULL ? st->ctx->now_us : 0, &us) == 0) {
            decode_set_time(st, us);
        }
        return 0;
    }
    if (val_len == 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(cef_ext_ecs) / sizeof(cef_ext_ecs[0]); i++) {
        if (cef_ext_ecs[i].key_len == key_len && memcmp(cef_ext_ecs[i].key, key, key_len) == 0) {
            return decode_add_ref(st, cef_ext_ecs[i].ecs, cef_ext_ecs[i].ecs_len, val, val_len);
        }
    }
    return 0;
}

/*
 * As a leniency (CEF has no quoting), a value that starts with '"' and has a closing '"'
 * followed by the end or by " key=" is taken without its quotes: returns the position of
 * that closing quote, or 0. *no_close remembers where a search already failed so that a
 * line full of opening quotes is not rescanned (linear time).
 */
static size_t
cef_closing_quote(const char *p, size_t n, size_t v, size_t *no_close)
{
    if (v >= n || p[v] != '"' || v < *no_close) {
        return 0;
    }
    for (size_t q = v + 1; q < n; q++) {
        if (p[q] == '\\') {
            q++;
        } else if (p[q] == '"') {
            size_t r = q + 1;
            while (r < n && (p[r] == ' ' || p[r] == '\t')) {
                r++;
            }
            if (r == n || (r > q + 1 && cef_key_at(p + r, n - r) > 0)) {
                return q;
            }
        }
    }
    *no_close = n;
    return 0;
}

/*
 * The extension: key=value pairs separated by spaces. A value runs until the next
 * " key=" (an escaped \= never ends a key); trailing blanks are dropped.
 */
static int
cef_parse_ext(struct decode_state *st, const char *p, size_t n)
{
    size_t i = 0, no_close = 0;

    while (i < n) {
        size_t key, key_len, v, vend, next, out_len, q;
        int quoted = 0;
        char *val;

        while (i < n && (p[i] == ' ' || p[i] == '\t')) {
            i++;
        }
        if (i >= n) {
            break;
        }
        key_len = cef_key_at(p + i, n - i);
        if (key_len == 0) {
            /* Not a key: skip to the next " key=". */
            while (i < n && !(p[i] == ' ' && cef_key_at(p + i + 1, n - i - 1) > 0)) {
                i += p[i] == '\\' ? 2 : 1;
            }
            continue;
        }
        key = i;
        v = i + key_len + 1;
        if ((q = cef_closing_quote(p, n, v, &no_close)) > 0) {
            quoted = 1;
            vend = q;
            next = q + 1;
            v++;
        } else {
            /* The value ends at the next unescaped " key=". */
            for (next = v; next < n; next++) {
                if (p[next] == '\\') {
                    next++;
                } else if (p[next] == ' ' && cef_key_at(p + next + 1, n - next - 1) > 0) {
                    break;
                }
            }
            if (next > n) {
                next = n;
            }
            vend = next;
            while (vend > v && (p[vend - 1] == ' ' || p[vend - 1] == '\t')) {
                vend--;
            }
        }
        val = cef_unescape_value(st, p + v, vend - v, quoted, &out_len);
        if (cef_add_ext(st, p + key, key_len, val, out_len) != 0) {
            return -1;
        }
        i = next;
    }
    return 0;
}

/* Decode the CEF record at p (inside st->line): header and extension. 0 or -1. */
int
decode_cef_body(struct decode_state *st, const char *p, size_t n)
{
    size_t start[7], end[7], nf = 0, i = 4, ext = n;

    /* Seven '|'-separated header fields; "\|" and "\\" do not end one. */
    start[0] = i;
    while (i < n && nf < 7) {
        if (p[i] == '\\' && i + 1 < n) {
            i += 2;
            continue;
        }
        if (p[i] == '|') {
            end[nf++] = i;
            if (nf < 7) {
                start[nf] = i + 1;
            } else {
                ext = i + 1;
            }
        }
        i++;
    }
    if (nf == 6) {
        /* "CEF:0|a|b|c|d|e|f" without the last '|': the extension is empty. */
        end[nf++] = n;
    }
    if (nf < 7) {
        return decode_fail(st, "header has %zu of 7 '|'-separated fields", nf + 1);
    }
    for (size_t k = start[0]; k < end[0]; k++) {
        if (p[k] < '0' || p[k] > '9') {
            char q[48];
            return decode_fail(st, "version '%s' is not a number",
                               decode_quote(q, p + start[0], end[0] - start[0]));
        }
    }
    for (size_t f = 0; f < 7; f++) {
        size_t vlen;
        char *v = cef_unescape_header(st, p + start[f], end[f] - start[f], &vlen);
        if (decode_add_ref(st, cef_header_names[f], strlen(cef_header_names[f]), v, vlen) != 0) {
            return -1;
        }
        if (cef_header_ecs[f] != NULL && vlen > 0 &&
            decode_add_ref(st, cef_header_ecs[f], strlen(cef_header_ecs[f]), v, vlen) != 0) {
            return -1;
        }
        if (f == 6 && cef_is_int(v, vlen) &&
            decode_add_ref(st, "event.severity", SLEN("event.severity"), v, vlen) != 0) {
            return -1;
        }
    }
    if (ext < n) {
        return cef_parse_ext(st, p + ext, n - ext);
    }
    return 0;
}

/* The first "CEF:<digit>" in p[0..n), or NULL. */
static const char *
cef_find(const char *p, size_t n)
{
    const char *q = p, *end = p + n;

    while ((q = memchr(q, 'C', (size_t)(end - q))) != NULL) {
        if (decode_cef_starts(q, (size_t)(end - q))) {
            return q;
        }
        q++;
    }
    return NULL;
}

/* Decode st's line as CEF, bare or behind a syslog header. Returns 0 or -1. */
int
decode_cef_run(struct decode_state *st)
{
    const char *p = st->line, *c;
    size_t n = st->len;
    struct decode_syslog_hdr h;

    st->fmt = "cef";
    st->ev->format = "cef";
    if (decode_check_text(st) != 0) {
        return -1;
    }
    if (decode_cef_starts(p, n)) {
        return decode_cef_body(st, p, n);
    }
    if (decode_syslog_parse(p, n, st->ctx != NULL ? st->ctx->now_us : 0, &h, NULL, 0) == 0 &&
        h.msg != NULL) {
        if (!decode_cef_starts(h.msg, h.msg_len)) {
            decode_syslog_split_tag(&h);
        }
        if (h.msg != NULL && decode_cef_starts(h.msg, h.msg_len)) {
            const char *body = h.msg;
            size_t body_len = h.msg_len;
            h.msg = NULL;
            if (decode_syslog_emit(st, &h) != 0) {
                return -1;
            }
            return decode_cef_body(st, body, body_len);
        }
    }
    /* Some other prefix (e.g. "Dec 03 2017 16:31:28.861 IST 10.17.4.208 CEF:0|..."): skip it. */
    c = cef_find(p, n);
    if (c == NULL) {
        return decode_fail(st, "no CEF header (\"CEF:<version>|\")");
    }
    return decode_cef_body(st, c, n - (size_t)(c - p));
}

/* Decode one CEF line; see decode.h for the contract. */
int
decode_cef(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
           char *err, size_t errlen)
{
    return decode_line(DECODE_CEF, ev, line, len, ctx, err, errlen);
}
