/*
 * sbuf.h - a growable byte buffer for output plugins, header-only (plugins link nothing but
 * libc). A plugin builds one alert's document in an sbuf it keeps in its state (reused for
 * every alert, so the hot path does not allocate once the buffer has grown), then hands the
 * bytes to the host with one kz_host.buf_append().
 *
 * Allocation failure does not abort (a plugin must not take the daemon down): the buffer
 * sets `oom`, ignores further appends, and the caller checks sbuf_failed() once at the end
 * and returns KZ_ERR. sbuf_reset() clears the flag.
 *
 * Also here, because every text format needs them: UTF-8 decoding that reports invalid
 * sequences the way the Unicode standard recommends (one U+FFFD per maximal invalid
 * subpart), and escaping for JSON strings (RFC 8785 / ECMAScript style, so the same bytes
 * serve as canonical JSON for hashing) and XML 1.0 text and attributes.
 */
#ifndef KZ_PLUGIN_SBUF_H
#define KZ_PLUGIN_SBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
    char *data; /* owned; data[len] == '\0' once anything was appended */
    size_t len;
    size_t cap;
    int oom; /* an allocation failed since the last reset: content is incomplete */
};

/* Returned by sbuf_utf8_next() for an invalid sequence. */
#define SBUF_UTF8_BAD 0xffffffffu

/* Empty the buffer (keeps the memory) and clear the failure flag. */
static inline void
sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

/* Shorten the content to len bytes (len <= b->len). */
static inline void
sbuf_truncate(struct sbuf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

/* Release the memory; the buffer is empty and usable again. */
static inline void
sbuf_free(struct sbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

/* 1 when an append failed since the last reset. */
static inline int
sbuf_failed(const struct sbuf *b)
{
    return b->oom;
}

/* Mark b failed, as a failed append would: for content built from a buffer that failed. */
static inline void
sbuf_set_failed(struct sbuf *b)
{
    b->oom = 1;
}

/* Make room for n more bytes and the NUL; 0, or -1 (and oom set). */
static inline int
sbuf_reserve(struct sbuf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->oom) {
        return -1;
    }
    if (n < b->cap && b->len < b->cap - n) {
        return 0;
    }
    if (n > SIZE_MAX / 2 - b->len - 1) {
        b->oom = 1;
        return -1;
    }
    cap = b->cap != 0 ? b->cap : 256;
    while (cap <= b->len + n) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static inline void
sbuf_append(struct sbuf *b, const void *p, size_t n)
{
    if (sbuf_reserve(b, n) != 0) {
        return;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void
sbuf_puts(struct sbuf *b, const char *s)
{
    sbuf_append(b, s, strlen(s));
}

static inline void
sbuf_putc(struct sbuf *b, char c)
{
    sbuf_append(b, &c, 1);
}

static inline void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sbuf_reserve(b, (size_t)n) != 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/*
 * Decode one UTF-8 sequence at s[0..n) (n >= 1). Returns the number of bytes consumed (at
 * least 1) and the code point in *cp, or SBUF_UTF8_BAD when the bytes are not a
 * well-formed sequence (Unicode Table 3-7: no overlong forms, no surrogates, nothing past
 * U+10FFFF); the length returned then is the maximal invalid subpart, so that one U+FFFD
 * replaces it.
 */
static inline size_t
sbuf_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t need;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        v = c & 0x0f;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        v = c & 0x07;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        *cp = SBUF_UTF8_BAD;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = SBUF_UTF8_BAD;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *cp = v;
    return need + 1;
}

/* Append U+FFFD REPLACEMENT CHARACTER, what invalid or unwanted input becomes. */
static inline void
sbuf_put_replacement(struct sbuf *b)
{
    sbuf_append(b, "\xef\xbf\xbd", 3);
}

/*
 * Writes one valid code point cp, whose UTF-8 bytes are p[0..k), the way a text format
 * wants it (as is, escaped, or replaced): the format-specific half of sbuf_escape().
 */
typedef void (*sbuf_escape_cb)(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k);

/*
 * Append s[0..len) decoded as UTF-8: each maximal invalid subpart as one U+FFFD, each code
 * point through esc. Every text escaping of the plugins is one esc over this walk.
 */
static inline void
sbuf_escape(struct sbuf *b, const char *s, size_t len, sbuf_escape_cb esc)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t k = sbuf_utf8_next(p + i, len - i, &cp);

        if (cp == SBUF_UTF8_BAD) {
            sbuf_put_replacement(b);
        } else {
            esc(b, cp, p + i, k);
        }
        i += k;
    }
}

/* sbuf_escape_cb that keeps every code point as it is. */
static inline void
sbuf_escape_none(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k)
{
    (void)cp;
    sbuf_append(b, p, k);
}

/* Append s[0..len) with invalid UTF-8 replaced by U+FFFD (no other change). */
static inline void
sbuf_utf8(struct sbuf *b, const char *s, size_t len)
{
    sbuf_escape(b, s, len, sbuf_escape_none);
}

/*
 * Append the contents of a JSON string for s[0..len), without the quotes: '"' and '\'
 * escaped, control characters as \b \t \n \f \r or \u00xx (lowercase hex), everything
 * else as is, invalid UTF-8 as U+FFFD. This is the string form of RFC 8785 (JSON
 * canonicalization), which STIX deterministic identifiers hash.
 */
static inline void
sbuf_json_chars(struct sbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t run = i;
        uint32_t cp;
        size_t k;

        /* Copy runs of plain ASCII at once. */
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') {
            run++;
        }
        if (run > i) {
            sbuf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        k = sbuf_utf8_next(p + i, len - i, &cp);
        if (cp == SBUF_UTF8_BAD) {
            sbuf_put_replacement(b);
        } else if (cp == '"') {
            sbuf_append(b, "\\\"", 2);
        } else if (cp == '\\') {
            sbuf_append(b, "\\\\", 2);
        } else if (cp == '\b') {
            sbuf_append(b, "\\b", 2);
        } else if (cp == '\t') {
            sbuf_append(b, "\\t", 2);
        } else if (cp == '\n') {
            sbuf_append(b, "\\n", 2);
        } else if (cp == '\f') {
            sbuf_append(b, "\\f", 2);
        } else if (cp == '\r') {
            sbuf_append(b, "\\r", 2);
        } else if (cp < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
            sbuf_append(b, e, 6);
        } else {
            sbuf_append(b, p + i, k);
        }
        i += k;
    }
}

