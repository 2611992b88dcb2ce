/*
 * jsonw.h - a compact JSON writer over an sbuf, header-only: it keeps track of commas so a
 * plugin writes members in order without bookkeeping. Strings go through sbuf_json_chars()
 * (valid JSON for any input bytes). No whitespace is written: one document per line.
 */
#ifndef KZ_PLUGIN_JSONW_H
#define KZ_PLUGIN_JSONW_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sbuf.h"

/* Deepest nesting a writer tracks; deeper containers still nest, commas stay correct. */
#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct sbuf *b;
    int depth;
    unsigned char first[JSONW_MAX_DEPTH]; /* nothing written yet at this depth */
    int after_key;                        /* the next value follows a key */
};

/* Start writing into b (appends; does not reset b). */
static inline void
jsonw_init(struct jsonw *w, struct sbuf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->first[0] = 1;
}

static inline void
jsonw_sep(struct jsonw *w)
{
    int d = w->depth < JSONW_MAX_DEPTH ? w->depth : JSONW_MAX_DEPTH - 1;

    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[d]) {
        sbuf_putc(w->b, ',');
    }
    w->first[d] = 0;
}

static inline void
jsonw_open(struct jsonw *w, char c)
{
    jsonw_sep(w);
    sbuf_putc(w->b, c);
    w->depth++;
    if (w->depth < JSONW_MAX_DEPTH) {
        w->first[w->depth] = 1;
    }
}

static inline void
jsonw_close(struct jsonw *w, char c)
{
    w->depth--;
    sbuf_putc(w->b, c);
}

/* { ... } and [ ... ] */
static inline void
jsonw_obj(struct jsonw *w)
{
    jsonw_open(w, '{');
}

static inline void
jsonw_obj_end(struct jsonw *w)
{
    jsonw_close(w, '}');
}

static inline void
jsonw_arr(struct jsonw *w)
{
    jsonw_open(w, '[');
}

static inline void
jsonw_arr_end(struct jsonw *w)
{
    jsonw_close(w, ']');
}

/* A member name (a literal, or any bytes: it is escaped). */
static inline void
jsonw_key(struct jsonw *w, const char *key)
{
    jsonw_sep(w);
    sbuf_json_str(w->b, key, strlen(key));
    sbuf_putc(w->b, ':');
    w->after_key = 1;
}

static inline void
jsonw_keyn(struct jsonw *w, const char *key, size_t n)
{
    jsonw_sep(w);
    sbuf_json_str(w->b, key, n);
    sbuf_putc(w->b, ':');
    w->after_key = 1;
}

/* Values. */
static inline void
jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    jsonw_sep(w);
    sbuf_json_str(w->b, s != NULL ? s : "", s != NULL ? n : 0);
}

static inline void
jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, s != NULL ? strlen(s) : 0);
}

static inline void
jsonw_i64(struct jsonw *w, int64_t v)
{
    jsonw_sep(w);
    sbuf_printf(w->b, "%" PRId64, v);
}

static inline void
jsonw_u64(struct jsonw *w, uint64_t v)
{
    jsonw_sep(w);
    sbuf_printf(w->b, "%" PRIu64, v);
}

static inline void
jsonw_bool(struct jsonw *w, int v)
{
    jsonw_sep(w);
    sbuf_puts(w->b, v ? "true" : "false");
}

/* Raw JSON text (a number formatted by the caller, a literal). */
static inline void
jsonw_raw(struct jsonw *w, const char *raw)
{
    jsonw_sep(w);
    sbuf_puts(w->b, raw);
}

/* Shorthands: key and value at once. */
static inline void
jsonw_kstr(struct jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_str(w, s);
}

static inline void
jsonw_kstrn(struct jsonw *w, const char *key, const char *s, size_t n)
{
    jsonw_key(w, key);
    jsonw_strn(w, s, n);
}

static inline void
jsonw_ki64(struct jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_i64(w, v);
}

static inline void
jsonw_kbool(struct jsonw *w, const char *key, int v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

#endif
