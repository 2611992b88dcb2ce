/*
 * out_json: one ECS-shaped JSON object per alert, one object per line (NDJSON).
 *
 * The object is built from a flat list of (dotted name, value) entries: the alert's own keys
 * (@timestamp, event.kind, rule.id, kizuna.* ...) and the matched event's fields. The list is
 * sorted by name, segment by segment, and written as nested objects ("rule.id" becomes
 * {"rule":{"id":...}}), so the output is deterministic: the same alert gives the same bytes,
 * with keys in byte order at every level. Several values of one name become an array. See
 * README.md for the exact shape and the rules for name clashes.
 *
 * Includes only <kizuna/plugin.h> and libc (through header-only helpers in plugins/common),
 * and the compiler's SSE2 intrinsics where it has them.
 */
#include <float.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <kizuna/plugin.h>

#include "../common/plugin-base.h"

#define JSON_VERSION "1.0.0"
/* Deepest nesting made from a dotted name; deeper segments stay joined in the last key. */
#define JSON_MAX_SEGMENTS 32

struct json_config {
    int pretty;
    int64_t max_value_bytes;
    const char *dataset;
};

static const struct kz_option json_options[] = {
    {"pretty", KZ_OPT_BOOL, "false", 0, 0, offsetof(struct json_config, pretty),
     "indent each object over several lines, for people (no longer one object per line)"},
    {"max_value_bytes", KZ_OPT_INT, "0", 0, 16777216,
     offsetof(struct json_config, max_value_bytes),
     "cut each event field value to at most this many bytes, on a UTF-8 boundary (0: no limit)"},
    {"dataset", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct json_config, dataset),
     "set event.dataset to this value (e.g. kizuna.alerts); unset: keep the event's own"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

enum json_kind {
    JV_STR,      /* a host string: val/len */
    JV_FIELD,    /* an event field value: val/len, subject to max_value_bytes */
    JV_RAW,      /* JSON text in num (numbers) */
    JV_TIME,     /* RFC 3339 string of t */
    JV_TAGS,     /* array of the rule's tags */
    JV_GROUP,    /* object of the group-by fields */
    JV_EVIDENCE, /* array of objects, one per evidence event */
};

struct json_ent {
    const char *name;
    size_t name_len;
    enum json_kind kind;
    const char *val;
    size_t val_len;
    int64_t t;
    char num[40];
    size_t order; /* position of insertion: keeps multi-values in their order */
};

struct json_vec {
    struct json_ent *v;
    size_t n;
    size_t cap;
};

struct json_state {
    struct plugin_base base; /* first; json writes straight to the host's buffer, not base.out */
    struct json_vec top;     /* reused for every alert */
    struct json_vec sub;     /* group fields and evidence events */
    char **owned;            /* names made while resolving clashes, freed after each alert */
    size_t nowned;
    size_t owned_cap;
};

/* Bytes the writer gathers before handing them to the host's buffer in one call. */
#define JW_STAGE 4096

/*
 * Writer: tracks commas and, when pretty, newlines and indentation. Output is staged here
 * and appended to the host's buffer a few kilobytes at a time: an alert is some hundred
 * small pieces, and a call into the host for each cost more than the formatting itself.
 */
struct json_writer {
    const struct kz_host *h;
    struct kz_buf *b;
    int pretty;
    int depth;
    int first;     /* nothing written yet in the current container */
    int after_key; /* the next value follows a key: no separator */
    size_t nstage;
    char stage[JW_STAGE];
};

/* Hand the staged bytes to the host's buffer. */
static void
jw_flush(struct json_writer *w)
{
    if (w->nstage > 0) {
        w->h->buf_append(w->b, w->stage, w->nstage);
        w->nstage = 0;
    }
}

static void
jw_put(struct json_writer *w, const char *s, size_t n)
{
    if (n > JW_STAGE - w->nstage) {
        jw_flush(w);
        if (n > JW_STAGE) {
            w->h->buf_append(w->b, s, n);
            return;
        }
    }
    memcpy(w->stage + w->nstage, s, n);
    w->nstage += n;
}

/* 1 when no byte of s[0..len) needs escaping in JSON (controls, '"', '\\', non-ASCII). */
static int
jw_plain(const char *s, size_t len)
{
    size_t i = 0;

#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (len >= 16) {
        /* 16 bytes at i, the last block overlapping the one before */
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too */
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(b, space),
                                   _mm_or_si128(_mm_cmpeq_epi8(b, quote),
                                                _mm_cmpeq_epi8(b, bslash)));
        if (_mm_movemask_epi8(bad) != 0) {
            return 0;
        }
        if (i + 16 == len) {
            return 1;
        }
        i = i + 32 <= len ? i + 16 : len - 16;
    }
