/*
 * Free-text redaction: detectors, known values, merging of findings (privacy-text.h).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "privacy-text.h"
#include "xmalloc.h"

/* Kinds of findings besides the detector bits. */
#define PT_KNOWN 0x100u  /* known value; index in span.known */
#define PT_MERGED 0x200u /* partly overlapping findings, replaced together */

const char *const privacy_text_detector_names[] = {"email", "ipv4",     "ipv6",
                                                   "user",  "hostname", NULL};

struct pt_span {
    size_t start;
    size_t end;
    unsigned kind;
    size_t known; /* PT_KNOWN: index into the known values */
    size_t order; /* tie-break: detectors in a fixed order, then known values */
};

struct pt_spans {
    struct pt_span *v;
    size_t n;
    size_t cap;
};

static void
pt_add(struct pt_spans *sp, size_t start, size_t end, unsigned kind, size_t known)
{
    struct pt_span *x;

    if (end <= start) {
        return;
    }
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? 2 * sp->cap : 16;
        sp->v = xreallocarray(sp->v, sp->cap, sizeof(*sp->v));
    }
    x = &sp->v[sp->n];
    x->start = start;
    x->end = end;
    x->kind = kind;
    x->known = known;
    x->order = sp->n;
    sp->n++;
}

static int
pt_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
pt_word(int c)
{
    return pt_alnum(c) || c == '_';
}

static int
pt_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
pt_hex(int c)
{
    return pt_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
pt_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Byte i of s, or 0 outside. */
static int
pt_at(const char *s, size_t len, size_t i)
{
    return i < len ? (unsigned char)s[i] : 0;
}

unsigned
privacy_text_detector(const char *name)
{
    for (unsigned i = 0; privacy_text_detector_names[i] != NULL; i++) {
        if (strcmp(privacy_text_detector_names[i], name) == 0) {
            return 1u << i;
        }
    }
    return 0;
}

/* --- email --- */

static int
pt_email_local(int c)
{
    return pt_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static void
pt_find_email(const char *s, size_t len, struct pt_spans *sp)
{
    for (size_t at = 0; at < len; at++) {
        size_t b, e;

        if (s[at] != '@') {
            continue;
        }
        b = at;
        while (b > 0 && pt_email_local((unsigned char)s[b - 1])) {
            b--;
        }
        e = at + 1;
        while (e < len && (pt_alnum((unsigned char)s[e]) || s[e] == '.' || s[e] == '-')) {
            e++;
        }
        while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) {
            e--;
        }
        if (b == at || e == at + 1 || !pt_alnum((unsigned char)s[at + 1])) {
            continue;
        }
        pt_add(sp, b, e, PRIVACY_TEXT_EMAIL, 0);
        at = e - 1;
    }
}

/* --- IPv4 --- */

/* Parse a dotted quad at s+i; returns its end or 0. */
static size_t
pt_ipv4_at(const char *s, size_t len, size_t i)
{
    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t d = 0;

        if (part > 0) {
            if (pt_at(s, len, i) != '.') {
                return 0;
            }
            i++;
        }
        while (d < 3 && pt_digit(pt_at(s, len, i))) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
            d++;
        }
        if (d == 0 || v > 255 || pt_digit(pt_at(s, len, i))) {
            return 0;
        }
    }
    if (pt_at(s, len, i) == '.' && pt_digit(pt_at(s, len, i + 1))) {
        return 0;
    }
    return i;
}

static void
pt_find_ipv4(const char *s, size_t len, struct pt_spans *sp)
{
    for (size_t i = 0; i < len; i++) {
        size_t e;

        if (!pt_digit((unsigned char)s[i]) ||
            (i > 0 && (pt_digit((unsigned char)s[i - 1]) || s[i - 1] == '.'))) {
            continue;
        }
        e = pt_ipv4_at(s, len, i);
        if (e != 0) {
            pt_add(sp, i, e, PRIVACY_TEXT_IPV4, 0);
            i = e - 1;
        }
    }
}

/* --- IPv6 --- */

static int
pt_ipv6_char(int c)
{
    return pt_hex(c) || c == ':' || c == '.';
}

/* 1 when s[b..e) is an IPv6 address (with at least one hex digit). */
static int
pt_ipv6_valid(const char *s, size_t b, size_t e)
{
    char tmp[64];
    unsigned char a[16];
    int digits = 0;

    if (e - b >= sizeof(tmp)) {
        return 0;
    }
    for (size_t i = b; i < e; i++) {
        digits |= pt_hex((unsigned char)s[i]);
    }
    memcpy(tmp, s + b, e - b);
    tmp[e - b] = '\0';
    return digits && inet_pton(AF_INET6, tmp, a) == 1;
}

