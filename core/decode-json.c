/*
 * JSON decoder: one object per line, flattened into fields named by dotted path
 * ({"a":{"b":1}} -> a.b = "1"). Arrays (of scalars or of objects) give several fields with
 * the same name; null and empty containers give none. Strings are unescaped to UTF-8,
 * numbers kept as written, true/false as text. A hand-written, non-recursive parser:
 * nesting is bounded by ctx->max_depth, memory comes from the event arena only.
 */
#include <string.h>

#include "decode-private.h"
#include "decode.h"
#include "event.h"

#define SLEN(s) (sizeof(s) - 1)

/* Top-level keys that may hold the event time, by precedence (rank = index + 1). */
static const struct {
    const char *key;
    size_t len;
} json_time_keys[] = {{"@timestamp", 10}, {"timestamp", 9}, {"time", 4}, {"ts", 2}};
#define JSON_NTIME_KEYS (sizeof(json_time_keys) / sizeof(json_time_keys[0]))

/* One open container. */
struct json_frame {
    size_t path_len;  /* length of the container's own path */
    const char *name; /* arrays: the arena copy of the path, shared by the elements */
    int is_array;
};

struct json_parser {
    struct decode_state *st;
    const char *p;
    size_t n;
    size_t i;
    char *path;       /* the current dotted path (arena, n + 1 bytes) */
    const char *tval[JSON_NTIME_KEYS]; /* top-level time candidates (arena copies) */
    size_t tlen[JSON_NTIME_KEYS];
};

static void
json_skip_ws(struct json_parser *jp)
{
    while (jp->i < jp->n) {
        char c = jp->p[jp->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        jp->i++;
    }
}

static int
json_hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static size_t
json_utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * The string starting at p[i] == '"': finds its end, checks it, and unescapes it into out
 * (at least as many bytes as the escaped text; NULL: only find the end). Returns 0, the
 * index after the closing quote in *next and the unescaped length in *out_len.
 */
static int
json_string(struct json_parser *jp, char *out, size_t *next, size_t *out_len)
{
    const char *p = jp->p;
    size_t n = jp->n, i = jp->i + 1, o = 0;

    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"') {
            *next = i + 1;
            *out_len = o;
            return 0;
        }
        if (c < 0x20) {
            return decode_fail(jp->st, "control character 0x%02x in a string at byte %zu", c, i);
        }
        if (c != '\\') {
            if (out != NULL) {
                out[o] = (char)c;
            }
            o++;
            i++;
            continue;
        }
        if (i + 1 >= n) {
            break;
        }
        switch (p[i + 1]) {
        case '"':
        case '\\':
        case '/':
            c = (unsigned char)p[i + 1];
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            char buf[4];
            size_t k;
            if (i + 6 > n || json_hex4(p + i + 2, &cp) != 0) {
                return decode_fail(jp->st, "bad \\u escape at byte %zu", i);
            }
            i += 6;
            if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n && p[i] == '\\' &&
                p[i + 1] == 'u' && json_hex4(p + i + 2, &lo) == 0 && lo >= 0xdc00 &&
                lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* lone surrogate */
            }
            k = json_utf8(cp, buf);
            if (out != NULL) {
                memcpy(out + o, buf, k);
            }
            o += k;
            continue;
        }
        default: {
            char q[48];
            return decode_fail(jp->st, "bad escape '\\%s' at byte %zu",
                               decode_quote(q, p + i + 1, 1), i);
        }
        }
        if (out != NULL) {
            out[o] = (char)c;
        }
        o++;
        i += 2;
    }
    return decode_fail(jp->st, "unterminated string at byte %zu", jp->i);
}

/* A number per RFC 8259 at p[i]; returns its end, or 0. */
static size_t
json_number(const char *p, size_t n, size_t i)
{
    size_t d;

    if (i < n && p[i] == '-') {
        i++;
    }
    if (i < n && p[i] == '0') {
        i++;
    } else {
        for (d = i; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        }
        if (i == d) {
            return 0;
        }
    }
    if (i < n && p[i] == '.') {
        for (d = ++i; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        }
        if (i == d) {
            return 0;
        }
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) {
            i++;
        }
        for (d = i; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        }
        if (i == d) {
            return 0;
        }
    }
    return i;
}