#endif
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* s as a JSON string: staged as is when no byte needs escaping, else the host escapes it. */
static void
jw_quoted(struct json_writer *w, const char *s, size_t len)
{
    if (!jw_plain(s, len)) {
        jw_flush(w);
        w->h->buf_json_string(w->b, s, len);
        return;
    }
    if (len + 2 > JW_STAGE - w->nstage) {
        jw_flush(w);
        if (len + 2 > JW_STAGE) {
            w->h->buf_append(w->b, "\"", 1);
            w->h->buf_append(w->b, s, len);
            w->h->buf_append(w->b, "\"", 1);
            return;
        }
    }
    w->stage[w->nstage] = '"';
    memcpy(w->stage + w->nstage + 1, s, len);
    w->stage[w->nstage + 1 + len] = '"';
    w->nstage += len + 2;
}

/* Names the alert itself sets; event fields equal to, inside, or above them are dropped. */
static const char *const json_reserved[] = {
    "@timestamp", "event.kind", "event.severity", "rule.id", "rule.name", "rule.hash",
    "tags",       "tlp",        "kizuna",
};

static void
jw_newline(struct json_writer *w)
{
    static const char spaces[] = "                                ";
    int n = w->depth * 2;

    jw_put(w, "\n", 1);
    while (n > 0) {
        int k = n < (int)sizeof(spaces) - 1 ? n : (int)sizeof(spaces) - 1;
        jw_put(w, spaces, (size_t)k);
        n -= k;
    }
}

/* Before a member or an array element. */
static void
jw_value_start(struct json_writer *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first) {
        jw_put(w, ",", 1);
    }
    if (w->pretty) {
        jw_newline(w);
    }
    w->first = 0;
}

static void
jw_key(struct json_writer *w, const char *name, size_t len)
{
    jw_value_start(w);
    jw_quoted(w, name, len);
    jw_put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = 1;
}

static void
jw_begin(struct json_writer *w, char c)
{
    jw_value_start(w);
    jw_put(w, &c, 1);
    w->depth++;
    w->first = 1;
}

static void
jw_end(struct json_writer *w, char c)
{
    w->depth--;
    if (w->pretty && !w->first) {
        jw_newline(w);
    }
    jw_put(w, &c, 1);
    w->first = 0;
}

static void
jw_string(struct json_writer *w, const char *s, size_t len)
{
    jw_value_start(w);
    jw_quoted(w, s, len);
}

static void
jw_raw(struct json_writer *w, const char *s)
{
    jw_value_start(w);
    jw_put(w, s, strlen(s));
}

static void
jw_time(struct json_writer *w, int64_t t)
{
    jw_value_start(w);
    jw_put(w, "\"", 1);
    jw_flush(w);
    w->h->buf_time(w->b, t);
    jw_put(w, "\"", 1);
}

static int
json_vec_push(struct json_vec *v, const char *name, size_t name_len, enum json_kind kind,
              struct json_ent **out)
{
    struct json_ent *e;

    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        struct json_ent *nv = realloc(v->v, cap * sizeof(*nv));
        if (nv == NULL) {
            return KZ_ERR;
        }
        v->v = nv;
        v->cap = cap;
    }
    e = &v->v[v->n];
    memset(e, 0, sizeof(*e));
    e->name = name;
    e->name_len = name_len;
    e->kind = kind;
    e->order = v->n++;
    *out = e;
    return KZ_OK;
}