static void
pt_find_ipv6(const char *s, size_t len, struct pt_spans *sp)
{
    size_t i = 0;

    while (i < len) {
        size_t e = i, colons = 0;

        if (!pt_ipv6_char((unsigned char)s[i]) ||
            (i > 0 &&
             (pt_word((unsigned char)s[i - 1]) || pt_ipv6_char((unsigned char)s[i - 1])))) {
            i++;
            continue;
        }
        while (e < len && pt_ipv6_char((unsigned char)s[e])) {
            colons += s[e] == ':';
            e++;
        }
        if (colons >= 2 && !pt_word(pt_at(s, len, e))) {
            size_t end = e;
            /* Drop trailing punctuation, then trailing groups (":22", ".") until valid. */
            for (int tries = 0; tries < 4 && end > i; tries++) {
                while (end > i && (s[end - 1] == '.' || s[end - 1] == ':') &&
                       !(end - i >= 2 && s[end - 1] == ':' && s[end - 2] == ':')) {
                    end--;
                }
                if (pt_ipv6_valid(s, i, end)) {
                    pt_add(sp, i, end, PRIVACY_TEXT_IPV6, 0);
                    break;
                }
                while (end > i && s[end - 1] != ':' && s[end - 1] != '.') {
                    end--;
                }
            }
        }
        i = e > i ? e : i + 1;
    }
}

/* --- user names and host names after keywords --- */

/* End of the value starting at s+i (see privacy-text.h); sets *vb to its start. */
static size_t
pt_value(const char *s, size_t len, size_t i, size_t *vb)
{
    int q = pt_at(s, len, i);
    size_t e;

    if (q == '"' || q == '\'') {
        e = i + 1;
        while (e < len && s[e] != q) {
            e++;
        }
        *vb = i + 1;
        return e;
    }
    e = i;
    while (e < len && !pt_space((unsigned char)s[e]) && strchr(",;\"'()<>[]{}", s[e]) == NULL) {
        e++;
    }
    while (e > i && (s[e - 1] == '.' || s[e - 1] == ':')) {
        e--;
    }
    *vb = i;
    return e;
}

/* Keywords: followed by '='/':' (sep), or by spaces (space). */
struct pt_keyword {
    const char *word;
    unsigned kind;
    int sep;
    int space;
};

static const struct pt_keyword pt_keywords[] = {
    {"user", PRIVACY_TEXT_USER, 1, 1},         {"username", PRIVACY_TEXT_USER, 1, 1},
    {"login", PRIVACY_TEXT_USER, 1, 0},        {"logname", PRIVACY_TEXT_USER, 1, 0},
    {"ruser", PRIVACY_TEXT_USER, 1, 0},        {"account", PRIVACY_TEXT_USER, 1, 0},
    {"for", PRIVACY_TEXT_USER, 0, 1},          {"host", PRIVACY_TEXT_HOSTNAME, 1, 0},
    {"hostname", PRIVACY_TEXT_HOSTNAME, 1, 0}, {"rhost", PRIVACY_TEXT_HOSTNAME, 1, 0},
    {"shost", PRIVACY_TEXT_HOSTNAME, 1, 0},    {"dhost", PRIVACY_TEXT_HOSTNAME, 1, 0},
};

/* Words after "for " that are not user names. */
static const char *const pt_for_stop[] = {"invalid", "illegal", "user", "the", "a", "an", NULL};

