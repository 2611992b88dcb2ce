/*
 * key=value decoder: `a=1 b="two words" c='x'`, optionally behind a syslog header (iptables,
 * pf, Fortinet, ...). Keys are kept as written; a few well-known keys also get an ECS name
 * (SRC -> source.ip, DPT -> destination.port, PROTO -> network.transport, ...). Words that
 * are not key=value pairs are skipped.
 */
#include <string.h>

#include "decode-private.h"
#include "decode.h"
#include "event.h"

#define SLEN(s) (sizeof(s) - 1)

/* A table entry with its lengths, so lookups need no strlen(). */
#define KV_ALIAS(key, ecs) {key, sizeof(key) - 1, ecs, sizeof(ecs) - 1}

/* kv keys with an ECS name; matching is exact (case-sensitive). */
static const struct {
    const char *key;
    size_t key_len;
    const char *ecs;
    size_t ecs_len;
} kv_ecs[] = {
    KV_ALIAS("SRC", "source.ip"),
    KV_ALIAS("src", "source.ip"),
    KV_ALIAS("srcip", "source.ip"),
    KV_ALIAS("src_ip", "source.ip"),
    KV_ALIAS("DST", "destination.ip"),
    KV_ALIAS("dst", "destination.ip"),
    KV_ALIAS("dstip", "destination.ip"),
    KV_ALIAS("dst_ip", "destination.ip"),
    KV_ALIAS("SPT", "source.port"),
    KV_ALIAS("spt", "source.port"),
    KV_ALIAS("sport", "source.port"),
    KV_ALIAS("srcport", "source.port"),
    KV_ALIAS("src_port", "source.port"),
    KV_ALIAS("DPT", "destination.port"),
    KV_ALIAS("dpt", "destination.port"),
    KV_ALIAS("dport", "destination.port"),
    KV_ALIAS("dstport", "destination.port"),
    KV_ALIAS("dst_port", "destination.port"),
    KV_ALIAS("IN", "observer.ingress.interface.name"),
    KV_ALIAS("OUT", "observer.egress.interface.name"),
    KV_ALIAS("user", "user.name"),
    KV_ALIAS("action", "event.action"),
};

/* Keys whose value may be the event time, by precedence (rank = index + 1). */
static const struct {
    const char *key;
    size_t len;
} kv_time_keys[] = {{"@timestamp", 10}, {"timestamp", 9}, {"time", 4}};

static int
kv_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '@' || c == ':';
}

static int
kv_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Scanning state: where a search for a closing ' or " already failed (keeps it linear). */
struct kv_scan {
    size_t no_close[2];
};

/* One pair at p[*i]; sets key/value spans and advances *i. Returns 1, or 0 for a non-pair. */
static int
kv_next(const char *p, size_t n, size_t *i, struct kv_scan *sc, size_t *key, size_t *key_len,
        size_t *v, size_t *v_len, char *quote)
{
    size_t k = *i, j;

    while (k < n && kv_blank(p[k])) {
        k++;
    }
    j = k;
    while (j < n && kv_key_char(p[j])) {
        j++;
    }
    if (j == k || j >= n || p[j] != '=') {
        /* Not a pair: skip the word. */
        while (j < n && !kv_blank(p[j])) {
            j++;
        }
        *i = j;
        return 0;
    }
    *key = k;
    *key_len = j - k;
    j++;
    *quote = 0;
    if (j < n && (p[j] == '"' || p[j] == '\'') && sc->no_close[p[j] == '"'] <= j) {
        char q = p[j];
        size_t e = j + 1;
        while (e < n && p[e] != q) {
            e += p[e] == '\\' ? 2 : 1;
        }
        if (e >= n) {
            sc->no_close[q == '"'] = n;
        } else {
            *quote = q;
            *v = j + 1;
            *v_len = e - j - 1;
            *i = e + 1;
            return 1;
        }
        /* No closing quote: an ordinary word. */
    }
    *v = j;
    while (j < n && !kv_blank(p[j])) {
        j++;
    }
    *v_len = j - *v;
    *i = j;
    return 1;
}

/* Count the key=value pairs of p[0..n), stopping at max (for auto detection). */
int
decode_kv_count(const char *p, size_t n, int max)
{
    size_t i = 0, key, key_len, v, v_len;
    struct kv_scan sc = {{0, 0}};
    char quote;
    int count = 0;

    while (i < n && count < max) {
        size_t before = i;
        count += kv_next(p, n, &i, &sc, &key, &key_len, &v, &v_len, &quote);
        if (i == before) {
            i++;
        }
    }
    return count;
}

/* Unescape a quoted value (\n \t \r \\ \" \'; others kept) into the arena. */
static char *
kv_unescape(struct decode_state *st, const char *p, size_t n, size_t *out_len)
{
    char *s = event_alloc(st->ev, n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char d = p[i + 1];
            if (d == 'n') {
                c = '\n';
                i++;
            } else if (d == 't') {
                c = '\t';
                i++;
            } else if (d == 'r') {
                c = '\r';
                i++;
            } else if (d == '\\' || d == '"' || d == '\'') {
                c = d;
                i++;
            }
        }
        s[o++] = c;
    }
    s[o] = '\0';
    *out_len = o;
    return s;
}