static int
json_push_str(struct json_vec *v, const char *name, const char *s)
{
    struct json_ent *e;

    if (s == NULL) {
        return KZ_OK;
    }
    if (json_vec_push(v, name, strlen(name), JV_STR, &e) != KZ_OK) {
        return KZ_ERR;
    }
    e->val = s;
    e->val_len = strlen(s);
    return KZ_OK;
}

static int
json_push_kind(struct json_vec *v, const char *name, enum json_kind kind, int64_t t,
               const char *num)
{
    struct json_ent *e;

    if (json_vec_push(v, name, strlen(name), kind, &e) != KZ_OK) {
        return KZ_ERR;
    }
    e->t = t;
    if (num != NULL) {
        snprintf(e->num, sizeof(e->num), "%s", num);
    }
    return KZ_OK;
}

/* Compare names segment by segment: '.' sorts before any byte, a prefix before its
 * extensions, so "a", "a.b", "a.c", "a-b" come out in that order and every name below
 * "a." directly follows "a". */
static int
json_name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl, i = 0;

    /* Names share long prefixes ("kizuna.", "log.syslog."): skip equal words first. */
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) {
            break;
        }
    }
    for (; i < n; i++) {
        unsigned ca = a[i] == '.' ? 0 : (unsigned char)a[i] + 1u;
        unsigned cb = b[i] == '.' ? 0 : (unsigned char)b[i] + 1u;
        if (ca != cb) {
            return ca < cb ? -1 : 1;
        }
    }
    return al < bl ? -1 : al > bl ? 1 : 0;
}

static int
json_ent_cmp(const void *pa, const void *pb)
{
    const struct json_ent *a = pa;
    const struct json_ent *b = pb;
    int c = json_name_cmp(a->name, a->name_len, b->name, b->name_len);

    if (c != 0) {
        return c;
    }
    return a->order < b->order ? -1 : a->order > b->order ? 1 : 0;
}

/*
 * Sort v by json_ent_cmp(). An alert has a few dozen entries: insertion sort does that in
 * a fraction of qsort()'s time (which copies these large entries through a merge buffer);
 * the order is total (insertion order breaks ties), so the result is the same.
 */
static void
json_vec_sort(struct json_vec *v)
{
    if (v->n > 48) {
        qsort(v->v, v->n, sizeof(*v->v), json_ent_cmp);
        return;
    }
    for (size_t i = 1; i < v->n; i++) {
        size_t j = i;
        struct json_ent e;
        if (json_ent_cmp(&v->v[i - 1], &v->v[i]) <= 0) {
            continue;
        }
        e = v->v[i];
        while (j > 0 && json_ent_cmp(&v->v[j - 1], &e) > 0) {
            v->v[j] = v->v[j - 1];
            j--;
        }
        v->v[j] = e;
    }
}

static int
json_same_name(const struct json_ent *a, const struct json_ent *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* 1 when name p is a segment prefix of name q ("a" of "a.b"), p != q. */
static int
json_is_parent(const char *p, size_t pl, const char *q, size_t ql)
{
    return ql > pl && q[pl] == '.' && memcmp(p, q, pl) == 0;
}

/* 1 when an event field name clashes with a name the alert sets itself. */
static int
json_reserved_name(const struct json_state *s, const char *name, size_t len)
{
    const struct json_config *cfg = s->base.cfg;

    for (size_t i = 0; i < sizeof(json_reserved) / sizeof(json_reserved[0]); i++) {
        const char *r = json_reserved[i];
        size_t rl = strlen(r);

        if ((rl == len && memcmp(r, name, len) == 0) || json_is_parent(r, rl, name, len) ||
            json_is_parent(name, len, r, rl)) {
            return 1;
        }
    }
    if (cfg->dataset != NULL) {
        const char *r = "event.dataset";
        size_t rl = strlen(r);
        if ((rl == len && memcmp(r, name, len) == 0) || json_is_parent(r, rl, name, len) ||
            json_is_parent(name, len, r, rl)) {
            return 1;
        }
    }
    return 0;
}

static char *
json_own(struct json_state *s, const char *name, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);
    char *p;

    if (s->nowned == s->owned_cap) {
        size_t cap = s->owned_cap ? s->owned_cap * 2 : 8;
        char **nv = realloc(s->owned, cap * sizeof(*nv));
        if (nv == NULL) {
            return NULL;
        }
        s->owned = nv;
        s->owned_cap = cap;
    }
    p = malloc(len + sl + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, name, len);
    memcpy(p + len, suffix, sl + 1);
    s->owned[s->nowned++] = p;
    return p;
}

