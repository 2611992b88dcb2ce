/*
 * Rule values: compile a string value (Sigma wildcards `*` `?` and `\` escapes, with the
 * contains/startswith/endswith modifiers) into a literal or glob, and compare field values
 * with it; canonical numbers for numeric equality; CIDR networks (IPv4 and IPv6).
 * Case-insensitive comparison folds ASCII letters only.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

const unsigned char rule_value_lower[256] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

/*
 * Compile a Sigma string value into v (kind, lit, litlen, wild). `\*`, `\?` and `\\` are
 * escapes; any other backslash is literal. star_before/star_after add the wildcards of
 * endswith/contains/startswith. The literal is lowercased unless cased. Returns 0.
 */
int
rule_value_glob_compile(struct rule_value *v, const char *s, size_t len, int cased,
                        int star_before, int star_after)
{
    char *pat = xmalloc(len + 3);
    uint8_t *mark = xmalloc(len + 3);
    size_t n = 0, nstar = 0, nq = 0;
    size_t i = 0;

    if (star_before) {
        pat[n] = '*';
        mark[n++] = RULE_W_STAR;
    }
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        uint8_t m = RULE_W_LIT;

        if (c == '\\' && i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
            c = (unsigned char)s[i + 1];
            i += 2;
        } else {
            if (c == '*') {
                m = RULE_W_STAR;
            } else if (c == '?') {
                m = RULE_W_QMARK;
            }
            i++;
        }
        if (m == RULE_W_STAR && n > 0 && mark[n - 1] == RULE_W_STAR) {
            continue; /* ** is * */
        }
        pat[n] = (char)(cased || m != RULE_W_LIT ? c : rule_value_lower[c]);
        mark[n++] = m;
    }
    if (star_after && !(n > 0 && mark[n - 1] == RULE_W_STAR)) {
        pat[n] = '*';
        mark[n++] = RULE_W_STAR;
    }
    pat[n] = '\0';
    for (size_t k = 0; k < n; k++) {
        nstar += mark[k] == RULE_W_STAR;
        nq += mark[k] == RULE_W_QMARK;
    }

    free(v->lit);
    free(v->wild);
    v->wild = NULL;
    if (nq == 0 && nstar == 0) {
        v->kind = RULE_V_EXACT;
        v->lit = pat;
        v->litlen = (uint32_t)n;
    } else if (nq == 0 && nstar == 1 && mark[n - 1] == RULE_W_STAR) {
        v->kind = RULE_V_PREFIX;
        pat[n - 1] = '\0';
        v->lit = pat;
        v->litlen = (uint32_t)n - 1;
    } else if (nq == 0 && nstar == 1 && mark[0] == RULE_W_STAR) {
        v->kind = RULE_V_SUFFIX;
        memmove(pat, pat + 1, n); /* with the NUL */
        v->lit = pat;
        v->litlen = (uint32_t)n - 1;
    } else if (nq == 0 && nstar == 2 && n >= 2 && mark[0] == RULE_W_STAR &&
               mark[n - 1] == RULE_W_STAR) {
        v->kind = RULE_V_CONTAINS;
        memmove(pat, pat + 1, n - 2);
        pat[n - 2] = '\0';
        v->lit = pat;
        v->litlen = (uint32_t)n - 2;
    } else {
        v->kind = RULE_V_GLOB;
        v->lit = pat;
        v->litlen = (uint32_t)n;
        v->wild = mark;
        mark = NULL;
    }
    free(mark);
    return 0;
}

/* s[0..n) equals lit[0..n) (lit already lowercased unless cased). */
static int
rule_value_eq(const char *s, const char *lit, size_t n, int cased)
{
    if (cased) {
        return memcmp(s, lit, n) == 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (rule_value_lower[(unsigned char)s[i]] != (unsigned char)lit[i]) {
            return 0;
        }
    }
    return 1;
}