static int
pt_is_stop(const char *s, size_t len)
{
    for (size_t i = 0; pt_for_stop[i] != NULL; i++) {
        if (strlen(pt_for_stop[i]) == len && strncasecmp(pt_for_stop[i], s, len) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
pt_find_keywords(const char *s, size_t len, unsigned mask, struct pt_spans *sp)
{
    for (size_t i = 0; i < len; i++) {
        if (!pt_alnum((unsigned char)s[i]) || (i > 0 && pt_word((unsigned char)s[i - 1]))) {
            continue;
        }
        for (size_t k = 0; k < sizeof(pt_keywords) / sizeof(pt_keywords[0]); k++) {
            const struct pt_keyword *kw = &pt_keywords[k];
            size_t wl = strlen(kw->word), j = i + wl, vb, ve;
            int c;

            if ((kw->kind & mask) == 0 || j > len || strncasecmp(s + i, kw->word, wl) != 0) {
                continue;
            }
            c = pt_at(s, len, j);
            if (kw->sep && (c == '=' || c == ':')) {
                j++;
                if (c == ':' && pt_at(s, len, j) == ' ') {
                    j++;
                }
            } else if (kw->space && (c == ' ' || c == '\t')) {
                while (j < len && (s[j] == ' ' || s[j] == '\t')) {
                    j++;
                }
                /* "user = bob", "user : bob" */
                if (kw->sep && j < len && (s[j] == '=' || s[j] == ':')) {
                    j++;
                    while (j < len && (s[j] == ' ' || s[j] == '\t')) {
                        j++;
                    }
                }
            } else {
                continue;
            }
            ve = pt_value(s, len, j, &vb);
            if (ve <= vb || pt_space(pt_at(s, len, vb))) {
                continue;
            }
            if (strcmp(kw->word, "for") == 0 && pt_is_stop(s + vb, ve - vb)) {
                continue;
            }
            pt_add(sp, vb, ve, kw->kind, 0);
        }
    }
}

/* --- host names by shape --- */

static void
pt_find_hostnames(const char *s, size_t len, struct pt_spans *sp)
{
    size_t i = 0;

    while (i < len) {
        size_t j = i, labels = 0;
        int last_alpha = 0, ok = 1;
        int p = i > 0 ? (unsigned char)s[i - 1] : 0;

        if (!pt_alnum((unsigned char)s[i]) || pt_word(p) || p == '.' || p == '-' || p == '@') {
            i++;
            continue;
        }
        for (;;) {
            size_t lb = j;
            int alpha = 1;
            while (j < len && (pt_alnum((unsigned char)s[j]) || s[j] == '-')) {
                if (!((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) {
                    alpha = 0;
                }
                j++;
            }
            if (j == lb || j - lb > 63 || s[lb] == '-' || s[j - 1] == '-') {
                ok = 0;
                break;
            }
            labels++;
            last_alpha = alpha && j - lb >= 2;
            if (j + 1 < len && s[j] == '.' && pt_alnum((unsigned char)s[j + 1])) {
                j++;
                continue;
            }
            break;
        }
        if (ok && labels >= 2 && last_alpha && j - i <= 253 && !pt_word(pt_at(s, len, j)) &&
            pt_at(s, len, j) != '@' && pt_at(s, len, j) != '-') {
            pt_add(sp, i, j, PRIVACY_TEXT_HOSTNAME, 0);
        }
        i = j > i ? j : i + 1;
    }
}

/* --- known values --- */

static void
pt_find_known(const char *s, size_t len, const struct privacy_text_known *known, size_t nknown,
              struct pt_spans *sp)
{
    for (size_t k = 0; k < nknown; k++) {
        size_t kl = known[k].len;

        if (kl < PRIVACY_TEXT_KNOWN_MIN || kl > len) {
            continue;
        }
        for (size_t i = 0; i + kl <= len; i++) {
            if (strncasecmp(s + i, known[k].value, kl) == 0) {
                pt_add(sp, i, i + kl, PT_KNOWN, k);
                i += kl - 1;
            }
        }
    }
}

static int
pt_span_cmp(const void *a, const void *b)
{
    const struct pt_span *x = a, *y = b;

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    if (x->end != y->end) {
        return x->end > y->end ? -1 : 1; /* longest first */
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

size_t
privacy_text_redact(const char *s, size_t len, unsigned mask,
                    const struct privacy_text_known *known, size_t nknown, privacy_text_cb cb,
                    void *arg, struct buf *out)
{
    struct pt_spans sp = {0};
    size_t pos = 0, nrep = 0, w = 0;

    /* The order of the finders is the tie-break between equal spans: addresses first. */
    if (mask & PRIVACY_TEXT_IPV6) {
        pt_find_ipv6(s, len, &sp);
    }
    if (mask & PRIVACY_TEXT_IPV4) {
        pt_find_ipv4(s, len, &sp);
    }
    if (mask & PRIVACY_TEXT_EMAIL) {
        pt_find_email(s, len, &sp);
    }
    if (mask & (PRIVACY_TEXT_USER | PRIVACY_TEXT_HOSTNAME)) {
        pt_find_keywords(s, len, mask, &sp);
    }
    if (mask & PRIVACY_TEXT_HOSTNAME) {
        pt_find_hostnames(s, len, &sp);
    }
    pt_find_known(s, len, known, nknown, &sp);
    if (sp.n > 1) {
        qsort(sp.v, sp.n, sizeof(*sp.v), pt_span_cmp);
    }
    /* Merge: drop spans inside the current one, join partly overlapping ones. */
    for (size_t r = 0; r < sp.n; r++) {
        struct pt_span *cur = w > 0 ? &sp.v[w - 1] : NULL;
        if (cur != NULL && sp.v[r].start < cur->end) {
            if (sp.v[r].end > cur->end) {
                cur->end = sp.v[r].end;
                cur->kind = PT_MERGED;
            }
            continue;
        }
        sp.v[w++] = sp.v[r];
    }
    for (size_t r = 0; r < w; r++) {
        const struct pt_span *x = &sp.v[r];

        buf_append(out, s + pos, x->start - pos);
        if (x->kind == PT_KNOWN) {
            buf_append(out, known[x->known].repl, known[x->known].repl_len);
        } else if (x->kind == PT_MERGED) {
            buf_puts(out, "[redacted]");
        } else {
            cb(arg, x->kind, s + x->start, x->end - x->start, out);
        }
        pos = x->end;
        nrep++;
    }
    buf_append(out, s + pos, len - pos);
    free(sp.v);
    return nrep;
}