static void
json_free_owned(struct json_state *s)
{
    for (size_t i = 0; i < s->nowned; i++) {
        free(s->owned[i]);
    }
    s->nowned = 0;
}

/*
 * Sort the entries and settle clashes between a value and an object of the same name
 * ("a" and "a.b"): the value moves to "a.value"; a clash that remains after that is
 * dropped, so the result never has a key twice.
 */
static int
json_vec_settle(struct json_state *s, struct json_vec *v)
{
    size_t w = 0;
    int renamed = 0;

    if (v->n == 0) {
        return KZ_OK; /* v->v may be NULL, which qsort() must not be given */
    }
    json_vec_sort(v);
    for (size_t i = 0; i + 1 < v->n; i++) {
        struct json_ent *e = &v->v[i];
        size_t j = i + 1;

        while (j < v->n && json_same_name(e, &v->v[j])) {
            j++;
        }
        if (j < v->n && json_is_parent(e->name, e->name_len, v->v[j].name, v->v[j].name_len)) {
            /* e is v->v[i], renamed by the loop: take its new length first. */
            size_t nl = e->name_len + 6;
            char *n = json_own(s, e->name, e->name_len, ".value");
            if (n == NULL) {
                return KZ_ERR;
            }
            for (size_t k = i; k < j; k++) {
                v->v[k].name = n;
                v->v[k].name_len = nl;
            }
            renamed = 1;
        }
        i = j - 1;
    }
    if (!renamed) {
        return KZ_OK;
    }
    json_vec_sort(v);
    for (size_t i = 0; i < v->n; i++) {
        size_t j = i + 1;

        while (j < v->n && json_same_name(&v->v[i], &v->v[j])) {
            j++;
        }
        if (j < v->n &&
            json_is_parent(v->v[i].name, v->v[i].name_len, v->v[j].name, v->v[j].name_len)) {
            i = j - 1; /* still a clash: drop this run */
            continue;
        }
        while (i < j) {
            v->v[w++] = v->v[i++];
        }
        i = j - 1;
    }
    v->n = w;
    return KZ_OK;
}

struct json_seg {
    const char *p;
    size_t len;
};

/* Split a dotted name into at most JSON_MAX_SEGMENTS segments; returns their count. */
static size_t
json_split(const char *name, size_t len, struct json_seg *segs)
{
    size_t n = 0;
    size_t start = 0;

    for (size_t i = 0; i < len && n < JSON_MAX_SEGMENTS - 1; i++) {
        if (name[i] == '.') {
            segs[n].p = name + start;
            segs[n].len = i - start;
            n++;
            start = i + 1;
        }
    }
    segs[n].p = name + start;
    segs[n].len = len - start;
    return n + 1;
}

static void json_write_value(struct json_state *s, struct json_writer *w,
                             const struct kz_alert *a, const struct json_ent *e);