static int
rule_value_contains(const char *s, size_t len, const char *lit, size_t n, int cased)
{
    unsigned char c0, c1;

    if (n == 0) {
        return 1;
    }
    if (n > len) {
        return 0;
    }
    if (cased) {
        return memmem(s, len, lit, n) != NULL;
    }
    c0 = (unsigned char)lit[0];
    c1 = (c0 >= 'a' && c0 <= 'z') ? (unsigned char)(c0 - 32) : c0;
    for (size_t i = 0; i + n <= len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c == c0 || c == c1) && rule_value_eq(s + i + 1, lit + 1, n - 1, 0)) {
            return 1;
        }
    }
    return 0;
}

/* Bytes of the UTF-8 character starting at s[0] (1 for anything that is not a lead byte). */
static size_t
rule_value_utf8_len(const char *s, size_t avail)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = 1;

    if (c >= 0xf0 && c < 0xf8) {
        n = 4;
    } else if (c >= 0xe0) {
        n = c < 0xf0 ? 3 : 1;
    } else if (c >= 0xc2) {
        n = 2;
    }
    if (n > avail) {
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return n;
}

static int
rule_value_glob(const struct rule_value *v, int cased, const char *s, size_t len)
{
    const char *pat = v->lit;
    const uint8_t *mark = v->wild;
    size_t plen = v->litlen, p = 0, i = 0, star_p = SIZE_MAX, star_i = 0;

    while (i < len) {
        if (p < plen && mark[p] == RULE_W_QMARK) {
            i += rule_value_utf8_len(s + i, len - i);
            p++;
        } else if (p < plen && mark[p] == RULE_W_LIT &&
                   (cased ? pat[p] == s[i]
                          : (unsigned char)pat[p] == rule_value_lower[(unsigned char)s[i]])) {
            p++;
            i++;
        } else if (p < plen && mark[p] == RULE_W_STAR) {
            star_p = p++;
            star_i = i;
        } else if (star_p != SIZE_MAX) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return 0;
        }
    }
    while (p < plen && mark[p] == RULE_W_STAR) {
        p++;
    }
    return p == plen;
}

/*
 * Compare the field value s[0..len) with a string value (EXACT, PREFIX, SUFFIX, CONTAINS,
 * GLOB). Returns 1 when it matches.
 */
int
rule_value_match_str(const struct rule_value *v, int cased, const char *s, size_t len)
{
    size_t n = v->litlen;

    switch (v->kind) {
    case RULE_V_EXACT:
        return len == n && rule_value_eq(s, v->lit, n, cased);
    case RULE_V_PREFIX:
        return len >= n && rule_value_eq(s, v->lit, n, cased);
    case RULE_V_SUFFIX:
        return len >= n && rule_value_eq(s + len - n, v->lit, n, cased);
    case RULE_V_CONTAINS:
        return rule_value_contains(s, len, v->lit, n, cased);
    case RULE_V_GLOB:
        return rule_value_glob(v, cased, s, len);
    default:
        return 0;
    }
}

/* Strict decimal syntax: [+-]digits[.digits][(e|E)[+-]digits], or [+-].digits[...]. */
static int
rule_value_num_syntax(const char *s, size_t len, int *integer)
{
    size_t i = 0, digits = 0;

    *integer = 1;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        i++;
    }
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        *integer = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t edigits = 0;
        *integer = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            edigits++;
        }
        if (edigits == 0) {
            return 0;
        }
    }
    return i == len;
}

/*
 * Parse s[0..len) as a decimal number (no hex, no inf/nan, no surrounding spaces).
 * Returns 0 and *out, or -1 when it is not a finite number.
 */
int
rule_value_num_parse(const char *s, size_t len, double *out)
{
    char buf[64];
    int integer;
    double d;

    if (len == 0 || len >= sizeof(buf) || !rule_value_num_syntax(s, len, &integer)) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    d = strtod(buf, NULL);
    if (!isfinite(d)) {
        return -1;
    }
    *out = d;
    return 0;
}

/*
 * Write the canonical form of the number s[0..len) into key (RULE_NUMKEY_MAX bytes):
 * integers as their digits without sign noise or leading zeros (exact at any size up to
 * 38 digits), other numbers as integers when integral and below 2^53, else %.17g. Two
 * numbers are equal when their keys are. Returns 0, or -1 when s is not a number.
 */
