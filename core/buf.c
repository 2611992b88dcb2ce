/*
 * The growable byte buffer (buf.h): appends, printf, and the JSON / XML escapers that every
 * output format relies on to produce well-formed text from arbitrary event bytes.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char buf_replacement[] = "\xef\xbf\xbd";

void
buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
buf_reserve(struct buf *b, size_t n)
{
    size_t need;
    size_t cap;

    if (n > SIZE_MAX - b->len - 1) {
        abort();
    }
    need = b->len + n + 1;
    if (need <= b->cap) {
        return;
    }
    cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
    buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    buf_reserve(b, 128);
    va_copy(ap2, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/*
 * Length of the well-formed UTF-8 sequence at s[0..len) (Unicode table 3-7), or 0 when it
 * is ill-formed; then *bad receives the length of its maximal subpart (at least 1).
 */
static size_t
buf_utf8_seq(const unsigned char *s, size_t len, size_t *bad)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t n;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (i >= len || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return n;
}

void
buf_json_string(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    buf_reserve(b, len + 2);
    buf_putc(b, '"');
    while (i < len) {
        size_t run = i;
        size_t n;
        size_t bad;
        unsigned char c;

        /* Copy the longest run that needs no escaping in one go. */
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') {
            run++;
        }
        if (run > i) {
            buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        c = p[i];
        if (c >= 0x80) {
            n = buf_utf8_seq(p + i, len - i, &bad);
            if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
                /* C1 control (U+0080..U+009F): escaped like the C0 ones. */
                char esc[6] = {'\\', 'u', '0', '0', hex[p[i + 1] >> 4], hex[p[i + 1] & 15]};
                buf_append(b, esc, sizeof(esc));
                i += n;
            } else if (n == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8) {
                /* U+2028/U+2029 end lines for JavaScript and some splitters: keep NDJSON
                 * one object per line for every reader. */
                buf_append(b, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                i += n;
            } else if (n > 0) {
                buf_append(b, p + i, n);
                i += n;
            } else {
                buf_append(b, buf_replacement, 3);
                i += bad;
            }
            continue;
        }
        switch (c) {
        case '"':
            buf_append(b, "\\\"", 2);
            break;
        case '\\':
            buf_append(b, "\\\\", 2);
            break;
        case '\b':
            buf_append(b, "\\b", 2);
            break;
        case '\f':
            buf_append(b, "\\f", 2);
            break;
        case '\n':
            buf_append(b, "\\n", 2);
            break;
        case '\r':
            buf_append(b, "\\r", 2);
            break;
        case '\t':
            buf_append(b, "\\t", 2);
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, esc, sizeof(esc));
            break;
        }
        }
        i++;
    }
    buf_putc(b, '"');
}

void
buf_xml_text(struct buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    buf_reserve(b, len);
    while (i < len) {
        size_t run = i;
        size_t n;
        size_t bad;
        unsigned char c;

        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '&' && p[run] != '<' &&
               p[run] != '>' && p[run] != '"' && p[run] != '\'') {
            run++;
        }
        if (run > i) {
            buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        c = p[i];
        if (c >= 0x80) {
            n = buf_utf8_seq(p + i, len - i, &bad);
            /* U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters. */
            if (n == 3 && c == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe) {
                buf_append(b, buf_replacement, 3);
            } else if (n > 0) {
                buf_append(b, p + i, n);
            } else {
                buf_append(b, buf_replacement, 3);
                n = bad;
            }
            i += n;
            continue;
        }
        switch (c) {
        case '&':
            buf_append(b, "&amp;", 5);
            break;
        case '<':
            buf_append(b, "&lt;", 4);
            break;
        case '>':
            buf_append(b, "&gt;", 4);
            break;
        case '"':
            buf_append(b, "&quot;", 6);
            break;
        case '\'':
            buf_append(b, "&apos;", 6);
            break;
        case '\t':
        case '\n':
        case '\r':
            buf_putc(b, (char)c);
            break;
        default:
            buf_append(b, buf_replacement, 3);
            break;
        }
        i++;
    }
}

void
buf_truncate(struct buf *b, size_t len)
{
    if (b->data == NULL || len >= b->len) {
        return;
    }
    b->len = len;
    b->data[len] = '\0';
}

void
buf_reset(struct buf *b)
{
    buf_truncate(b, 0);
}

void
buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

const char *
buf_cstr(const struct buf *b)
{
    return b->data != NULL ? b->data : "";
}