/* The ECS alias of one pair (PROTO is lowercased; a numeric one is network.iana_number). */
static int
kv_add_alias(struct decode_state *st, const char *key, size_t key_len, const char *val,
             size_t val_len)
{
    if ((key_len == 5 && (memcmp(key, "PROTO", 5) == 0 || memcmp(key, "proto", 5) == 0))) {
        int numeric = 1;
        char *low = event_alloc(st->ev, val_len + 1);
        for (size_t i = 0; i < val_len; i++) {
            char c = val[i];
            numeric &= c >= '0' && c <= '9';
            low[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        low[val_len] = '\0';
        if (numeric) {
            return decode_add_ref(st, "network.iana_number", SLEN("network.iana_number"), val,
                                  val_len);
        }
        return decode_add_ref(st, "network.transport", SLEN("network.transport"), low, val_len);
    }
    for (size_t i = 0; i < sizeof(kv_ecs) / sizeof(kv_ecs[0]); i++) {
        if (kv_ecs[i].key_len == key_len && memcmp(kv_ecs[i].key, key, key_len) == 0) {
            return decode_add_ref(st, kv_ecs[i].ecs, kv_ecs[i].ecs_len, val, val_len);
        }
    }
    return 0;
}

/* Add a field (and an ECS alias) for each key=value pair of p[0..n). 0 or -1. */
int
decode_kv_pairs(struct decode_state *st, const char *p, size_t n, int *npairs)
{
    size_t i = 0, key, key_len, v, v_len;
    struct kv_scan sc = {{0, 0}};
    char quote;

    *npairs = 0;
    while (i < n) {
        size_t before = i, name_len, val_len;
        const char *val;
        char *name;

        if (!kv_next(p, n, &i, &sc, &key, &key_len, &v, &v_len, &quote)) {
            if (i == before) {
                i++;
            }
            continue;
        }
        (*npairs)++;
        name = decode_name(st, "", 0, p + key, key_len, &name_len);
        if (quote != 0) {
            val = kv_unescape(st, p + v, v_len, &val_len);
            if (decode_add_ref(st, name, name_len, val, val_len) != 0) {
                return -1;
            }
        } else {
            if (decode_add(st, name, name_len, p + v, v_len) != 0) {
                return -1;
            }
            val = st->ev->fields[st->ev->nfields - 1].value;
            val_len = v_len;
        }
        if (val_len > 0 && kv_add_alias(st, p + key, key_len, val, val_len) != 0) {
            return -1;
        }
        for (int r = 0; r < (int)(sizeof(kv_time_keys) / sizeof(kv_time_keys[0])); r++) {
            int64_t us;
            if (kv_time_keys[r].len == key_len &&
                memcmp(kv_time_keys[r].key, p + key, key_len) == 0 &&
                (st->time_rank == 0 || r + 1 < st->time_rank) &&
                decode_time_value(val, val_len, st->ctx != NULL ? st->ctx->now_us : 0, &us) ==
                    0) {
                decode_set_time(st, us);
                st->time_rank = r + 1;
            }
        }
        if (key_len == SLEN(F_TIMESTAMP) && memcmp(p + key, F_TIMESTAMP, key_len) == 0) {
            st->replace_ts = 1;
        }
    }
    return 0;
}

/* Decode st's line as key=value pairs, after a syslog header if any. 0 or -1. */
int
decode_kv_run(struct decode_state *st)
{
    struct decode_syslog_hdr h;
    const char *p = st->line;
    size_t n = st->len;
    int npairs;

    st->fmt = "kv";
    st->ev->format = "kv";
    if (decode_check_text(st) != 0) {
        return -1;
    }
    if (decode_syslog_parse(p, n, st->ctx != NULL ? st->ctx->now_us : 0, &h, NULL, 0) == 0) {
        decode_syslog_split_tag(&h);
        if (decode_syslog_emit(st, &h) != 0) {
            return -1;
        }
        p = h.msg;
        n = h.msg != NULL ? h.msg_len : 0;
    } else if (decode_add(st, F_MESSAGE, SLEN(F_MESSAGE), p, n) != 0) {
        return -1;
    }
    if (decode_kv_pairs(st, p, n, &npairs) != 0) {
        return -1;
    }
    if (npairs == 0) {
        return decode_fail(st, "no key=value pairs");
    }
    return 0;
}

/* Decode one key=value line; see decode.h for the contract. */
int
decode_kv(struct event *ev, const char *line, size_t len, const struct decode_ctx *ctx,
          char *err, size_t errlen)
{
    return decode_line(DECODE_KV, ev, line, len, ctx, err, errlen);
}