/* Append s[0..len) as a quoted JSON string (see sbuf_json_chars). */
static inline void
sbuf_json_str(struct sbuf *b, const char *s, size_t len)
{
    sbuf_putc(b, '"');
    sbuf_json_chars(b, s, len);
    sbuf_putc(b, '"');
}

/* Append a NUL-terminated string as a quoted JSON string; NULL becomes "". */
static inline void
sbuf_json_cstr(struct sbuf *b, const char *s)
{
    sbuf_json_str(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* sbuf_escape_cb for XML 1.0 text and attribute values (see sbuf_xml()). */
static inline void
sbuf_escape_xml(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k)
{
    switch (cp) {
    case '&':
        sbuf_append(b, "&amp;", 5);
        break;
    case '<':
        sbuf_append(b, "&lt;", 4);
        break;
    case '>':
        sbuf_append(b, "&gt;", 4);
        break;
    case '"':
        sbuf_append(b, "&quot;", 6);
        break;
    case '\'':
        sbuf_append(b, "&apos;", 6);
        break;
    case '\t':
        sbuf_append(b, "&#9;", 4);
        break;
    case '\n':
        sbuf_append(b, "&#10;", 5);
        break;
    case '\r':
        sbuf_append(b, "&#13;", 5);
        break;
    default:
        if (cp < 0x20 || cp == 0xfffe || cp == 0xffff) {
            sbuf_put_replacement(b);
        } else {
            sbuf_append(b, p, k);
        }
        break;
    }
}

/*
 * Append s[0..len) escaped for XML 1.0 character data and attribute values: & < > " ' as
 * entities, TAB LF CR as character references (so the document stays on one line and
 * attribute values keep them), other C0 controls, U+FFFE, U+FFFF and invalid UTF-8 as
 * U+FFFD. The result is well-formed for any input.
 */
static inline void
sbuf_xml(struct sbuf *b, const char *s, size_t len)
{
    sbuf_escape(b, s, len, sbuf_escape_xml);
}

/* sbuf_xml() of a NUL-terminated string; NULL appends nothing. */
static inline void
sbuf_xml_cstr(struct sbuf *b, const char *s)
{
    if (s != NULL) {
        sbuf_xml(b, s, strlen(s));
    }
}

/* Append the XML attribute ` name="v[0..n)"`, the value escaped by sbuf_xml(). */
static inline void
sbuf_xml_attr(struct sbuf *b, const char *name, const char *v, size_t n)
{
    sbuf_printf(b, " %s=\"", name);
    sbuf_xml(b, v, n);
    sbuf_putc(b, '"');
}

/* sbuf_xml_attr() of a NUL-terminated value. */
static inline void
sbuf_xml_cattr(struct sbuf *b, const char *name, const char *v)
{
    sbuf_xml_attr(b, name, v, strlen(v));
}

/* Append the XML element `<tag>v[0..n)</tag>`, the text escaped by sbuf_xml(). */
static inline void
sbuf_xml_elem(struct sbuf *b, const char *tag, const char *v, size_t n)
{
    sbuf_printf(b, "<%s>", tag);
    sbuf_xml(b, v, n);
    sbuf_printf(b, "</%s>", tag);
}

/* sbuf_xml_elem() of a NUL-terminated text. */
static inline void
sbuf_xml_celem(struct sbuf *b, const char *tag, const char *v)
{
    sbuf_xml_elem(b, tag, v, strlen(v));
}

#endif