/* Write the (settled) entries as the members of the current object, nesting dotted names. */
static void
json_write_members(struct json_state *s, struct json_writer *w, const struct kz_alert *a,
                   const struct json_vec *v)
{
    struct json_seg open[JSON_MAX_SEGMENTS];
    struct json_seg segs[JSON_MAX_SEGMENTS];
    size_t nopen = 0;
    size_t i = 0;

    while (i < v->n) {
        const struct json_ent *e = &v->v[i];
        size_t ns = json_split(e->name, e->name_len, segs);
        size_t common = 0;
        size_t j = i + 1;

        while (common < nopen && common < ns - 1 && open[common].len == segs[common].len &&
               memcmp(open[common].p, segs[common].p, segs[common].len) == 0) {
            common++;
        }
        while (nopen > common) {
            jw_end(w, '}');
            nopen--;
        }
        while (nopen < ns - 1) {
            jw_key(w, segs[nopen].p, segs[nopen].len);
            jw_begin(w, '{');
            open[nopen] = segs[nopen];
            nopen++;
        }
        while (j < v->n && json_same_name(e, &v->v[j])) {
            j++;
        }
        jw_key(w, segs[ns - 1].p, segs[ns - 1].len);
        if (j - i > 1) {
            jw_begin(w, '[');
        }
        for (size_t k = i; k < j; k++) {
            json_write_value(s, w, a, &v->v[k]);
        }
        if (j - i > 1) {
            jw_end(w, ']');
        }
        i = j;
    }
    while (nopen > 0) {
        jw_end(w, '}');
        nopen--;
    }
}

/* Length of value[0..len) cut to max_value_bytes without splitting a UTF-8 sequence. */
static size_t
json_cut(const struct json_state *s, const char *val, size_t len)
{
    const struct json_config *cfg = s->base.cfg;
    size_t max = (size_t)cfg->max_value_bytes;
    size_t cut = max;

    if (max == 0 || len <= max) {
        return len;
    }
    for (int back = 0; back < 3 && cut > 0 && ((unsigned char)val[cut] & 0xc0) == 0x80; back++) {
        cut--;
    }
    return ((unsigned char)val[cut] & 0xc0) == 0x80 ? max : cut;
}

/*
 * The name as it will be written: with invalid UTF-8 replaced by U+FFFD as the host's JSON
 * string writer does, so that names differing only in invalid bytes meet as equal names
 * (one key, an array) instead of giving the same key twice. Returns name itself when it is
 * valid UTF-8, else a copy owned by s (*len updated), or NULL when out of memory.
 */
static const char *
json_name_as_written(struct json_state *s, const char *name, size_t *len)
{
    const unsigned char *p = (const unsigned char *)name;
    struct sbuf b = {0};
    const char *out;
    size_t i = 0;

    while (i < *len) {
        uint32_t cp;
        size_t k = sbuf_utf8_next(p + i, *len - i, &cp);

        if (cp == SBUF_UTF8_BAD) {
            break;
        }
        i += k;
    }
    if (i == *len) {
        return name;
    }
    sbuf_utf8(&b, name, *len);
    out = sbuf_failed(&b) ? NULL : json_own(s, b.data, b.len, "");
    *len = b.len;
    sbuf_free(&b);
    return out;
}

/* Push the fields of list into v as JV_FIELD entries, names the alert sets itself skipped
 * when skip_reserved. KZ_OK, or KZ_ERR when out of memory. */
static int
json_push_fields(struct json_state *s, struct json_vec *v, const struct kz_alert *a,
                 const struct alertutil_fields *list, int skip_reserved)
{
    const struct kz_host *h = s->base.host;
    size_t n = alertutil_fields_count(h, a, list);

    for (size_t i = 0; i < n; i++) {
        struct kz_field f;
        struct json_ent *e;

        if (alertutil_fields_get(h, a, list, i, &f) != KZ_OK) {
            continue;
        }
        f.name = json_name_as_written(s, f.name, &f.name_len);
        if (f.name == NULL) {
            return KZ_ERR;
        }
        if (skip_reserved && json_reserved_name(s, f.name, f.name_len)) {
            continue;
        }
        if (json_vec_push(v, f.name, f.name_len, JV_FIELD, &e) != KZ_OK) {
            return KZ_ERR;
        }
        e->val = f.value;
        e->val_len = f.value_len;
    }
    return KZ_OK;
}

/* Collect one field list (group fields, or an evidence event) into s->sub and settle it. */
static int
json_collect_sub(struct json_state *s, const struct kz_alert *a,
                 const struct alertutil_fields *list)
{
    s->sub.n = 0;
    if (json_push_fields(s, &s->sub, a, list, 0) != KZ_OK) {
        return KZ_ERR;
    }
    return json_vec_settle(s, &s->sub);
}

