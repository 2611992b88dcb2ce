/*
 * Strict JSON and XML well-formedness checkers (fuzz-check.h). Recursive descent over the
 * bytes, no allocation except the key lists used to find duplicate JSON keys and the
 * element-name stack of the XML checker.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"

#define FUZZ_JSON_MAX_DEPTH 1000

struct fuzz_cur {
    const unsigned char *s;
    size_t n;
    size_t i;
    char *why;
    size_t whylen;
    int failed;
};

static int fuzz_fail(struct fuzz_cur *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first failure (with the offset); returns -1. */
static int
fuzz_fail(struct fuzz_cur *c, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (c->failed) {
        return -1;
    }
    c->failed = 1;
    if (c->whylen == 0) {
        return -1;
    }
    k = snprintf(c->why, c->whylen, "offset %zu: ", c->i);
    if (k >= 0 && (size_t)k < c->whylen) {
        va_start(ap, fmt);
        vsnprintf(c->why + k, c->whylen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

size_t
fuzz_check_utf8(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned long v;
    size_t need;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 1;
        v = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 2;
        v = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 3;
        v = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < need + 1) {
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3fu);
    }
    /* Overlong forms, surrogates, beyond Unicode. */
    if ((need == 2 && v < 0x800) || (need == 3 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return need + 1;
}

/* JSON */

static void
fuzz_json_ws(struct fuzz_cur *c)
{
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) {
        c->i++;
    }
}

static int
fuzz_hex4(const unsigned char *p, unsigned long *out)
{
    unsigned long v = 0;

    for (int k = 0; k < 4; k++) {
        unsigned char h = p[k];
        v <<= 4;
        if (h >= '0' && h <= '9') {
            v |= (unsigned long)(h - '0');
        } else if (h >= 'a' && h <= 'f') {
            v |= (unsigned long)(h - 'a' + 10);
        } else if (h >= 'A' && h <= 'F') {
            v |= (unsigned long)(h - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* A string at c->i (on the opening quote); its raw bytes (escaped form) in *start and *len. */
static int
fuzz_json_string(struct fuzz_cur *c, size_t *start, size_t *len)
{
    c->i++;
    *start = c->i;
    while (c->i < c->n) {
        unsigned char ch = c->s[c->i];
        unsigned long cp;
        size_t k;

        if (ch == '"') {
            *len = c->i - *start;
            c->i++;
            return 0;
        }
        if (ch < 0x20) {
            return fuzz_fail(c, "raw control character 0x%02x in a string", ch);
        }
        if (ch == '\\') {
            unsigned char e;

            if (c->i + 1 >= c->n) {
                return fuzz_fail(c, "string ends in a backslash");
            }
            e = c->s[c->i + 1];
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                e == 't') {
                c->i += 2;
                continue;
            }
            if (e != 'u' || c->i + 6 > c->n || fuzz_hex4(c->s + c->i + 2, &cp) != 0) {
                return fuzz_fail(c, "bad escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return fuzz_fail(c, "lone low surrogate \\u%04lx", cp);
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned long lo;

                if (c->i + 12 > c->n || c->s[c->i + 6] != '\\' || c->s[c->i + 7] != 'u' ||
                    fuzz_hex4(c->s + c->i + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    return fuzz_fail(c, "high surrogate \\u%04lx without a low one", cp);
                }
                c->i += 12;
                continue;
            }
            c->i += 6;
            continue;
        }
        k = fuzz_check_utf8(c->s + c->i, c->n - c->i, &cp);
        if (k == 0) {
            return fuzz_fail(c, "invalid UTF-8 in a string");
        }
        c->i += k;
    }
    return fuzz_fail(c, "unterminated string");
}

static int
fuzz_json_digits(struct fuzz_cur *c)
{
    size_t from = c->i;

    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        c->i++;
    }
    return c->i > from ? 0 : -1;
}

static int
fuzz_json_number(struct fuzz_cur *c)
{
    if (c->s[c->i] == '-') {
        c->i++;
    }
    if (c->i < c->n && c->s[c->i] == '0') {
        c->i++;
    } else if (c->i >= c->n || c->s[c->i] < '1' || c->s[c->i] > '9' || fuzz_json_digits(c) != 0) {
        return fuzz_fail(c, "bad number");
    }
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (fuzz_json_digits(c) != 0) {
            return fuzz_fail(c, "bad fraction");
        }
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) {
            c->i++;
        }
        if (fuzz_json_digits(c) != 0) {
            return fuzz_fail(c, "bad exponent");
        }
    }
    return 0;
}

static int fuzz_json_value(struct fuzz_cur *c, int depth);

static int
fuzz_json_object(struct fuzz_cur *c, int depth)
{
    size_t *keys = NULL; /* start, len pairs */
    size_t nkeys = 0;
    int r = -1;

    c->i++;
    fuzz_json_ws(c);
    if (c->i < c->n && c->s[c->i] == '}') {
        c->i++;
        return 0;
    }
    for (;;) {
        size_t ks, kl;

        fuzz_json_ws(c);
        if (c->i >= c->n || c->s[c->i] != '"') {
            fuzz_fail(c, "expected a key");
            goto out;
        }
        if (fuzz_json_string(c, &ks, &kl) != 0) {
            goto out;
        }
        for (size_t k = 0; k < nkeys; k++) {
            if (keys[2 * k + 1] == kl && memcmp(c->s + keys[2 * k], c->s + ks, kl) == 0) {
                fuzz_fail(c, "duplicate key \"%.*s\"", (int)(kl > 60 ? 60 : kl), c->s + ks);
                goto out;
            }
        }
        keys = realloc(keys, 2 * (nkeys + 1) * sizeof(*keys));
        if (keys == NULL) {
            abort();
        }
        keys[2 * nkeys] = ks;
        keys[2 * nkeys + 1] = kl;
        nkeys++;
        fuzz_json_ws(c);
        if (c->i >= c->n || c->s[c->i] != ':') {
            fuzz_fail(c, "expected ':'");
            goto out;
        }
        c->i++;
        if (fuzz_json_value(c, depth + 1) != 0) {
            goto out;
        }
        fuzz_json_ws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->n && c->s[c->i] == '}') {
            c->i++;
            r = 0;
            goto out;
        }
        fuzz_fail(c, "expected ',' or '}'");
        goto out;
    }
out:
    free(keys);
    return r;
}

static int
fuzz_json_array(struct fuzz_cur *c, int depth)
{
    c->i++;
    fuzz_json_ws(c);
    if (c->i < c->n && c->s[c->i] == ']') {
        c->i++;
        return 0;
    }
    for (;;) {
        if (fuzz_json_value(c, depth + 1) != 0) {
            return -1;
        }
        fuzz_json_ws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->n && c->s[c->i] == ']') {
            c->i++;
            return 0;
        }
        return fuzz_fail(c, "expected ',' or ']'");
    }
}

static int
fuzz_json_value(struct fuzz_cur *c, int depth)
{
    size_t s, l;

    if (depth > FUZZ_JSON_MAX_DEPTH) {
        return fuzz_fail(c, "nested deeper than %d", FUZZ_JSON_MAX_DEPTH);
    }
    fuzz_json_ws(c);
    if (c->i >= c->n) {
        return fuzz_fail(c, "expected a value, found the end");
    }
    switch (c->s[c->i]) {
    case '{':
        return fuzz_json_object(c, depth);
    case '[':
        return fuzz_json_array(c, depth);
    case '"':
        return fuzz_json_string(c, &s, &l);
    case 't':
    case 'f':
    case 'n': {
        static const char *const lit[] = {"true", "false", "null"};
        for (size_t k = 0; k < 3; k++) {
            size_t ln = strlen(lit[k]);
            if (c->n - c->i >= ln && memcmp(c->s + c->i, lit[k], ln) == 0) {
                c->i += ln;
                return 0;
            }
        }
        return fuzz_fail(c, "bad literal");
    }
    default:
        if (c->s[c->i] == '-' || (c->s[c->i] >= '0' && c->s[c->i] <= '9')) {
            return fuzz_json_number(c);
        }
        return fuzz_fail(c, "unexpected byte 0x%02x", c->s[c->i]);
    }
}

int
fuzz_check_json(const char *s, size_t n, char *why, size_t whylen)
{
    struct fuzz_cur c = {(const unsigned char *)s, n, 0, why, whylen, 0};

    if (whylen > 0) {
        why[0] = '\0';
    }
    if (fuzz_json_value(&c, 0) != 0) {
        return -1;
    }
    fuzz_json_ws(&c);
    if (c.i != n) {
        return fuzz_fail(&c, "trailing bytes after the value");
    }
    return 0;
}

/* XML */

static int
fuzz_xml_is_char(unsigned long cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Name characters: the ASCII subset of NameStartChar/NameChar plus any non-ASCII. */
static int
fuzz_xml_name_start(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
           ch >= 0x80;
}

static int
fuzz_xml_name_char(unsigned char ch)
{
    return fuzz_xml_name_start(ch) || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

static int
fuzz_xml_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static void
fuzz_xml_ws(struct fuzz_cur *c)
{
    while (c->i < c->n && fuzz_xml_blank(c->s[c->i])) {
        c->i++;
    }
}

/* One character at c->i, checked as UTF-8 and as an XML Char; advances. */
static int
fuzz_xml_char(struct fuzz_cur *c)
{
    unsigned long cp;
    size_t k = fuzz_check_utf8(c->s + c->i, c->n - c->i, &cp);

    if (k == 0) {
        return fuzz_fail(c, "invalid UTF-8");
    }
    if (!fuzz_xml_is_char(cp)) {
        return fuzz_fail(c, "U+%04lX is not an XML character", cp);
    }
    c->i += k;
    return 0;
}

static int
fuzz_xml_name(struct fuzz_cur *c, size_t *start, size_t *len)
{
    *start = c->i;
    if (c->i >= c->n || !fuzz_xml_name_start(c->s[c->i])) {
        return fuzz_fail(c, "expected a name");
    }
    while (c->i < c->n && fuzz_xml_name_char(c->s[c->i])) {
        if (c->s[c->i] < 0x80) {
            c->i++;
        } else if (fuzz_xml_char(c) != 0) {
            return -1;
        }
    }
    *len = c->i - *start;
    return 0;
}

/* A reference at c->i (on '&'): &lt; &gt; &amp; &quot; &apos; &#N; &#xH; of an XML Char. */
static int
fuzz_xml_ref(struct fuzz_cur *c)
{
    static const char *const ents[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
    unsigned long cp = 0;
    size_t j;

    for (size_t k = 0; k < 5; k++) {
        size_t ln = strlen(ents[k]);
        if (c->n - c->i >= ln && memcmp(c->s + c->i, ents[k], ln) == 0) {
            c->i += ln;
            return 0;
        }
    }
    if (c->n - c->i < 4 || c->s[c->i + 1] != '#') {
        return fuzz_fail(c, "'&' that is no predefined or character reference");
    }
    j = c->i + 2;
    if (c->s[j] == 'x') {
        size_t from = ++j;
        while (j < c->n && j - from < 8 &&
               ((c->s[j] >= '0' && c->s[j] <= '9') || (c->s[j] >= 'a' && c->s[j] <= 'f') ||
                (c->s[j] >= 'A' && c->s[j] <= 'F'))) {
            unsigned char h = c->s[j++];
            cp = cp * 16 + (unsigned long)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        if (j == from) {
            return fuzz_fail(c, "empty hex character reference");
        }
    } else {
        size_t from = j;
        while (j < c->n && j - from < 8 && c->s[j] >= '0' && c->s[j] <= '9') {
            cp = cp * 10 + (unsigned long)(c->s[j++] - '0');
        }
        if (j == from) {
            return fuzz_fail(c, "empty character reference");
        }
    }
    if (j >= c->n || c->s[j] != ';') {
        return fuzz_fail(c, "character reference without ';'");
    }
    if (!fuzz_xml_is_char(cp)) {
        return fuzz_fail(c, "character reference to U+%04lX, not an XML character", cp);
    }
    c->i = j + 1;
    return 0;
}

/* Skip to just after the terminator `end`, checking characters; "--" banned in comments. */
static int
fuzz_xml_until(struct fuzz_cur *c, const char *end, int comment)
{
    size_t el = strlen(end);

    while (c->i < c->n) {
        if (c->n - c->i >= el && memcmp(c->s + c->i, end, el) == 0) {
            c->i += el;
            return 0;
        }
        if (comment && c->n - c->i >= 2 && c->s[c->i] == '-' && c->s[c->i + 1] == '-') {
            return fuzz_fail(c, "'--' inside a comment");
        }
        if (fuzz_xml_char(c) != 0) {
            return -1;
        }
    }
    return fuzz_fail(c, "unterminated markup (missing '%s')", end);
}

/* Comment or PI at c->i; returns 1 when one was consumed, 0 when none, -1 on error. */
static int
fuzz_xml_misc(struct fuzz_cur *c)
{
    if (c->n - c->i >= 4 && memcmp(c->s + c->i, "<!--", 4) == 0) {
        c->i += 4;
        return fuzz_xml_until(c, "-->", 1) == 0 ? 1 : -1;
    }
    if (c->n - c->i >= 2 && memcmp(c->s + c->i, "<?", 2) == 0) {
        size_t s, l;
        c->i += 2;
        if (fuzz_xml_name(c, &s, &l) != 0) {
            return -1;
        }
        if (l == 3 && (c->s[s] | 0x20) == 'x' && (c->s[s + 1] | 0x20) == 'm' &&
            (c->s[s + 2] | 0x20) == 'l') {
            return fuzz_fail(c, "XML declaration not at the start");
        }
        return fuzz_xml_until(c, "?>", 0) == 0 ? 1 : -1;
    }
    return 0;
}

/* Attribute value at c->i (on the quote). */
static int
fuzz_xml_attr_value(struct fuzz_cur *c)
{
    unsigned char q = c->s[c->i++];

    while (c->i < c->n && c->s[c->i] != q) {
        if (c->s[c->i] == '<') {
            return fuzz_fail(c, "'<' in an attribute value");
        }
        if (c->s[c->i] == '&') {
            if (fuzz_xml_ref(c) != 0) {
                return -1;
            }
            continue;
        }
        if (fuzz_xml_char(c) != 0) {
            return -1;
        }
    }
    if (c->i >= c->n) {
        return fuzz_fail(c, "unterminated attribute value");
    }
    c->i++;
    return 0;
}

/* A start tag at c->i (on '<'); *empty is set for "<x/>". Name in *ns and *nl. */
static int
fuzz_xml_start_tag(struct fuzz_cur *c, size_t *ns, size_t *nl, int *empty)
{
    size_t attrs[64][2];
    size_t nattrs = 0;

    c->i++;
    if (fuzz_xml_name(c, ns, nl) != 0) {
        return -1;
    }
    for (;;) {
        size_t before = c->i, as, al;

        fuzz_xml_ws(c);
        if (c->i >= c->n) {
            return fuzz_fail(c, "unterminated start tag");
        }
        if (c->s[c->i] == '>') {
            c->i++;
            *empty = 0;
            return 0;
        }
        if (c->s[c->i] == '/') {
            if (c->i + 1 >= c->n || c->s[c->i + 1] != '>') {
                return fuzz_fail(c, "'/' not followed by '>'");
            }
            c->i += 2;
            *empty = 1;
            return 0;
        }
        if (c->i == before) {
            return fuzz_fail(c, "attributes must be separated by blanks");
        }
        if (fuzz_xml_name(c, &as, &al) != 0) {
            return -1;
        }
        for (size_t k = 0; k < nattrs; k++) {
            if (attrs[k][1] == al && memcmp(c->s + attrs[k][0], c->s + as, al) == 0) {
                return fuzz_fail(c, "duplicate attribute %.*s", (int)al, c->s + as);
            }
        }
        if (nattrs == sizeof(attrs) / sizeof(attrs[0])) {
            return fuzz_fail(c, "more than 64 attributes");
        }
        attrs[nattrs][0] = as;
        attrs[nattrs][1] = al;
        nattrs++;
        fuzz_xml_ws(c);
        if (c->i >= c->n || c->s[c->i] != '=') {
            return fuzz_fail(c, "attribute without '='");
        }
        c->i++;
        fuzz_xml_ws(c);
        if (c->i >= c->n || (c->s[c->i] != '"' && c->s[c->i] != '\'')) {
            return fuzz_fail(c, "attribute value without quotes");
        }
        if (fuzz_xml_attr_value(c) != 0) {
            return -1;
        }
    }
}

/* The root element and everything inside it, with an explicit stack of open names. */
static int
fuzz_xml_element(struct fuzz_cur *c)
{
    size_t(*stack)[2] = NULL;
    size_t depth = 0, cap = 0;
    int r = -1;

    do {
        if (c->i >= c->n) {
            fuzz_fail(c, "document ends inside <%.*s>", (int)(depth ? stack[depth - 1][1] : 0),
                      depth ? (const char *)c->s + stack[depth - 1][0] : "");
            goto out;
        }
        if (c->s[c->i] == '<') {
            size_t ns, nl;
            int empty = 0, m;

            if (c->n - c->i >= 2 && c->s[c->i + 1] == '/') {
                c->i += 2;
                if (depth == 0 || fuzz_xml_name(c, &ns, &nl) != 0) {
                    fuzz_fail(c, "bad end tag");
                    goto out;
                }
                if (nl != stack[depth - 1][1] ||
                    memcmp(c->s + ns, c->s + stack[depth - 1][0], nl) != 0) {
                    fuzz_fail(c, "</%.*s> closes <%.*s>", (int)nl, c->s + ns,
                              (int)stack[depth - 1][1], c->s + stack[depth - 1][0]);
                    goto out;
                }
                fuzz_xml_ws(c);
                if (c->i >= c->n || c->s[c->i] != '>') {
                    fuzz_fail(c, "end tag without '>'");
                    goto out;
                }
                c->i++;
                depth--;
                continue;
            }
            if (depth > 0 && c->n - c->i >= 9 && memcmp(c->s + c->i, "<![CDATA[", 9) == 0) {
                c->i += 9;
                if (fuzz_xml_until(c, "]]>", 0) != 0) {
                    goto out;
                }
                continue;
            }
            m = depth > 0 ? fuzz_xml_misc(c) : 0;
            if (m < 0) {
                goto out;
            }
            if (m > 0) {
                continue;
            }
            if (fuzz_xml_start_tag(c, &ns, &nl, &empty) != 0) {
                goto out;
            }
            if (!empty) {
                if (depth == cap) {
                    cap = cap ? 2 * cap : 16;
                    stack = realloc(stack, cap * sizeof(*stack));
                    if (stack == NULL) {
                        abort();
                    }
                }
                stack[depth][0] = ns;
                stack[depth][1] = nl;
                depth++;
            }
            continue;
        }
        if (depth == 0) {
            fuzz_fail(c, "text outside the root element");
            goto out;
        }
        if (c->s[c->i] == '&') {
            if (fuzz_xml_ref(c) != 0) {
                goto out;
            }
            continue;
        }
        if (c->n - c->i >= 3 && memcmp(c->s + c->i, "]]>", 3) == 0) {
            fuzz_fail(c, "']]>' in character data");
            goto out;
        }
        if (fuzz_xml_char(c) != 0) {
            goto out;
        }
    } while (depth > 0);
    r = 0;
out:
    free(stack);
    return r;
}

int
fuzz_check_xml(const char *s, size_t n, char *why, size_t whylen)
{
    struct fuzz_cur c = {(const unsigned char *)s, n, 0, why, whylen, 0};
    int m, doctype = 0;

    if (whylen > 0) {
        why[0] = '\0';
    }
    if (n >= 5 && memcmp(s, "<?xml", 5) == 0 && n > 5 && fuzz_xml_blank(c.s[5])) {
        c.i = 5;
        if (fuzz_xml_until(&c, "?>", 0) != 0) {
            return -1;
        }
    }
    for (;;) {
        fuzz_xml_ws(&c);
        if (c.n - c.i >= 9 && memcmp(c.s + c.i, "<!DOCTYPE", 9) == 0) {
            if (doctype++) {
                return fuzz_fail(&c, "second DOCTYPE");
            }
            c.i += 9;
            while (c.i < c.n && c.s[c.i] != '>') {
                if (c.s[c.i] == '[') {
                    return fuzz_fail(&c, "DOCTYPE with an internal subset (not checked)");
                }
                if (c.s[c.i] == '"' || c.s[c.i] == '\'') {
                    unsigned char q = c.s[c.i++];
                    while (c.i < c.n && c.s[c.i] != q) {
                        if (fuzz_xml_char(&c) != 0) {
                            return -1;
                        }
                    }
                    if (c.i >= c.n) {
                        return fuzz_fail(&c, "unterminated literal in DOCTYPE");
                    }
                    c.i++;
                    continue;
                }
                if (fuzz_xml_char(&c) != 0) {
                    return -1;
                }
            }
            if (c.i >= c.n) {
                return fuzz_fail(&c, "unterminated DOCTYPE");
            }
            c.i++;
            continue;
        }
        m = fuzz_xml_misc(&c);
        if (m < 0) {
            return -1;
        }
        if (m == 0) {
            break;
        }
    }
    if (c.i >= c.n || c.s[c.i] != '<') {
        return fuzz_fail(&c, "no root element");
    }
    if (fuzz_xml_element(&c) != 0) {
        return -1;
    }
    for (;;) {
        fuzz_xml_ws(&c);
        if (c.i == c.n) {
            return 0;
        }
        m = fuzz_xml_misc(&c);
        if (m < 0) {
            return -1;
        }
        if (m == 0) {
            return fuzz_fail(&c, "content after the root element");
        }
    }
}