int
rule_value_num_key(const char *s, size_t len, char *key)
{
    int integer;
    double d;

    if (len == 0 || !rule_value_num_syntax(s, len, &integer)) {
        return -1;
    }
    if (integer) {
        size_t i = 0, n = 0;
        int neg = 0;
        if (s[i] == '+' || s[i] == '-') {
            neg = s[i] == '-';
            i++;
        }
        while (i < len - 1 && s[i] == '0') {
            i++;
        }
        if (len - i <= RULE_NUMKEY_MAX - 2) {
            if (neg && !(len - i == 1 && s[i] == '0')) {
                key[n++] = '-';
            }
            memcpy(key + n, s + i, len - i);
            key[n + len - i] = '\0';
            return 0;
        }
    }
    if (rule_value_num_parse(s, len, &d) < 0) {
        return -1;
    }
    if (d == 0) {
        strcpy(key, "0");
    } else if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(key, RULE_NUMKEY_MAX, "%.0f", d);
    } else {
        snprintf(key, RULE_NUMKEY_MAX, "%.17g", d);
    }
    return 0;
}

/* Dotted-quad IPv4 exactly as inet_pton accepts it (no leading zeros); 0 or -1. */
static int
rule_value_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0')) {
            return -1;
        }
        out[part] = (uint8_t)v;
        if (part < 3) {
            if (i >= len || s[i] != '.') {
                return -1;
            }
            i++;
        }
    }
    return i == len ? 0 : -1;
}

/* Parse an address (no prefix) into the 128-bit form; IPv4 becomes ::ffff:a.b.c.d. */
static int
rule_value_addr_parse(const char *s, size_t len, uint8_t out[16], int *v4)
{
    char buf[64];
    const char *pct;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    if (rule_value_ipv4(s, len, out + 12) == 0) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        *v4 = 1;
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *v4 = 0;
    if (inet_pton(AF_INET, buf, out + 12) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        *v4 = 1;
        return 0;
    }
    pct = memchr(buf, '%', len); /* fe80::1%eth0: the zone does not matter */
    if (pct != NULL) {
        buf[pct - buf] = '\0';
    }
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/*
 * Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128) into net/prefix
 * over the 128-bit form, host bits cleared. Returns 0 or -1.
 */
int
rule_value_cidr_parse(const char *s, size_t len, uint8_t net[16], int *prefix)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - s) : len;
    int v4, bits;

    if (rule_value_addr_parse(s, alen, net, &v4) < 0) {
        return -1;
    }
    bits = v4 ? 32 : 128;
    if (slash != NULL) {
        const char *p = slash + 1;
        size_t plen = len - alen - 1;
        int b = 0;
        if (plen == 0 || plen > 3) {
            return -1;
        }
        for (size_t i = 0; i < plen; i++) {
            if (p[i] < '0' || p[i] > '9') {
                return -1;
            }
            b = b * 10 + (p[i] - '0');
        }
        if (b > bits) {
            return -1;
        }
        bits = b;
    }
    *prefix = v4 ? bits + 96 : bits;
    for (int i = 0; i < 16; i++) {
        int keep = *prefix - i * 8;
        if (keep <= 0) {
            net[i] = 0;
        } else if (keep < 8) {
            net[i] &= (uint8_t)(0xff << (8 - keep));
        }
    }
    return 0;
}

/* 1 when the address s[0..len) lies in the network of v. Non-addresses do not match. */
int
rule_value_cidr_match(const struct rule_value *v, const char *s, size_t len)
{
    uint8_t a[16];
    int v4, full = v->prefix / 8, rest = v->prefix % 8;

    if (rule_value_addr_parse(s, len, a, &v4) < 0) {
        return 0;
    }
    if (memcmp(a, v->net, (size_t)full) != 0) {
        return 0;
    }
    if (rest != 0 && (a[full] & (uint8_t)(0xff << (8 - rest))) != v->net[full]) {
        return 0;
    }
    return 1;
}

/* Release what a value owns (not v itself). */
void
rule_value_free(struct rule_value *v)
{
    free(v->text);
    free(v->lit);
    free(v->wild);
    if (v->re != NULL) {
        pcre2_code_free(v->re);
    }
    for (uint32_t i = 0; i < v->ncaps; i++) {
        free(v->caps[i].field);
    }
    free(v->caps);
    memset(v, 0, sizeof(*v));
}