static void
json_write_value(struct json_state *s, struct json_writer *w, const struct kz_alert *a,
                 const struct json_ent *e)
{
    const struct kz_host *h = s->base.host;
    struct alertutil_fields list;
    size_t n;

    switch (e->kind) {
    case JV_STR:
        jw_string(w, e->val, e->val_len);
        break;
    case JV_FIELD:
        jw_string(w, e->val, json_cut(s, e->val, e->val_len));
        break;
    case JV_RAW:
        jw_raw(w, e->num);
        break;
    case JV_TIME:
        jw_time(w, e->t);
        break;
    case JV_TAGS:
        jw_begin(w, '[');
        n = h->alert_ntags(a);
        for (size_t i = 0; i < n; i++) {
            const char *tag = h->alert_tag(a, i);
            if (tag != NULL) {
                jw_string(w, tag, strlen(tag));
            }
        }
        jw_end(w, ']');
        break;
    case JV_GROUP:
        jw_begin(w, '{');
        list = alertutil_fields_of_set(KZ_FIELDS_GROUP);
        if (json_collect_sub(s, a, &list) == KZ_OK) {
            json_write_members(s, w, a, &s->sub);
        }
        jw_end(w, '}');
        break;
    case JV_EVIDENCE:
        jw_begin(w, '[');
        n = h->alert_nevidence(a);
        for (size_t i = 0; i < n; i++) {
            jw_begin(w, '{');
            list = alertutil_fields_of_evidence(i);
            if (json_collect_sub(s, a, &list) == KZ_OK) {
                json_write_members(s, w, a, &s->sub);
            }
            jw_end(w, '}');
        }
        jw_end(w, ']');
        break;
    }
}

/* Format a double as the shortest of %.15g / %.17g that reads back the same; null if not
 * finite (JSON has no NaN or infinity). */
static void
json_format_double(double d, char *out, size_t outlen)
{
    if (d != d || d > DBL_MAX || d < -DBL_MAX) {
        snprintf(out, outlen, "null");
        return;
    }
    snprintf(out, outlen, "%.15g", d);
    if (strtod(out, NULL) != d) {
        snprintf(out, outlen, "%.17g", d);
    }
}