static int
json_literal(struct json_parser *jp, const char *word, size_t len)
{
    if (jp->i + len <= jp->n && memcmp(jp->p + jp->i, word, len) == 0) {
        jp->i += len;
        return 0;
    }
    return -1;
}

/*
 * A scalar value at p[i] for the field named path[0..name_len); f is the enclosing frame
 * and tkey the time-key rank of a top-level key (0: none).
 */
static int
json_scalar(struct json_parser *jp, struct json_frame *f, size_t name_len, int tkey)
{
    struct decode_state *st = jp->st;
    const char *val;
    size_t val_len, end;
    char c = jp->p[jp->i];

    if (c == '"') {
        size_t next;
        char *out;
        /* First pass finds the end and checks it; the second unescapes into the arena. */
        if (json_string(jp, NULL, &next, &val_len) != 0) {
            return -1;
        }
        out = event_alloc(st->ev, val_len + 1);
        json_string(jp, out, &next, &val_len);
        out[val_len] = '\0';
        val = out;
        jp->i = next;
    } else if (c == 't' && json_literal(jp, "true", 4) == 0) {
        val = "true";
        val_len = 4;
    } else if (c == 'f' && json_literal(jp, "false", 5) == 0) {
        val = "false";
        val_len = 5;
    } else if (c == 'n' && json_literal(jp, "null", 4) == 0) {
        return 0;
    } else if ((end = json_number(jp->p, jp->n, jp->i)) != 0) {
        val = event_strdup(st->ev, jp->p + jp->i, end - jp->i);
        val_len = end - jp->i;
        jp->i = end;
    } else {
        return decode_fail(st, "unexpected %s at byte %zu", jp->i < jp->n ? "character" : "end",
                           jp->i);
    }
    if (tkey > 0) {
        jp->tval[tkey - 1] = val;
        jp->tlen[tkey - 1] = val_len;
    }
    if (f->is_array && f->name != NULL) {
        return decode_add_ref(st, f->name, name_len, val, val_len);
    }
    {
        size_t nl;
        const char *name = decode_name(st, jp->path, name_len, "", 0, &nl);
        if (f->is_array) {
            f->name = name;
        }
        if (name_len == SLEN(F_TIMESTAMP) && memcmp(name, F_TIMESTAMP, name_len) == 0) {
            st->replace_ts = 1;
        }
        return decode_add_ref(st, name, name_len, val, val_len);
    }
}

/* Which time key (rank) a top-level key is, or 0. */
static int
json_time_key(const char *key, size_t len)
{
    for (size_t r = 0; r < JSON_NTIME_KEYS; r++) {
        if (json_time_keys[r].len == len && memcmp(json_time_keys[r].key, key, len) == 0) {
            return (int)r + 1;
        }
    }
    return 0;
}

static int
json_parse(struct json_parser *jp, uint32_t max_depth)
{
    struct decode_state *st = jp->st;
    struct json_frame *stack;
    size_t depth = 1, cap;
    int first = 1;

    json_skip_ws(jp);
    if (jp->i >= jp->n || jp->p[jp->i] != '{') {
        return decode_fail(st, "expected '{' at byte %zu (the line must be a JSON object)",
                           jp->i);
    }
    jp->i++;
    /* Depth cannot exceed the number of brackets in the line. */
    cap = max_depth < jp->n ? max_depth : jp->n;
    stack = (struct json_frame *)event_alloc(st->ev, (cap + 1) * sizeof(*stack));
    stack[0].path_len = 0;
    stack[0].name = NULL;
    stack[0].is_array = 0;

    while (depth > 0) {
        struct json_frame *f = &stack[depth - 1];
        char close = f->is_array ? ']' : '}';
        size_t name_len;
        int tkey = 0;

        json_skip_ws(jp);
        if (jp->i >= jp->n) {
            return decode_fail(st, "unexpected end at byte %zu", jp->i);
        }
        if (!first) {
            /* After a value: ',' or the end of the container. */
            if (jp->p[jp->i] == close) {
                jp->i++;
                depth--;
                continue;
            }
            if (jp->p[jp->i] != ',') {
                return decode_fail(st, "expected ',' or '%c' at byte %zu", close, jp->i);
            }
            jp->i++;
            json_skip_ws(jp);
            if (jp->i >= jp->n) {
                return decode_fail(st, "unexpected end at byte %zu", jp->i);
            }
        } else if (jp->p[jp->i] == close) {
            /* Empty container: no field. */
            jp->i++;
            depth--;
            first = 0;
            continue;
        }
        first = 0;
        if (f->is_array) {
            name_len = f->path_len;
        } else {
            size_t base = f->path_len, next, key_len;
            if (jp->p[jp->i] != '"') {
                return decode_fail(st, "expected a string key at byte %zu", jp->i);
            }
            if (base > 0) {
                jp->path[base++] = '.';
            }
            if (json_string(jp, jp->path + base, &next, &key_len) != 0) {
                return -1;
            }
            name_len = base + key_len;
            if (depth == 1) {
                tkey = json_time_key(jp->path, name_len);
            }
            jp->i = next;
            json_skip_ws(jp);
            if (jp->i >= jp->n || jp->p[jp->i] != ':') {
                return decode_fail(st, "expected ':' at byte %zu", jp->i);
            }
            jp->i++;
            json_skip_ws(jp);
            if (jp->i >= jp->n) {
                return decode_fail(st, "unexpected end at byte %zu", jp->i);
            }
        }
        if (jp->p[jp->i] == '{' || jp->p[jp->i] == '[') {
            if (depth >= max_depth || depth >= cap) {
                return decode_fail(st, "nesting deeper than %u levels at byte %zu", max_depth,
                                   jp->i);
            }
            stack[depth].path_len = name_len;
            stack[depth].name = f->is_array ? f->name : NULL;
            stack[depth].is_array = jp->p[jp->i] == '[';
            depth++;
            jp->i++;
            first = 1;
            continue;
        }
        if (json_scalar(jp, f, name_len, tkey) != 0) {
            return -1;
        }
    }
    json_skip_ws(jp);
    if (jp->i < jp->n) {
        return decode_fail(st, "unexpected data after the object at byte %zu", jp->i);
    }
    return 0;
}

/* Decode st's line as one JSON object. Returns 0 or -1. */
int
decode_json_run(struct decode_state *st)
{
    struct json_parser jp;
    uint32_t max_depth = st->ctx != NULL && st->ctx->max_depth > 0 ? st->ctx->max_depth
                                                                     : EVENT_MAX_DEPTH_DEFAULT;

    st->fmt = "json";
    st->ev->format = "json";
    memset(&jp, 0, sizeof(jp));
    jp.st = st;
    jp.p = st->line;
    jp.n = st->len;
    if (jp.n >= 3 && (unsigned char)jp.p[0] == 0xef && (unsigned char)jp.p[1] == 0xbb &&
        (unsigned char)jp.p[2] == 0xbf) {
        jp.i = 3;
    }
    jp.path = event_alloc(st->ev, jp.n + 1);
    if (json_parse(&jp, max_depth) != 0) {
        return -1;
    }
    for (size_t r = 0; r < JSON_NTIME_KEYS; r++) {
        int64_t us;
        if (jp.tval[r] != NULL &&
            decode_time_value(jp.tval[r], jp.tlen[r], st->ctx != NULL ? st->ctx->now_us : 0,
                              &us) == 0) {
            decode_set_time(st, us);
            break;
        }
    }
    return 0;
}

/* Decode one JSON line; see decode.h for the contract. */
int
decode_json(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
            char *err, size_t errlen)
{
    return decode_line(DECODE_JSON, ev, line, len, ctx, err, errlen);
}