/* Fill s->top with the alert's keys and the event's fields. */
static int
json_collect(struct json_state *s, const struct kz_alert *a)
{
    const struct json_config *cfg = s->base.cfg;
    const struct kz_host *h = s->base.host;
    struct alertutil_fields event = alertutil_fields_of_set(KZ_FIELDS_EVENT);
    const char *group_key = h->alert_str(a, KZ_ALERT_GROUP_KEY);
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    char num[40];
    double value;
    int r = KZ_OK;

    s->top.n = 0;
    snprintf(num, sizeof(num), "%d", h->alert_severity(a));
    r |= json_push_kind(&s->top, "@timestamp", JV_TIME, h->alert_time(a, KZ_TIME_ALERT), NULL);
    r |= json_push_str(&s->top, "event.kind", "alert");
    r |= json_push_kind(&s->top, "event.severity", JV_RAW, 0, num);
    r |= json_push_str(&s->top, "event.dataset", cfg->dataset);
    r |= json_push_str(&s->top, "rule.id", h->alert_str(a, KZ_ALERT_RULE_ID));
    r |= json_push_str(&s->top, "rule.name", h->alert_str(a, KZ_ALERT_RULE_TITLE));
    r |= json_push_str(&s->top, "rule.hash", h->alert_str(a, KZ_ALERT_RULE_HASH));
    r |= json_push_kind(&s->top, "tags", JV_TAGS, 0, NULL);
    r |= json_push_str(&s->top, "tlp", h->alert_str(a, KZ_ALERT_TLP));
    r |= json_push_str(&s->top, "kizuna.alert_id", h->alert_str(a, KZ_ALERT_ID));
    r |= json_push_str(&s->top, "kizuna.level", h->alert_str(a, KZ_ALERT_LEVEL));
    r |= json_push_str(&s->top, "kizuna.kind", h->alert_str(a, KZ_ALERT_KIND));
    r |= json_push_str(&s->top, "kizuna.host", h->alert_str(a, KZ_ALERT_HOST));
    r |= json_push_str(&s->top, "kizuna.partner", h->alert_str(a, KZ_ALERT_PARTNER));
    if (corr != NULL) {
        r |= json_push_str(&s->top, "kizuna.correlation.type", corr);
        r |= json_push_kind(&s->top, "kizuna.first_seen", JV_TIME,
                            h->alert_time(a, KZ_TIME_FIRST), NULL);
        r |= json_push_kind(&s->top, "kizuna.last_seen", JV_TIME, h->alert_time(a, KZ_TIME_LAST),
                            NULL);
        snprintf(num, sizeof(num), "%" PRIu64, h->alert_count(a));
        r |= json_push_kind(&s->top, "kizuna.count", JV_RAW, 0, num);
        if (h->alert_value(a, &value) == 1) {
            json_format_double(value, num, sizeof(num));
            r |= json_push_kind(&s->top, "kizuna.value", JV_RAW, 0, num);
        }
    }
    if (group_key != NULL && group_key[0] != '\0') {
        r |= json_push_str(&s->top, "kizuna.group.key", group_key);
    }
    if (h->alert_nfields(a, KZ_FIELDS_GROUP) > 0) {
        r |= json_push_kind(&s->top, "kizuna.group.fields", JV_GROUP, 0, NULL);
    }
    if (h->alert_nevidence(a) > 0) {
        r |= json_push_kind(&s->top, "kizuna.evidence", JV_EVIDENCE, 0, NULL);
    }
    if (r != KZ_OK || json_push_fields(s, &s->top, a, &event, 1) != KZ_OK) {
        return KZ_ERR;
    }
    return json_vec_settle(s, &s->top);
}

static int
json_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    const struct json_config *cfg = config;

    if (plugin_base_init(host, inst, config, sizeof(struct json_state), state) != KZ_OK) {
        return KZ_ERR;
    }
    host->log(inst, KZ_LOG_DEBUG, "ready (pretty=%d, max_value_bytes=%" PRId64 ", dataset=%s)",
              cfg->pretty, cfg->max_value_bytes, cfg->dataset ? cfg->dataset : "(event's)");
    return KZ_OK;
}

static int
json_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    struct json_state *s = state;
    const struct json_config *cfg = s->base.cfg;
    const struct kz_host *h = s->base.host;
    struct json_writer w; /* not zeroed: the stage is written before it is read */
    int r;

    w.h = h;
    w.b = buf;
    w.pretty = cfg->pretty;
    w.depth = 0;
    w.first = 1;
    w.after_key = 1;
    w.nstage = 0;

    r = json_collect(s, alert);
    if (r != KZ_OK) {
        h->log(s->base.inst, KZ_LOG_ERR, "out of memory formatting alert %s",
               h->alert_str(alert, KZ_ALERT_ID) ? h->alert_str(alert, KZ_ALERT_ID) : "-");
        goto out;
    }
    jw_begin(&w, '{');
    json_write_members(s, &w, alert, &s->top);
    jw_end(&w, '}');
    jw_put(&w, "\n", 1);
    jw_flush(&w);
out:
    json_free_owned(s);
    return r;
}

static void
json_close(void *state)
{
    struct json_state *s = state;

    if (s != NULL) {
        json_free_owned(s);
        free(s->owned);
        free(s->top.v);
        free(s->sub.v);
    }
    plugin_base_close(state);
}

static const struct kz_plugin json_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "json",
    .version = JSON_VERSION,
    .description = "ECS-shaped JSON, one object per alert per line (NDJSON)",
    .options = json_options,
    .config_size = sizeof(struct json_config),
    .init = json_init,
    .open = NULL,
    .emit = json_emit,
    .flush = NULL,
    .close = json_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &json_plugin;
}
