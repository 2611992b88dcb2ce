/*
 * The Redis state store (see state-redis.h; server side: state-redis.lua; docs/STATE.md).
 *
 * Operations submitted during one loop iteration form the open batch: those of one (slot,
 * group) become one call (one EVALSHA carrying every event in order, "pre-aggregation").
 * The batch closes in a uv_prepare callback (just before the loop waits for I/O) or when it
 * holds `batch` operations; its calls go to the send queue in order. Calls are pipelined on
 * one connection and answered in order; the answer of a call completes its operations in
 * order. A call stays queued until answered: a lost connection (or a reply time-out, or
 * NOSCRIPT, or a server refusal such as OOM) puts every unanswered call back at the head of
 * the queue, and after reconnecting, AUTH, SELECT and SCRIPT LOAD they are sent again in the
 * same order. The script makes an operation already applied a no-op (event identities), so
 * resending is safe.
 *
 * Timers live in Redis (one ZSET per shard). A later event of a group fires its due timer in
 * the same script call; the others fire in timer rounds: a clock call publishes this
 * process's source watermarks and reads the shared clock (the minimum over the sources of
 * every process, docs/STATE.md), then one call per shard fires what the clock has passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "buf.h"
#include "log.h"
#include "perm.h"
#include "redis-server.h"
#include "state-redis.h"
#include "xmalloc.h"

#define SR_DEFAULT_TIMEOUT_US INT64_C(5000000)
#define SR_DEFAULT_BATCH 512u
#define SR_DEFAULT_INFLIGHT 20000u
#define SR_DEFAULT_MARGIN_US (INT64_C(600) * 1000000)
#define SR_DEFAULT_IDLE_US (INT64_C(60) * 1000000)
#define SR_BACKOFF_MIN_MS 100
#define SR_BACKOFF_MAX_MS 5000
#define SR_ROUND_EVERY_MS 100 /* timer rounds at most this often */
#define SR_ROUND_TICK_MS 1000 /* and at least this often while timers may be due */
#define SR_FIRE_LIMIT 256     /* timers fired per shard per call */
#define SR_CLAIM_MS 30000     /* a timer decision not acknowledged this long is given out again */
#define SR_MAX_FIELD 64

extern const char state_redis_lua[];

enum sr_conn {
    SR_DOWN,       /* no connection; a reconnect is scheduled */
    SR_CONNECTING, /* connecting, AUTH, SELECT, SCRIPT LOAD */
    SR_UP,         /* script loaded: calls flow */
};

enum sr_call_type {
    SR_CALL_OPS,   /* W, D, S, A on one group */
    SR_CALL_CLOCK, /* C: publish and read the shared clock */
    SR_CALL_FIRE,  /* F: fire due timers of one shard */
    SR_CALL_MULTI, /* M: the operations of several groups of one shard */
    SR_CALL_ACK,   /* K: acknowledge timer decisions delivered (the shard's outbox) */
};

/* Our hiredis adapter's state (see "hiredis on libuv" below). */
struct sr_uv {
    redisAsyncContext *ac;
    uv_poll_t handle;
    int events;
};

/* One script call. */
struct sr_call {
    struct sr_call *next;
    enum sr_call_type type;
    uint32_t slot;         /* SR_CALL_OPS */
    struct state_op *head; /* its operations, in order (be_next) */
    struct state_op *tail;
    uint32_t nops;
    struct sr_call **groups; /* SR_CALL_MULTI: the group calls it carries (owned) */
    uint32_t ngroups;
    unsigned shard; /* while the batch closes */
    uint64_t gen;   /* connection generation it was sent on; 0: queued */
    uint64_t sent_ms;
    int argc;
    const char **argv;
    size_t *argvlen;
    char *data; /* the argument bytes */
};

struct sr_slot {
    int open;
    struct state_slot_spec spec;
    char *rule_id;
    char tag[17];       /* 16 hex digits naming the rule (id and definition) in keys */
    char spec_arg[400]; /* the spec as the script reads it */
    char op;            /* W D S A */
    int has_timers;
    int absorb_local; /* sliding W, D, S: suppressed events may be absorbed here */
    struct state_stats stats;
};

/*
 * A group known (from a reply) to be suppressed: its events before `until` are absorbed
 * whoever sends them, so the store answers them itself, except the event whose decision
 * set the suppression (a replay of it must return that decision).
 */
struct sr_supp {
    uint64_t hash; /* 0: free */
    uint32_t slot;
    int64_t until;
    int has_trig;
    int64_t trig_t;
    int64_t trig_pos;
    uint32_t trig_ref;
    int32_t trig_part;
    uint64_t trig_src; /* hash of the source name */
    char *key;
    size_t key_len;
};

/* A source's watermark waiting to be published. */
struct sr_pub {
    char *field; /* "source|partition|instance" */
    int64_t wm;
    int idle;
    int dirty;
};

/* An entry of the open batch's index: (slot, key) -> call. */
struct sr_open {
    uint64_t hash;
    struct sr_call *call;
};

struct sr_store {
    struct state_store base;
    uv_loop_t *loop;
    /* configuration */
    char *host;
    int port;
    char *path;
    int db;
    char *username;
    char *password;
    char *prefix;
    char *where;       /* "redis://host:port/db" or "unix:/path" for log lines */
    char instance[96]; /* host:pid:random: this process in the shared clock's fields */
    uint64_t timeout_ms;
    uint32_t batch;
    uint32_t max_inflight;
    int64_t margin_ms;
    int fallback_memory;
    int no_local_absorb;
    uint64_t claim_ms;
    uint64_t fallback_after_ms;
    int64_t idle_ms;
    struct state_limits limits;

    /* connection */
    redisAsyncContext *ac;
    enum sr_conn conn;
    uint64_t gen;
    uint64_t conn_started_ms;
    uint64_t down_since_ms;
    uint64_t backoff_ms;
    int logged_down; /* the outage has been logged */
    char lasterr[512];
    char logged_err[512];
    char sha[41];
    int closing;

    /* calls */
    struct sr_call *queue_head; /* to send, in order */
    struct sr_call *queue_tail;
    struct sr_call *sent_head; /* sent, unanswered, in order */
    struct sr_call *sent_tail;
    uint64_t nsent;
    uint64_t inflight; /* operations submitted and not completed */
    int waiting;       /* someone saw state_ready() == 0: call ready_cb later */

    /* the open batch */
    struct sr_call **ocalls;
    size_t nocalls;
    size_t ocap;
    struct sr_open *oindex;
    size_t oindex_cap;
    uint32_t nopen_ops;

    /* slots */
    struct sr_slot *slots;
    size_t nslots;
    int has_timers;

    /* timer rounds and the shared clock */
    struct sr_pub *pubs;
    size_t npubs;
    int64_t local_clock;
    int64_t fired_upto; /* highest clock a round fired up to */
    int64_t clock_us;   /* the shared clock of the last round */
    int round_active;
    int round_wanted;
    int64_t round_upto;     /* explicit round (state_redis_fire_upto), or INT64_MIN */
    uint32_t round_pending; /* calls of the round not answered */
    uint64_t round_started_ms;

    /* suppressed groups (struct sr_supp), open addressing, cleared when half full */
    struct sr_supp *supp;
    size_t supp_cap;
    size_t nsupp;
    uint64_t local_absorbed;

    /* fallback */
    struct state_store *mem;

    /* handles */
    uv_prepare_t prepare;
    uv_timer_t timer; /* reconnects, time-outs, periodic rounds */
    uv_timer_t round_timer;
    int prepare_active;
    int handles_open;

    struct state_redis_stats stats;
    struct buf scratch;
    struct buf keybuf; /* a timer decision's key, NUL-terminated like every result key */
    struct buf opkey;  /* an operation's key in its result */
    struct state_result res;
    struct state_result tres;
};

static const struct state_backend sr_backend;

static void sr_send_queue(struct sr_store *st);
static void sr_connect(struct sr_store *st);
static void sr_round_start(struct sr_store *st);
static void sr_update_ref(struct sr_store *st);

static uint64_t
sr_now(const struct sr_store *st)
{
    return uv_now(st->loop);
}

/* --- keys --- */

static uint64_t
sr_fnv64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The shard of a group: a hash of the rule tag and the group key. */
static unsigned
sr_shard(const struct sr_slot *s, const char *key, size_t len)
{
    uint64_t h = sr_fnv64(UINT64_C(14695981039346656037), s->tag, 16);

    h = sr_fnv64(h, key, len);
    return (unsigned)((h ^ (h >> 32)) % STATE_REDIS_SHARDS);
}

/* --- the suppression cache --- */

static uint64_t
sr_supp_hash(uint32_t slot, const char *key, size_t len)
{
    uint64_t h = sr_fnv64(UINT64_C(14695981039346656037) ^ slot, key, len);

    return h != 0 ? h : 1;
}

static void
sr_supp_clear(struct sr_store *st)
{
    for (size_t i = 0; i < st->supp_cap; i++) {
        free(st->supp[i].key);
    }
    memset(st->supp, 0, st->supp_cap * sizeof(*st->supp));
    st->nsupp = 0;
}

/* The entry of (slot, key), or NULL; *free_at: where it would go. */
static struct sr_supp *
sr_supp_find(struct sr_store *st, uint32_t slot, const char *key, size_t len, uint64_t h,
             size_t *free_at)
{
    size_t mask = st->supp_cap - 1, i;

    for (i = h & mask; st->supp[i].hash != 0; i = (i + 1) & mask) {
        struct sr_supp *e = &st->supp[i];
        if (e->hash == h && e->slot == slot && e->key_len == len && memcmp(e->key, key, len) == 0) {
            return e;
        }
    }
    if (free_at != NULL) {
        *free_at = i;
    }
    return NULL;
}

/* Remove e, shifting later entries of its probe run back. */
static void
sr_supp_del(struct sr_store *st, struct sr_supp *e)
{
    size_t mask = st->supp_cap - 1, i = (size_t)(e - st->supp), j = i;

    free(e->key);
    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (st->supp[j].hash == 0) {
            break;
        }
        k = st->supp[j].hash & mask;
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        st->supp[i] = st->supp[j];
        i = j;
    }
    memset(&st->supp[i], 0, sizeof(st->supp[i]));
    st->nsupp--;
}

/* A reply said what the group's suppression is now (r: its suppression element). */
static void
sr_supp_learn(struct sr_store *st, uint32_t slot, const char *key, size_t len, const redisReply *r)
{
    uint64_t h = sr_supp_hash(slot, key, len);
    size_t at;
    struct sr_supp *e = sr_supp_find(st, slot, key, len, h, &at);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        if (e != NULL) {
            sr_supp_del(st, e);
        }
        return;
    }
    if (e == NULL) {
        if ((st->nsupp + 1) * 2 > st->supp_cap) {
            sr_supp_clear(st); /* bounded: start over (entries are only a shortcut) */
            sr_supp_find(st, slot, key, len, h, &at);
        }
        e = &st->supp[at];
        e->hash = h;
        e->slot = slot;
        e->key = xmalloc(len + 1);
        memcpy(e->key, key, len);
        e->key_len = len;
        st->nsupp++;
    }
    e->until = r->element[0]->integer;
    e->has_trig = r->elements >= 6 && r->element[4]->type == REDIS_REPLY_STRING;
    if (e->has_trig) {
        e->trig_t = r->element[1]->integer;
        e->trig_pos = r->element[2]->integer;
        e->trig_ref = (uint32_t)r->element[3]->integer;
        e->trig_src =
            sr_fnv64(UINT64_C(14695981039346656037), r->element[4]->str, r->element[4]->len);
        e->trig_part = (int32_t)r->element[5]->integer;
    }
}

/* 1 when op is an event of a group known to absorb it (and not the suppression's trigger). */
static int
sr_supp_absorbs(struct sr_store *st, const struct state_op *op)
{
    uint64_t h;
    struct sr_supp *e;

    if (st->nsupp == 0) {
        return 0;
    }
    h = sr_supp_hash(op->slot, op->key, op->key_len);
    e = sr_supp_find(st, op->slot, op->key, op->key_len, h, NULL);
    if (e == NULL) {
        return 0;
    }
    if (op->in.time_us >= e->until) {
        sr_supp_del(st, e);
        return 0;
    }
    if (e->has_trig && op->in.time_us == e->trig_t && op->in.ref.pos == e->trig_pos &&
        (op->in.step & 15) == e->trig_ref && op->in.ref.partition == e->trig_part &&
        op->in.ref.source != NULL &&
        sr_fnv64(UINT64_C(14695981039346656037), op->in.ref.source, strlen(op->in.ref.source)) ==
            e->trig_src) {
        return 0; /* a replay of the trigger: Redis returns its decision */
    }
    return 1;
}

/* --- calls --- */

static void
sr_call_free(struct sr_call *c)
{
    if (c == NULL) {
        return;
    }
    for (uint32_t g = 0; g < c->ngroups; g++) {
        sr_call_free(c->groups[g]);
    }
    free(c->groups);
    free(c->argv);
    free(c->argvlen);
    free(c->data);
    free(c);
}

/* Arguments are appended to b as (offset, length) pairs in lens; pointers fixed at the end. */
struct sr_args {
    struct buf b;
    size_t *off;
    size_t *len;
    int n;
    int cap;
};

static void
sr_arg(struct sr_args *a, const void *data, size_t len)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->off = xreallocarray(a->off, (size_t)a->cap, sizeof(*a->off));
        a->len = xreallocarray(a->len, (size_t)a->cap, sizeof(*a->len));
    }
    a->off[a->n] = a->b.len;
    a->len[a->n] = len;
    a->n++;
    buf_append(&a->b, data, len);
}

static void
sr_arg_str(struct sr_args *a, const char *s)
{
    sr_arg(a, s, strlen(s));
}

static void
sr_arg_i64(struct sr_args *a, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

    sr_arg(a, tmp, (size_t)n);
}

/* Move the arguments into c (argv pointers into c->data). */
static void
sr_args_finish(struct sr_args *a, struct sr_call *c)
{
    buf_putc(&a->b, '\0');
    c->data = a->b.data;
    c->argc = a->n;
    c->argv = xcalloc((size_t)a->n + 1, sizeof(*c->argv));
    c->argvlen = a->len;
    for (int i = 0; i < a->n; i++) {
        c->argv[i] = c->data + a->off[i];
    }
    free(a->off);
    memset(a, 0, sizeof(*a));
}

static void
sr_key_group(struct sr_store *st, struct buf *b, const struct sr_slot *s, const char *key,
             size_t len)
{
    buf_reset(b);
    buf_printf(b, "{%s:%02u}:g:%s:", st->prefix, sr_shard(s, key, len), s->tag);
    buf_append(b, key, len);
}

/* Append the keys of group call c: the group and its decisions list. */
static void
sr_args_group_keys(struct sr_store *st, struct sr_args *a, const struct sr_call *c)
{
    const struct sr_slot *s = &st->slots[c->slot];

    sr_key_group(st, &st->scratch, s, c->head->key, c->head->key_len);
    sr_arg(a, st->scratch.data, st->scratch.len);
    /* the decisions list: the group key with :d: for :g: */
    st->scratch.data[strlen(st->prefix) + 6] = 'd';
    sr_arg(a, st->scratch.data, st->scratch.len);
}

/* Append the arguments of group call c: op spec nsrc sources nev events. */
static void
sr_args_group(struct sr_store *st, struct sr_args *a, const struct sr_call *c)
{
    const struct sr_slot *s = &st->slots[c->slot];
    const char *srcs[SR_MAX_FIELD];
    int32_t parts[SR_MAX_FIELD];
    int nsrc = 0;
    char tmp[48];

    sr_arg(a, &s->op, 1);
    sr_arg_str(a, s->spec_arg);
    /* The sources of the call's events (an event of a source beyond the table is unknown). */
    for (const struct state_op *op = c->head; op != NULL; op = op->be_next) {
        int k;
        if (op->in.ref.source == NULL) {
            continue;
        }
        for (k = 0; k < nsrc; k++) {
            if (parts[k] == op->in.ref.partition && strcmp(srcs[k], op->in.ref.source) == 0) {
                break;
            }
        }
        if (k == nsrc && nsrc < SR_MAX_FIELD) {
            srcs[nsrc] = op->in.ref.source;
            parts[nsrc++] = op->in.ref.partition;
        }
    }
    sr_arg_i64(a, nsrc);
    for (int k = 0; k < nsrc; k++) {
        sr_arg_str(a, srcs[k]);
        sr_arg_i64(a, parts[k]);
    }
    sr_arg_i64(a, c->nops);
    for (const struct state_op *op = c->head; op != NULL; op = op->be_next) {
        int idx = 0;
        sr_arg_i64(a, op->in.time_us);
        if (op->in.ref.source != NULL) {
            for (int k = 0; k < nsrc; k++) {
                if (parts[k] == op->in.ref.partition && strcmp(srcs[k], op->in.ref.source) == 0) {
                    idx = k + 1;
                    break;
                }
            }
        }
        /* the referenced rule is part of the event's identity (state-redis.lua) */
        sr_arg_i64(a, (int64_t)idx * 16 + (op->in.step & 15));
        sr_arg_i64(a, op->in.ref.pos);
        switch (s->op) {
        case 'W':
            if (s->spec.agg != STATE_AGG_COUNT) {
                int n = snprintf(tmp, sizeof(tmp), "%.17g", op->in.num);
                sr_arg(a, tmp, (size_t)n);
            }
            break;
        case 'D':
            if (s->spec.nsteps > 0) {
                sr_arg_i64(a, op->in.step);
            } else {
                sr_arg(a, op->in.val != NULL ? op->in.val : "", op->in.val_len);
            }
            break;
        default:
            sr_arg_i64(a, op->in.step);
            break;
        }
    }
}

/* Serialize a call of one group: EVALSHA sha 3 group timers decisions ARGS. */
static void
sr_call_build_ops(struct sr_store *st, struct sr_call *c)
{
    const struct sr_slot *s = &st->slots[c->slot];
    struct sr_args a = {0};
    char tmp[96];
    size_t gk;

    sr_arg_str(&a, "EVALSHA");
    sr_arg_str(&a, st->sha);
    sr_arg_str(&a, "3");
    gk = (size_t)a.n;
    sr_args_group_keys(st, &a, c); /* group, decisions: the timers go between them */
    snprintf(tmp, sizeof(tmp), "{%s:%02u}:t", st->prefix,
             sr_shard(s, c->head->key, c->head->key_len));
    sr_arg_str(&a, tmp);
    {
        /* swap the decisions key and the timers key into KEYS order: group, timers, decisions */
        size_t o = a.off[gk + 1], l = a.len[gk + 1];
        a.off[gk + 1] = a.off[gk + 2];
        a.len[gk + 1] = a.len[gk + 2];
        a.off[gk + 2] = o;
        a.len[gk + 2] = l;
    }
    sr_args_group(st, &a, c);
    sr_args_finish(&a, c);
}

/*
 * Serialize a call of several groups of one shard: EVALSHA sha 1+2n timers g1 d1 ... gn dn
 * M n ARGS1 ... ARGSn. The group calls stay in c->groups; c completes them from its reply.
 */
static void
sr_call_build_multi(struct sr_store *st, struct sr_call *c, unsigned shard)
{
    struct sr_args a = {0};
    char tmp[96];

    sr_arg_str(&a, "EVALSHA");
    sr_arg_str(&a, st->sha);
    sr_arg_i64(&a, 1 + 2 * (int64_t)c->ngroups);
    snprintf(tmp, sizeof(tmp), "{%s:%02u}:t", st->prefix, shard);
    sr_arg_str(&a, tmp);
    for (uint32_t g = 0; g < c->ngroups; g++) {
        sr_args_group_keys(st, &a, c->groups[g]);
    }
    sr_arg_str(&a, "M");
    sr_arg_i64(&a, c->ngroups);
    for (uint32_t g = 0; g < c->ngroups; g++) {
        sr_args_group(st, &a, c->groups[g]);
    }
    sr_args_finish(&a, c);
}

static void
sr_queue_push(struct sr_store *st, struct sr_call *c)
{
    c->next = NULL;
    c->gen = 0;
    if (st->queue_tail != NULL) {
        st->queue_tail->next = c;
    } else {
        st->queue_head = c;
    }
    st->queue_tail = c;
}

/* --- the open batch --- */

static uint64_t
sr_open_hash(uint32_t slot, const char *key, size_t len)
{
    uint64_t h = sr_fnv64(UINT64_C(14695981039346656037), &slot, sizeof(slot));

    return sr_fnv64(h, key, len) | 1; /* never 0: 0 marks a free entry */
}

static void
sr_open_index_grow(struct sr_store *st)
{
    size_t cap = st->oindex_cap ? st->oindex_cap * 2 : 1024;

    free(st->oindex);
    st->oindex = xcalloc(cap, sizeof(*st->oindex));
    st->oindex_cap = cap;
    for (size_t i = 0; i < st->nocalls; i++) {
        struct sr_call *c = st->ocalls[i];
        uint64_t h = sr_open_hash(c->slot, c->head->key, c->head->key_len);
        size_t j = h & (cap - 1);
        while (st->oindex[j].hash != 0) {
            j = (j + 1) & (cap - 1);
        }
        st->oindex[j].hash = h;
        st->oindex[j].call = c;
    }
}

/* Close the open batch: its calls go to the send queue in the order they were opened. */
static void
sr_batch_close(struct sr_store *st)
{
    struct sr_call *bundle[STATE_REDIS_SHARDS] = {0};
    struct sr_call *order[STATE_REDIS_SHARDS];
    size_t norder = 0;

    if (st->nocalls == 0) {
        return;
    }
    /* One call per shard: the groups of a shard in one script call (all their keys carry
     * the shard's hash tag), in the order the groups were opened. */
    for (size_t i = 0; i < st->nocalls; i++) {
        struct sr_call *c = st->ocalls[i];
        const struct sr_slot *s = &st->slots[c->slot];
        unsigned shard = sr_shard(s, c->head->key, c->head->key_len);
        struct sr_call *b = bundle[shard];
        if (b == NULL) {
            b = xcalloc(1, sizeof(*b));
            b->type = SR_CALL_MULTI;
            b->shard = shard;
            bundle[shard] = b;
            order[norder++] = b;
        }
        b->groups = xreallocarray(b->groups, b->ngroups + 1, sizeof(*b->groups));
        b->groups[b->ngroups++] = c;
        b->nops += c->nops;
    }
    for (size_t i = 0; i < norder; i++) {
        struct sr_call *b = order[i];
        if (b->ngroups == 1) {
            struct sr_call *c = b->groups[0];
            b->ngroups = 0;
            sr_call_free(b);
            sr_call_build_ops(st, c);
            sr_queue_push(st, c);
        } else {
            sr_call_build_multi(st, b, b->shard);
            sr_queue_push(st, b);
        }
    }
    st->nocalls = 0;
    st->nopen_ops = 0;
    memset(st->oindex, 0, st->oindex_cap * sizeof(*st->oindex));
    if (st->prepare_active) {
        uv_prepare_stop(&st->prepare);
        st->prepare_active = 0;
    }
    sr_send_queue(st);
    sr_update_ref(st);
}

static void
sr_prepare_cb(uv_prepare_t *h)
{
    sr_batch_close(h->data);
}

/* --- completion of operations --- */

static void
sr_notify_ready(struct sr_store *st)
{
    if (st->waiting && st->base.be->ready(&st->base)) {
        st->waiting = 0;
        if (st->base.ready_cb != NULL) {
            st->base.ready_cb(st->base.hook_arg);
        }
    }
}

/* Complete op (taken off its call by the caller) with rc and res. */
static void
sr_complete(struct sr_store *st, struct state_op *op, int rc, const struct state_result *res)
{
    st->inflight--;
    op->cb(op, rc, res);
}

static void
sr_result_reset(struct state_result *res)
{
    memset(res, 0, offsetof(struct state_result, ev));
    res->nev = 0;
}

/* Fill res from a decision array (see state-redis.lua); 0 or -1 when malformed. */
static int
sr_decision(const redisReply *d, struct state_result *res)
{
    size_t nev;

    if (d->type != REDIS_REPLY_ARRAY || d->elements < 10) {
        return -1;
    }
    for (size_t i = 2; i < 10; i++) {
        if (i != 8 && d->element[i]->type != REDIS_REPLY_INTEGER) {
            return -1;
        }
    }
    res->time_us = d->element[2]->integer;
    res->window_start_us = d->element[3]->integer;
    res->first_us = d->element[4]->integer;
    res->last_us = d->element[5]->integer;
    res->count = (uint64_t)d->element[6]->integer;
    res->has_value = d->element[7]->integer != 0;
    if (res->has_value && d->element[8]->type == REDIS_REPLY_STRING) {
        res->value = strtod(d->element[8]->str, NULL);
    }
    nev = (size_t)d->element[9]->integer;
    if (nev > ALERT_MAX_EVIDENCE || d->elements < 10 + 9 * nev) {
        return -1;
    }
    res->nev = nev;
    for (size_t i = 0; i < nev; i++) {
        redisReply **e = &d->element[10 + 9 * i];
        struct state_evidence *ev = &res->ev[i];
        memset(ev, 0, sizeof(*ev));
        ev->time_us = e[0]->integer;
        ev->ref.source = e[1]->type == REDIS_REPLY_STRING ? e[1]->str : NULL;
        ev->ref.partition = (int32_t)e[2]->integer;
        ev->ref.pos = e[3]->integer;
        ev->step = (uint32_t)e[4]->integer;
        ev->has_num = e[5]->integer != 0;
        if (ev->has_num && e[6]->type == REDIS_REPLY_STRING) {
            ev->num = strtod(e[6]->str, NULL);
        }
        if (e[7]->integer != 0 && e[8]->type == REDIS_REPLY_STRING) {
            ev->val = e[8]->str;
            ev->val_len = e[8]->len;
        }
    }
    return 0;
}

static int
sr_decision_kind(const redisReply *d)
{
    if (d->type != REDIS_REPLY_ARRAY || d->elements < 2 ||
        d->element[0]->type != REDIS_REPLY_STRING || d->element[0]->len != 1) {
        return 0;
    }
    return d->element[0]->str[0];
}

/*
 * A timer decision of slot s (fired, absorbed by a suppression, or evaluated without an
 * alert): to the timer callback. replay: the decision was taken before (not counted again).
 */
static void
sr_timer_decision(struct sr_store *st, uint32_t slot, const redisReply *d, const char *key,
                  size_t key_len, int replay)
{
    struct state_result *res = &st->tres;
    struct sr_slot *s = slot < st->nslots ? &st->slots[slot] : NULL;
    int kind = sr_decision_kind(d);

    sr_result_reset(res);
    res->slot = slot;
    buf_reset(&st->keybuf);
    buf_append(&st->keybuf, key, key_len);
    res->key = buf_cstr(&st->keybuf);
    res->key_len = key_len;
    if (d->elements > 2 && d->element[2]->type == REDIS_REPLY_INTEGER) {
        res->time_us = d->element[2]->integer;
    }
    if (replay) {
        s = NULL;
    }
    if (kind == 'N') {
        /* evaluated at its deadline: no alert */
    } else if (kind == 'X') {
        res->absorbed = 1;
        if (s != NULL) {
            s->stats.absorbed++;
        }
    } else if (kind == 'T' && sr_decision(d, res) == 0) {
        res->fired = 1;
        if (s != NULL) {
            s->stats.fired++;
        }
    } else {
        return;
    }
    if (st->base.timer_cb != NULL) {
        st->base.timer_cb(st->base.hook_arg, res);
    }
}

static void
sr_script_error(struct sr_store *st, const char *what, const char *msg)
{
    snprintf(st->lasterr, sizeof(st->lasterr), "%s: %s", what, msg);
    if (strcmp(st->logged_err, st->lasterr) != 0) {
        log_err("state store: Redis at %s: %s", st->where, st->lasterr);
        snprintf(st->logged_err, sizeof(st->logged_err), "%s", st->lasterr);
    }
}

/* The answer of an operations call: complete its operations in order. */
static void
sr_reply_ops(struct sr_store *st, struct sr_call *c, const redisReply *r)
{
    struct state_result *res = &st->res;
    const char *flags = NULL;
    size_t di = 3, i = 0;
    struct state_op *op = c->head, *next;
    struct sr_slot *s = c->slot < st->nslots ? &st->slots[c->slot] : NULL;

    st->stats.calls++;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len == c->nops) {
        flags = r->element[0]->str;
        if (s != NULL && r->element[1]->type == REDIS_REPLY_INTEGER) {
            s->stats.truncated += (uint64_t)r->element[1]->integer;
        }
        if (s != NULL && s->absorb_local) {
            sr_supp_learn(st, c->slot, c->head->key, c->head->key_len, r->element[2]);
        }
    } else {
        sr_script_error(st, "unexpected reply of the state script", "malformed");
    }
    c->head = c->tail = NULL;
    for (; op != NULL; op = next, i++) {
        int rc = 0;
        next = op->be_next;
        op->be_next = NULL;
        sr_result_reset(res);
        res->slot = c->slot;
        buf_reset(&st->opkey);
        buf_append(&st->opkey, op->key, op->key_len);
        res->key = buf_cstr(&st->opkey);
        res->key_len = op->key_len;
        st->stats.events++;
        if (flags == NULL) {
            rc = -1;
            st->stats.failed++;
        } else {
            /* Decisions of event i: timers first, then the event's own. */
            while (di < r->elements) {
                const redisReply *d = r->element[di];
                int kind = sr_decision_kind(d);
                if (kind == 0 || d->element[1]->type != REDIS_REPLY_INTEGER ||
                    d->element[1]->integer != (long long)(i + 1)) {
                    break;
                }
                if (kind == 'E') {
                    if (sr_decision(d, res) == 0) {
                        res->fired = 1;
                        if (s != NULL && flags[i] != 'f') {
                            s->stats.fired++;
                        }
                    }
                } else {
                    sr_timer_decision(st, c->slot, d, op->key, op->key_len, flags[i] == 'f');
                }
                di++;
            }
            switch (flags[i]) {
            case 'a':
                res->absorbed = 1;
                if (s != NULL) {
                    s->stats.absorbed++;
                }
                break;
            case 'r':
                st->stats.replays++;
                break;
            case 'f':
                st->stats.replays++;
                break;
            default:
                break;
            }
        }
        sr_complete(st, op, rc, res);
    }
}

/* The answer of a timer-round call of one shard. */
/*
 * The answer of a timer-round call of shard c->shard: each decision goes to the timer
 * callback (the engine raises and hands its alert to the outputs there), then those
 * delivered are acknowledged so they leave the shard's outbox. A decision for a rule this
 * process does not run stays there and is given out again (another process may run it).
 */
static void
sr_reply_fire(struct sr_store *st, const struct sr_call *c, const redisReply *r)
{
    struct sr_call *ack = NULL;
    struct sr_args a = {0};
    char okey[96];

    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 + SR_FIRE_LIMIT) {
        /* the shard has more due: fire again up to the same clock */
        if (st->round_upto == INT64_MIN) {
            st->round_upto = st->fired_upto;
        }
    }
    for (size_t i = 2; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *d = r->element[i];
        const redisReply *k, *tok;
        const char *tag, *key;
        size_t len;
        if (sr_decision_kind(d) == 0 || d->elements < 12 ||
            d->element[d->elements - 2]->type != REDIS_REPLY_STRING ||
            d->element[d->elements - 1]->type != REDIS_REPLY_STRING) {
            continue;
        }
        k = d->element[d->elements - 2];
        tok = d->element[d->elements - 1];
        /* {prefix:NN}:g:TAG:key */
        tag = strstr(k->str, "}:g:");
        if (tag == NULL || (size_t)(tag - k->str) + 4 + 17 > k->len) {
            continue;
        }
        tag += 4;
        key = tag + 17;
        len = k->len - (size_t)(key - k->str);
        for (uint32_t s = 0; s < st->nslots; s++) {
            if (st->slots[s].open && memcmp(st->slots[s].tag, tag, 16) == 0) {
                sr_timer_decision(st, s, d, key, len, 0);
                if (tok->len > 0) {
                    if (ack == NULL) {
                        ack = xcalloc(1, sizeof(*ack));
                        ack->type = SR_CALL_ACK;
                        snprintf(okey, sizeof(okey), "{%s:%02u}:o", st->prefix, c->shard);
                        sr_arg_str(&a, "EVALSHA");
                        sr_arg_str(&a, st->sha);
                        sr_arg_str(&a, "1");
                        sr_arg_str(&a, okey);
                        sr_arg_str(&a, "K");
                    }
                    sr_arg(&a, tok->str, tok->len);
                }
                break;
            }
        }
    }
    if (ack != NULL) {
        sr_args_finish(&a, ack);
        sr_queue_push(st, ack);
        sr_send_queue(st);
    }
}

static void sr_round_fire(struct sr_store *st, int64_t upto);
static void sr_round_timer_cb(uv_timer_t *t);

/*
 * The loop is kept alive by the store only while it has work: calls queued or in flight, a
 * connection being set up, a timer round. Otherwise its handles do not hold the loop (a
 * daemon that finished its inputs exits; the store never waits alone).
 */
static void
sr_update_ref(struct sr_store *st)
{
    int busy = !st->closing && st->mem == NULL &&
               (st->inflight > 0 || st->queue_head != NULL || st->sent_head != NULL ||
                st->nocalls > 0 || st->round_active || st->conn == SR_CONNECTING);

    if (st->ac != NULL && st->ac->ev.data != NULL) {
        uv_handle_t *h = (uv_handle_t *)&((struct sr_uv *)st->ac->ev.data)->handle;
        if (busy) {
            uv_ref(h);
        } else {
            uv_unref(h);
        }
    }
    if (busy) {
        uv_ref((uv_handle_t *)&st->timer);
    } else {
        uv_unref((uv_handle_t *)&st->timer);
    }
}

static void
sr_round_done(struct sr_store *st)
{
    st->round_active = 0;
    if (st->round_wanted || st->round_upto != INT64_MIN) {
        st->round_wanted = 0;
        uv_timer_start(&st->round_timer, sr_round_timer_cb,
                       st->round_upto != INT64_MIN ? 0 : SR_ROUND_EVERY_MS, 0);
    }
    sr_update_ref(st);
}

/* The answer of the clock call: fire up to the shared clock. */
static void
sr_reply_clock(struct sr_store *st, const redisReply *r)
{
    int64_t upto = INT64_MIN;

    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        double v = strtod(r->element[0]->str, NULL);
        upto = (int64_t)v;
    }
    if (upto != INT64_MIN) {
        st->clock_us = upto;
        st->stats.clock_us = upto;
    }
    log_debug("state store: shared clock %" PRId64 " (fired up to %" PRId64 ")", upto,
              st->fired_upto);
    if (upto == INT64_MIN || upto <= st->fired_upto) {
        sr_round_done(st);
        return;
    }
    sr_round_fire(st, upto);
}

/*
 * --- hiredis on libuv ---
 * Our own adapter rather than hiredis/adapters/libuv.h, whose poll callback drops every
 * event that comes with an error status: a refused connect or a reset connection then goes
 * unnoticed until a time-out. Here an error status lets hiredis try its read (or, while
 * connecting, its write), which fails and reports the error at once.
 */

static void
sr_uv_poll_cb(uv_poll_t *h, int status, int events)
{
    struct sr_uv *p = h->data;

    if (status < 0) {
        events = (p->ac != NULL && !(p->ac->c.flags & REDIS_CONNECTED)) ? UV_WRITABLE : UV_READABLE;
    }
    if (p->ac != NULL && (events & UV_READABLE)) {
        redisAsyncHandleRead(p->ac);
    }
    if (p->ac != NULL && (events & UV_WRITABLE)) {
        redisAsyncHandleWrite(p->ac);
    }
}

static void
sr_uv_update(struct sr_uv *p, int add, int ev)
{
    p->events = add ? p->events | ev : p->events & ~ev;
    if (p->events != 0) {
        uv_poll_start(&p->handle, p->events, sr_uv_poll_cb);
    } else {
        uv_poll_stop(&p->handle);
    }
}

static void
sr_uv_add_read(void *arg)
{
    sr_uv_update(arg, 1, UV_READABLE);
}

static void
sr_uv_del_read(void *arg)
{
    sr_uv_update(arg, 0, UV_READABLE);
}

static void
sr_uv_add_write(void *arg)
{
    sr_uv_update(arg, 1, UV_WRITABLE);
}

static void
sr_uv_del_write(void *arg)
{
    sr_uv_update(arg, 0, UV_WRITABLE);
}

static void
sr_uv_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

static void
sr_uv_cleanup(void *arg)
{
    struct sr_uv *p = arg;

    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, sr_uv_closed_cb);
}

/* Attach ac to loop. Returns 0 or -1. */
static int
sr_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct sr_uv *p;

    if (ac->ev.data != NULL) {
        return -1;
    }
    p = xcalloc(1, sizeof(*p));
    if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    p->handle.data = p;
    p->ac = ac;
    ac->ev.addRead = sr_uv_add_read;
    ac->ev.delRead = sr_uv_del_read;
    ac->ev.addWrite = sr_uv_add_write;
    ac->ev.delWrite = sr_uv_del_write;
    ac->ev.cleanup = sr_uv_cleanup;
    ac->ev.data = p;
    return 0;
}

/* --- connection --- */

/* Every unanswered call goes back to the head of the queue, in order. */
static void
sr_requeue_sent(struct sr_store *st)
{
    if (st->sent_head == NULL) {
        return;
    }
    for (struct sr_call *c = st->sent_head; c != NULL; c = c->next) {
        c->gen = 0;
        st->stats.resent++;
    }
    st->sent_tail->next = st->queue_head;
    if (st->queue_head == NULL) {
        st->queue_tail = st->sent_tail;
    }
    st->queue_head = st->sent_head;
    st->sent_head = st->sent_tail = NULL;
    st->nsent = 0;
}

static void sr_fallback(struct sr_store *st);

/*
 * 1 when err is the server's answer (AUTH refused, NOPERM, OOM, LOADING ...: an error code
 * first), 0 for the network (refused, reset, closed, time-outs). An outage is logged once;
 * again only when its cause changes kind (say, the server is back but refuses the password).
 */
static int
sr_err_is_server(const char *err)
{
    size_t n = 0;

    if (strstr(err, " refused: ") != NULL) {
        return 1;
    }
    while (err[n] >= 'A' && err[n] <= 'Z') {
        n++;
    }
    return n >= 2 && (err[n] == ' ' || err[n] == '\0');
}

static void
sr_log_down(struct sr_store *st)
{
    if (!st->logged_down) {
        st->stats.outages++;
        log_warn("state store: Redis at %s unavailable: %s; correlation and inputs pause "
                 "(Kafka keeps the records; nothing is lost), reconnecting with backoff",
                 st->where, st->lasterr[0] != '\0' ? st->lasterr : "connection lost");
        st->logged_down = 1;
        snprintf(st->logged_err, sizeof(st->logged_err), "%s", st->lasterr);
    } else if (st->lasterr[0] != '\0' && strcmp(st->logged_err, st->lasterr) != 0 &&
               (sr_err_is_server(st->lasterr) || sr_err_is_server(st->logged_err))) {
        log_warn("state store: Redis at %s still unavailable: %s", st->where, st->lasterr);
        snprintf(st->logged_err, sizeof(st->logged_err), "%s", st->lasterr);
    }
}

/*
 * The connection is gone (or must go): requeue what was sent, forget the context (the
 * caller frees it unless hiredis already does), schedule a reconnect.
 */
static void
sr_conn_lost(struct sr_store *st)
{
    if (st->conn == SR_UP || st->down_since_ms == 0) {
        st->down_since_ms = sr_now(st);
    }
    st->conn = SR_DOWN;
    st->stats.connected = 0;
    st->ac = NULL;
    st->gen++;
    sr_requeue_sent(st); /* a round's calls too: answered after reconnecting */
    sr_log_down(st);
    if (st->closing) {
        return;
    }
    if (st->fallback_memory && sr_now(st) - st->down_since_ms >= st->fallback_after_ms) {
        sr_fallback(st);
        return;
    }
    if (st->backoff_ms == 0) {
        st->backoff_ms = SR_BACKOFF_MIN_MS;
    } else if (st->backoff_ms < SR_BACKOFF_MAX_MS) {
        st->backoff_ms *= 2;
        if (st->backoff_ms > SR_BACKOFF_MAX_MS) {
            st->backoff_ms = SR_BACKOFF_MAX_MS;
        }
    }
    sr_update_ref(st);
}

/* Drop the current connection on our initiative (time-out, NOSCRIPT, refusal). */
static void
sr_drop(struct sr_store *st)
{
    redisAsyncContext *ac = st->ac;

    sr_conn_lost(st);
    if (ac != NULL) {
        ac->data = NULL;
        redisAsyncFree(ac); /* deferred by hiredis while inside one of its callbacks */
    }
}

static void
sr_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct sr_store *st = ac->data;
    struct sr_call *c = privdata;
    redisReply *reply = r;

    if (st == NULL || st->closing || c->gen != st->gen || c != st->sent_head) {
        return; /* an older connection's call, already requeued (or we are closing) */
    }
    if (reply == NULL) {
        if (st->lasterr[0] == '\0' || st->conn == SR_UP) {
            snprintf(st->lasterr, sizeof(st->lasterr), "%s",
                     ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
        }
        sr_conn_lost(st); /* hiredis is freeing the context */
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR &&
        (strncmp(reply->str, "ERR", 3) != 0 || strstr(reply->str, "user_script") == NULL)) {
        /* NOSCRIPT (the script cache was flushed), OOM, READONLY, LOADING, BUSY, NOPERM ...:
         * about the server, not the call: resend after reconnecting and loading the script. */
        snprintf(st->lasterr, sizeof(st->lasterr), "%s", reply->str);
        sr_drop(st);
        return;
    }
    st->sent_head = c->next;
    if (st->sent_head == NULL) {
        st->sent_tail = NULL;
    }
    st->nsent--;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* A script error: a bug or an argument the script cannot take. Fail the call. */
        sr_script_error(st, "state script failed", reply->str);
        if (c->type == SR_CALL_OPS || c->type == SR_CALL_MULTI) {
            uint32_t n = c->type == SR_CALL_MULTI ? c->ngroups : 1;
            for (uint32_t g = 0; g < n; g++) {
                struct sr_call *gc = c->type == SR_CALL_MULTI ? c->groups[g] : c;
                struct state_op *op = gc->head, *next;
                struct state_result res;
                sr_result_reset(&res);
                gc->head = NULL;
                for (; op != NULL; op = next) {
                    next = op->be_next;
                    op->be_next = NULL;
                    st->stats.failed++;
                    sr_complete(st, op, -1, &res);
                }
            }
        } else if (c->type == SR_CALL_CLOCK) {
            sr_round_done(st);
        } else if (c->type == SR_CALL_ACK) {
            /* given out again after the claim time: at least once */
        } else if (st->round_active && --st->round_pending == 0) {
            sr_round_done(st);
        }
    } else if (c->type == SR_CALL_OPS) {
        sr_reply_ops(st, c, reply);
    } else if (c->type == SR_CALL_MULTI) {
        st->stats.calls++;
        for (uint32_t g = 0; g < c->ngroups; g++) {
            const redisReply *gr =
                reply->type == REDIS_REPLY_ARRAY && g < reply->elements ? reply->element[g] : reply;
            sr_reply_ops(st, c->groups[g], gr);
            st->stats.calls--; /* counted once for the whole call */
        }
    } else if (c->type == SR_CALL_CLOCK) {
        sr_reply_clock(st, reply);
    } else if (c->type == SR_CALL_ACK) {
        /* the outbox forgot the delivered decisions */
    } else {
        sr_reply_fire(st, c, reply);
        if (st->round_active && --st->round_pending == 0) {
            st->stats.timer_rounds++;
            sr_round_done(st);
        }
    }
    sr_call_free(c);
    sr_notify_ready(st);
    sr_update_ref(st);
}

static void
sr_send_queue(struct sr_store *st)
{
    while (st->conn == SR_UP && st->ac != NULL && st->queue_head != NULL) {
        struct sr_call *c = st->queue_head;
        if (redisAsyncCommandArgv(st->ac, sr_reply_cb, c, c->argc, c->argv, c->argvlen) !=
            REDIS_OK) {
            snprintf(st->lasterr, sizeof(st->lasterr), "connection closing");
            sr_drop(st);
            return;
        }
        st->queue_head = c->next;
        if (st->queue_head == NULL) {
            st->queue_tail = NULL;
        }
        c->next = NULL;
        c->gen = st->gen;
        c->sent_ms = sr_now(st);
        if (st->sent_tail != NULL) {
            st->sent_tail->next = c;
        } else {
            st->sent_head = c;
        }
        st->sent_tail = c;
        st->nsent++;
    }
}

/* Answers to AUTH, SELECT and SCRIPT LOAD. */
static void
sr_setup_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct sr_store *st = ac->data;
    redisReply *reply = r;
    const char *what = privdata;

    if (st == NULL || st->closing || ac != st->ac) {
        return;
    }
    if (reply == NULL) {
        if (st->lasterr[0] == '\0') {
            snprintf(st->lasterr, sizeof(st->lasterr), "%s",
                     ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
        }
        sr_conn_lost(st);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(st->lasterr, sizeof(st->lasterr), "%s refused: %s", what, reply->str);
        sr_drop(st);
        return;
    }
    if (strcmp(what, "SCRIPT LOAD") != 0) {
        return;
    }
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        snprintf(st->lasterr, sizeof(st->lasterr), "SCRIPT LOAD: unexpected reply");
        sr_drop(st);
        return;
    }
    if (memcmp(st->sha, reply->str, 40) != 0) {
        /* Calls carry the sha: those not sent yet are rebuilt with this one. */
        memcpy(st->sha, reply->str, 40);
        for (struct sr_call *c = st->queue_head; c != NULL; c = c->next) {
            if (c->argc > 1) {
                memcpy((char *)c->argv[1], st->sha, 40);
            }
        }
    }
    if (st->logged_down) {
        uint64_t n = 0;
        for (struct sr_call *c = st->queue_head; c != NULL; c = c->next) {
            n++;
        }
        log_notice("state store: Redis at %s reachable again after %.1f s; sending the %" PRIu64
                   " call(s) that waited, correlation resumes",
                   st->where, (double)(sr_now(st) - st->down_since_ms) / 1000.0, n);
    } else {
        log_info("state store: Redis at %s connected, script %.12s loaded", st->where, st->sha);
    }
    st->conn = SR_UP;
    st->stats.connected = 1;
    st->logged_down = 0;
    st->down_since_ms = 0;
    st->backoff_ms = 0;
    st->lasterr[0] = '\0';
    st->logged_err[0] = '\0';
    sr_send_queue(st);
    sr_notify_ready(st);
    sr_update_ref(st);
}

static void
sr_connect_cb(const redisAsyncContext *ac, int status)
{
    struct sr_store *st = ac->data;

    if (st == NULL || st->closing || ac != st->ac) {
        return;
    }
    if (status != REDIS_OK) {
        snprintf(st->lasterr, sizeof(st->lasterr), "connect: %s",
                 ac->errstr[0] != '\0' ? ac->errstr : "failed");
        sr_conn_lost(st); /* hiredis frees the context */
    }
}

static void
sr_disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct sr_store *st = ac->data;

    if (st == NULL || st->closing || ac != st->ac) {
        return;
    }
    if (status != REDIS_OK && ac->errstr[0] != '\0') {
        snprintf(st->lasterr, sizeof(st->lasterr), "%s", ac->errstr);
    } else if (st->lasterr[0] == '\0') {
        snprintf(st->lasterr, sizeof(st->lasterr), "connection closed by the server");
    }
    sr_conn_lost(st);
}

static void
sr_connect(struct sr_store *st)
{
    redisAsyncContext *ac;

    ac = st->path != NULL ? redisAsyncConnectUnix(st->path) : redisAsyncConnect(st->host, st->port);
    st->conn_started_ms = sr_now(st);
    if (ac == NULL || ac->err != 0) {
        snprintf(st->lasterr, sizeof(st->lasterr), "connect: %s",
                 ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL) {
            redisAsyncFree(ac);
        }
        sr_conn_lost(st);
        return;
    }
    ac->data = st;
    if (sr_uv_attach(ac, st->loop) != 0) {
        snprintf(st->lasterr, sizeof(st->lasterr), "uv_poll_init() failed");
        ac->data = NULL;
        redisAsyncFree(ac);
        sr_conn_lost(st);
        return;
    }
    redisAsyncSetConnectCallback(ac, sr_connect_cb);
    redisAsyncSetDisconnectCallback(ac, sr_disconnect_cb);
    st->ac = ac;
    st->conn = SR_CONNECTING;
    sr_update_ref(st);
    if (st->password != NULL) {
        if (st->username != NULL) {
            const char *argv[] = {"AUTH", st->username, st->password};
            redisAsyncCommandArgv(ac, sr_setup_cb, "AUTH", 3, argv, NULL);
        } else {
            const char *argv[] = {"AUTH", st->password};
            redisAsyncCommandArgv(ac, sr_setup_cb, "AUTH", 2, argv, NULL);
        }
    }
    if (st->db > 0) {
        redisAsyncCommand(ac, sr_setup_cb, "SELECT", "SELECT %d", st->db);
    }
    {
        const char *argv[] = {"SCRIPT", "LOAD", state_redis_lua};
        redisAsyncCommandArgv(ac, sr_setup_cb, "SCRIPT LOAD", 3, argv, NULL);
    }
}

/* Every timer tick: reconnects, reply time-outs, the fallback, periodic timer rounds. */
static void
sr_timer_cb(uv_timer_t *t)
{
    struct sr_store *st = t->data;
    uint64_t now = sr_now(st);

    if (st->mem != NULL) {
        return;
    }
    if (st->conn == SR_DOWN) {
        if (st->fallback_memory && now - st->down_since_ms >= st->fallback_after_ms) {
            sr_fallback(st);
            return;
        }
        if (now - st->conn_started_ms >= st->backoff_ms) {
            sr_connect(st);
        }
        return;
    }
    if (st->conn == SR_CONNECTING && now - st->conn_started_ms >= st->timeout_ms) {
        snprintf(st->lasterr, sizeof(st->lasterr), "no answer within %" PRIu64 " ms",
                 st->timeout_ms);
        sr_drop(st);
        return;
    }
    if (st->conn == SR_UP && st->sent_head != NULL &&
        now - st->sent_head->sent_ms >= st->timeout_ms) {
        snprintf(st->lasterr, sizeof(st->lasterr), "no reply within %" PRIu64 " ms",
                 st->timeout_ms);
        sr_drop(st);
        return;
    }
    if (st->has_timers && !st->round_active && now - st->round_started_ms >= SR_ROUND_TICK_MS) {
        sr_round_start(st);
    }
}

/* --- timer rounds --- */

static void
sr_round_fire(struct sr_store *st, int64_t upto)
{
    char zkey[96], okey[96], ups[24], lim[16];

    st->fired_upto = upto;
    st->round_pending = STATE_REDIS_SHARDS;
    snprintf(ups, sizeof(ups), "%" PRId64, upto);
    snprintf(lim, sizeof(lim), "%d", SR_FIRE_LIMIT);
    for (unsigned i = 0; i < STATE_REDIS_SHARDS; i++) {
        struct sr_call *c = xcalloc(1, sizeof(*c));
        struct sr_args a = {0};
        c->type = SR_CALL_FIRE;
        c->shard = i;
        snprintf(zkey, sizeof(zkey), "{%s:%02u}:t", st->prefix, i);
        snprintf(okey, sizeof(okey), "{%s:%02u}:o", st->prefix, i);
        sr_arg_str(&a, "EVALSHA");
        sr_arg_str(&a, st->sha);
        sr_arg_str(&a, "2");
        sr_arg_str(&a, zkey);
        sr_arg_str(&a, okey);
        sr_arg_str(&a, "F");
        sr_arg_str(&a, ups);
        sr_arg_str(&a, lim);
        sr_arg_i64(&a, (int64_t)st->claim_ms);
        sr_arg_i64(&a, st->margin_ms > (int64_t)st->claim_ms ? st->margin_ms
                                                             : (int64_t)st->claim_ms * 2);
        sr_args_finish(&a, c);
        sr_queue_push(st, c);
    }
    sr_send_queue(st);
    sr_update_ref(st);
}

/*
 * A round: close the open batch (its operations go first), then either fire up to an
 * explicit time, or ask the shared clock (publishing ours) and fire up to it.
 */
static void
sr_round_start(struct sr_store *st)
{
    struct sr_call *c;
    struct sr_args a = {0};
    char key[96];
    int any = 0;

    if (st->mem != NULL || st->closing) {
        return;
    }
    if (st->round_active) {
        st->round_wanted = 1;
        return;
    }
    sr_batch_close(st);
    st->round_active = 1;
    st->round_started_ms = sr_now(st);
    if (st->round_upto != INT64_MIN) {
        int64_t upto = st->round_upto;
        st->round_upto = INT64_MIN;
        sr_round_fire(st, upto);
        return;
    }
    if (st->npubs == 0) {
        /* Nobody publishes sources (one process, no pipeline): our own clock. */
        if (st->local_clock == INT64_MIN || st->local_clock <= st->fired_upto) {
            st->round_active = 0;
            sr_update_ref(st);
            return;
        }
        sr_round_fire(st, st->local_clock);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->type = SR_CALL_CLOCK;
    snprintf(key, sizeof(key), "{%s}:clock", st->prefix);
    sr_arg_str(&a, "EVALSHA");
    sr_arg_str(&a, st->sha);
    sr_arg_str(&a, "1");
    sr_arg_str(&a, key);
    sr_arg_str(&a, "C");
    sr_arg_i64(&a, st->idle_ms);
    sr_arg_i64(&a, st->margin_ms > st->idle_ms ? st->margin_ms : st->idle_ms);
    for (size_t i = 0; i < st->npubs; i++) {
        if (st->pubs[i].dirty) {
            sr_arg_str(&a, st->pubs[i].field);
            sr_arg_i64(&a, st->pubs[i].wm);
            sr_arg_str(&a, st->pubs[i].idle ? "1" : "0");
            st->pubs[i].dirty = 0;
            any = 1;
        }
    }
    (void)any;
    sr_args_finish(&a, c);
    st->round_pending = 0;
    sr_queue_push(st, c);
    sr_send_queue(st);
    sr_update_ref(st);
}

static void
sr_round_timer_cb(uv_timer_t *t)
{
    sr_round_start(t->data);
}

/* --- the fallback to memory --- */

static void
sr_fallback(struct sr_store *st)
{
    struct sr_call *lists[2] = {st->sent_head, st->queue_head};
    redisAsyncContext *ac = st->ac;

    log_err("state store: Redis at %s unavailable for %.1f s (%s): falling back to in-memory "
            "state as configured (state.on_unavailable: memory). This costs: the state is no "
            "longer shared (several kizunad processes now decide alone: duplicate and missed "
            "alerts), windows held in Redis are not seen (alerts spanning the switch are "
            "missed), absence timers in Redis no longer fire here, and the state is lost when "
            "kizunad stops. Restart kizunad to use Redis again.",
            st->where, (double)(sr_now(st) - st->down_since_ms) / 1000.0,
            st->lasterr[0] != '\0' ? st->lasterr : "connection lost");
    st->mem = state_memory_new(&st->limits);
    st->stats.fallback = 1;
    st->stats.connected = 0;
    for (uint32_t i = 0; i < st->nslots; i++) {
        if (st->slots[i].open) {
            state_slot_open(st->mem, i, &st->slots[i].spec);
        }
    }
    st->ac = NULL;
    st->gen++;
    if (ac != NULL) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    st->sent_head = st->sent_tail = NULL;
    st->queue_head = st->queue_tail = NULL;
    st->nsent = 0;
    st->round_active = 0;
    /* Everything not answered is applied to memory now, in order. */
    for (int l = 0; l < 2; l++) {
        struct sr_call *c = lists[l], *next;
        for (; c != NULL; c = next) {
            uint32_t n = c->type == SR_CALL_MULTI ? c->ngroups : 1;
            next = c->next;
            for (uint32_t g = 0; g < n; g++) {
                struct sr_call *gc = c->type == SR_CALL_MULTI ? c->groups[g] : c;
                struct state_op *op = gc->head, *onext;
                gc->head = NULL;
                for (; op != NULL; op = onext) {
                    onext = op->be_next;
                    op->be_next = NULL;
                    st->inflight--;
                    state_submit_sync(st->mem, op);
                }
            }
            sr_call_free(c);
        }
    }
    sr_notify_ready(st);
    sr_update_ref(st);
}

/* --- backend operations --- */

static struct sr_slot *
sr_slot_get(struct sr_store *st, uint32_t slot)
{
    return slot < st->nslots && st->slots[slot].open ? &st->slots[slot] : NULL;
}

static int
sr_submit(struct state_store *base, struct state_op *op)
{
    struct sr_store *st = (struct sr_store *)base;
    struct sr_slot *s;
    struct sr_call *c;
    uint64_t h;
    size_t j;

    if (st->mem != NULL) {
        return state_submit_sync(st->mem, op);
    }
    s = sr_slot_get(st, op->slot);
    if (s == NULL || s->spec.kind != op->kind) {
        struct state_result res;
        sr_result_reset(&res);
        op->cb(op, -1, &res);
        return 0;
    }
    if (s->absorb_local && sr_supp_absorbs(st, op)) {
        struct state_result res;
        sr_result_reset(&res);
        res.absorbed = 1;
        s->stats.absorbed++;
        st->local_absorbed++;
        op->cb(op, 0, &res);
        return 0;
    }
    op->be_next = NULL;
    st->inflight++;
    if ((st->nocalls + 1) * 2 > st->oindex_cap) {
        sr_open_index_grow(st);
    }
    h = sr_open_hash(op->slot, op->key, op->key_len);
    for (j = h & (st->oindex_cap - 1); st->oindex[j].hash != 0;
         j = (j + 1) & (st->oindex_cap - 1)) {
        c = st->oindex[j].call;
        if (st->oindex[j].hash == h && c->slot == op->slot && c->head->key_len == op->key_len &&
            memcmp(c->head->key, op->key, op->key_len) == 0) {
            c->tail->be_next = op;
            c->tail = op;
            c->nops++;
            goto added;
        }
    }
    c = xcalloc(1, sizeof(*c));
    c->type = SR_CALL_OPS;
    c->slot = op->slot;
    c->head = c->tail = op;
    c->nops = 1;
    st->oindex[j].hash = h;
    st->oindex[j].call = c;
    if (st->nocalls == st->ocap) {
        st->ocap = st->ocap ? st->ocap * 2 : 256;
        st->ocalls = xreallocarray(st->ocalls, st->ocap, sizeof(*st->ocalls));
    }
    st->ocalls[st->nocalls++] = c;
added:
    st->nopen_ops++;
    if (st->nopen_ops >= st->batch) {
        sr_batch_close(st);
    } else if (!st->prepare_active) {
        uv_prepare_start(&st->prepare, sr_prepare_cb);
        st->prepare_active = 1;
        sr_update_ref(st);
    }
    return 0;
}

static int
sr_ready(struct state_store *base)
{
    struct sr_store *st = (struct sr_store *)base;
    int ready;

    if (st->mem != NULL) {
        return 1;
    }
    if (st->waiting) {
        /* hysteresis: once full, ready again at half the bound */
        ready = st->conn == SR_UP && st->inflight <= st->max_inflight / 2;
    } else {
        ready = st->conn == SR_UP && st->inflight < st->max_inflight;
    }
    if (!ready) {
        st->waiting = 1;
    }
    return ready;
}

static void
sr_advance(struct state_store *base, int64_t clock_us)
{
    struct sr_store *st = (struct sr_store *)base;

    if (st->mem != NULL) {
        return;
    }
    if (clock_us > st->local_clock) {
        st->local_clock = clock_us;
    }
    if (!st->has_timers) {
        return;
    }
    if (st->round_active) {
        st->round_wanted = 1; /* another round once this one is answered */
        return;
    }
    if (sr_now(st) - st->round_started_ms >= SR_ROUND_EVERY_MS) {
        sr_round_start(st);
    } else if (!uv_is_active((uv_handle_t *)&st->round_timer)) {
        uv_timer_start(&st->round_timer, sr_round_timer_cb,
                       SR_ROUND_EVERY_MS - (sr_now(st) - st->round_started_ms), 0);
    }
}

/* Operations in flight, plus one while a timer round runs or waits to run. */
static uint64_t
sr_inflight(struct state_store *base)
{
    struct sr_store *st = (struct sr_store *)base;

    if (st->mem != NULL) {
        return 0;
    }
    return st->inflight +
           (st->round_active || st->round_wanted || uv_is_active((uv_handle_t *)&st->round_timer)
                ? 1
                : 0);
}

/*
 * Remember a source's watermark for the next clock call. Every call refreshes the field
 * (its server time), so a publisher that keeps publishing keeps its sources fresh.
 */
static void
sr_publish(struct state_store *base, const char *source, int32_t partition, int64_t wm, int idle)
{
    struct sr_store *st = (struct sr_store *)base;
    char field[512];

    if (st->mem != NULL || source == NULL) {
        return;
    }
    snprintf(field, sizeof(field), "%s|%" PRId32 "|%s", source, partition, st->instance);
    for (size_t i = 0; i < st->npubs; i++) {
        if (strcmp(st->pubs[i].field, field) == 0) {
            st->pubs[i].wm = wm;
            st->pubs[i].idle = idle;
            st->pubs[i].dirty = 1;
            return;
        }
    }
    st->pubs = xreallocarray(st->pubs, st->npubs + 1, sizeof(*st->pubs));
    st->pubs[st->npubs].field = xstrdup(field);
    st->pubs[st->npubs].wm = wm;
    st->pubs[st->npubs].idle = idle;
    st->pubs[st->npubs].dirty = 1;
    st->npubs++;
}

/* Synchronous operations are not available: the engine submits (state.h). */
static int
sr_sync_op(struct state_store *base, uint32_t slot, const char *key, size_t len,
           const struct state_input *in, struct state_result *res)
{
    struct sr_store *st = (struct sr_store *)base;

    (void)key, (void)len, (void)in, (void)slot;
    sr_result_reset(res);
    (void)st;
    return -1;
}

static int64_t
sr_next_due(struct state_store *base)
{
    struct sr_store *st = (struct sr_store *)base;

    return st->mem != NULL ? state_next_due(st->mem) : INT64_MAX;
}

static int
sr_fire_due(struct state_store *base, int64_t upto, struct state_result *res)
{
    struct sr_store *st = (struct sr_store *)base;

    if (st->mem != NULL) {
        return state_fire_due(st->mem, upto, res);
    }
    sr_result_reset(res);
    return 0;
}

static void
sr_expire(struct state_store *base, int64_t wm)
{
    struct sr_store *st = (struct sr_store *)base;

    if (st->mem != NULL) {
        state_expire(st->mem, wm); /* keys in Redis expire by their TTL */
    }
}

static void
sr_stats(struct state_store *base, uint32_t slot, struct state_stats *out)
{
    struct sr_store *st = (struct sr_store *)base;
    struct sr_slot *s;

    if (st->mem != NULL) {
        state_stats(st->mem, slot, out);
        return;
    }
    memset(out, 0, sizeof(*out));
    if (slot != UINT32_MAX) {
        s = sr_slot_get(st, slot);
        if (s != NULL) {
            *out = s->stats;
        }
        return;
    }
    for (uint32_t i = 0; i < st->nslots; i++) {
        if (st->slots[i].open) {
            out->fired += st->slots[i].stats.fired;
            out->absorbed += st->slots[i].stats.absorbed;
            out->truncated += st->slots[i].stats.truncated;
        }
    }
}

static int
sr_dump_slot(struct state_store *base, uint32_t slot, struct buf *out)
{
    struct sr_store *st = (struct sr_store *)base;

    if (st->mem != NULL) {
        return state_dump_slot(st->mem, slot, out);
    }
    /* The groups are in Redis (docs/STATE.md has the key layout; redis-cli reads them). */
    buf_puts(out, "[]");
    return sr_slot_get(st, slot) != NULL ? 0 : -1;
}

static void
sr_slot_drop(struct state_store *base, uint32_t slot)
{
    struct sr_store *st = (struct sr_store *)base;
    struct sr_slot *s = sr_slot_get(st, slot);

    if (st->mem != NULL) {
        state_slot_drop(st->mem, slot);
    }
    if (s == NULL) {
        return;
    }
    /* Its keys stay in Redis until their TTL: other processes may still run that rule. */
    sr_supp_clear(st);
    free(s->rule_id);
    memset(s, 0, sizeof(*s));
}

static int
sr_slot_open(struct state_store *base, uint32_t slot, const struct state_slot_spec *spec)
{
    struct sr_store *st = (struct sr_store *)base;
    struct sr_slot *s;
    uint32_t maxe = spec->max_entries ? spec->max_entries : 4096;
    uint64_t h;

    if (slot >= (1u << 24) || spec->timespan_us <= 0) {
        return -1;
    }
    if ((spec->kind == STATE_SEQUENCE && (spec->nsteps < 1 || spec->nsteps > 16)) ||
        (spec->kind == STATE_ABSENCE && (spec->nsteps < 1 || spec->nsteps > 2))) {
        return -1;
    }
    if (slot >= st->nslots) {
        st->slots = xreallocarray(st->slots, slot + 1, sizeof(*st->slots));
        memset(st->slots + st->nslots, 0, (slot + 1 - st->nslots) * sizeof(*st->slots));
        st->nslots = slot + 1;
    }
    sr_slot_drop(base, slot);
    if (st->mem != NULL) {
        state_slot_open(st->mem, slot, spec);
    }
    s = &st->slots[slot];
    s->open = 1;
    s->spec = *spec;
    s->rule_id = xstrdup(spec->rule_id != NULL ? spec->rule_id : "?");
    s->spec.rule_id = s->rule_id;
    s->spec.rule_hash = NULL;
    if (maxe > 65535) {
        maxe = 65535;
    }
    switch (spec->kind) {
    case STATE_WINDOW:
        s->op = 'W';
        if (spec->at_close) {
            maxe = ALERT_MAX_EVIDENCE;
        }
        break;
    case STATE_DISTINCT:
        s->op = 'D';
        if (spec->nsteps > 0) {
            maxe = spec->nsteps;
        }
        break;
    case STATE_SEQUENCE:
        s->op = 'S';
        maxe = spec->nsteps * (spec->nsteps + 1) / 2;
        break;
    case STATE_ABSENCE:
        s->op = 'A';
        maxe = spec->nsteps == 1 ? 1 : ALERT_MAX_EVIDENCE;
        break;
    }
    s->has_timers = spec->at_close || spec->kind == STATE_ABSENCE;
    s->absorb_local = !spec->at_close && spec->kind != STATE_ABSENCE && !st->no_local_absorb;
    sr_supp_clear(st); /* keys of an older rule in this slot are void */
    if (s->has_timers) {
        st->has_timers = 1;
    }
    snprintf(s->spec_arg, sizeof(s->spec_arg),
             "%d,%d,%d,%" PRId64 ",%" PRId64 ",%d,%d,%.17g,%d,%d,%.17g,%d,%.17g,%u,%u,%" PRId64,
             (int)spec->kind, (int)spec->agg, spec->at_close ? 1 : 0, spec->timespan_us,
             spec->suppress_us, spec->cond.has_lo, spec->cond.lo_strict, spec->cond.lo,
             spec->cond.has_hi, spec->cond.hi_strict, spec->cond.hi, spec->cond.has_neq,
             spec->cond.neq, spec->nsteps, maxe, st->margin_ms);
    /* The tag: rule id, definition hash (when given) and the spec, so that any change of the
     * rule's meaning gives it fresh keys. */
    h = sr_fnv64(UINT64_C(14695981039346656037), s->rule_id, strlen(s->rule_id) + 1);
    if (spec->rule_hash != NULL) {
        h = sr_fnv64(h, spec->rule_hash, strlen(spec->rule_hash) + 1);
    }
    h = sr_fnv64(h, s->spec_arg, strlen(s->spec_arg));
    snprintf(s->tag, sizeof(s->tag), "%016" PRIx64, h);
    return 0;
}

/* --- lifecycle --- */

static void
sr_closed_cb(uv_handle_t *h)
{
    struct sr_store *st = h->data;

    if (--st->handles_open > 0) {
        return;
    }
    for (size_t i = 0; i < st->nslots; i++) {
        free(st->slots[i].rule_id);
    }
    free(st->slots);
    for (size_t i = 0; i < st->npubs; i++) {
        free(st->pubs[i].field);
    }
    free(st->pubs);
    free(st->ocalls);
    free(st->oindex);
    sr_supp_clear(st);
    free(st->supp);
    free(st->host);
    free(st->path);
    free(st->username);
    if (st->password != NULL) {
        memset(st->password, 0, strlen(st->password));
        free(st->password);
    }
    free(st->prefix);
    free(st->where);
    buf_free(&st->scratch);
    buf_free(&st->keybuf);
    buf_free(&st->opkey);
    free(st);
}

static void
sr_free(struct state_store *base)
{
    struct sr_store *st = (struct sr_store *)base;
    struct sr_call *lists[2];

    st->closing = 1;
    if (st->ac != NULL) {
        redisAsyncContext *ac = st->ac;
        st->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    /* Calls not answered are dropped with their operations (their owner goes away too). */
    for (size_t i = 0; i < st->nocalls; i++) {
        sr_call_free(st->ocalls[i]);
    }
    st->nocalls = 0;
    lists[0] = st->sent_head;
    lists[1] = st->queue_head;
    for (int l = 0; l < 2; l++) {
        struct sr_call *c = lists[l], *next;
        for (; c != NULL; c = next) {
            next = c->next;
            sr_call_free(c);
        }
    }
    st->sent_head = st->queue_head = NULL;
    state_free(st->mem);
    st->mem = NULL;
    uv_close((uv_handle_t *)&st->prepare, sr_closed_cb);
    uv_close((uv_handle_t *)&st->timer, sr_closed_cb);
    uv_close((uv_handle_t *)&st->round_timer, sr_closed_cb);
}

static int
sr_conf_check(const struct state_redis_conf *c, char **host, int *port, char **path, int *db,
              char *err, size_t errlen)
{
    const char *prefix = c->prefix != NULL ? c->prefix : "kz";

    if (prefix[0] == '\0' || strpbrk(prefix, "{}: \t\r\n") != NULL || strlen(prefix) > 64) {
        snprintf(err, errlen,
                 "prefix \"%s\" must be 1 to 64 characters without '{', '}', ':' "
                 "or blanks",
                 prefix);
        return -1;
    }
    if (c->username != NULL && c->password == NULL) {
        snprintf(err, errlen, "an ACL username needs a password (password_file)");
        return -1;
    }
    return redis_server_parse_url(c->url, host, port, path, db, err, errlen);
}

/* A new Redis store (state-redis.h). */
int
state_redis_new(uv_loop_t *loop, const struct state_redis_conf *c, struct state_store **out,
                char *err, size_t errlen)
{
    struct sr_store *st;
    char *host = NULL, *path = NULL;
    int port, db;
    uint64_t tick;

    *out = NULL;
    if (sr_conf_check(c, &host, &port, &path, &db, err, errlen) != 0) {
        return -1;
    }
    st = xcalloc(1, sizeof(*st));
    st->base.be = &sr_backend;
    st->loop = loop;
    st->host = host;
    st->port = port;
    st->path = path;
    st->db = db;
    st->where =
        path != NULL ? xasprintf("unix:%s", path) : xasprintf("redis://%s:%d/%d", host, port, db);
    {
        char hn[64] = "";
        uint32_t rnd = 0;
        if (gethostname(hn, sizeof(hn) - 1) != 0) {
            snprintf(hn, sizeof(hn), "host");
        }
        if (getentropy(&rnd, sizeof(rnd)) != 0) {
            rnd = (uint32_t)(uintptr_t)st ^ (uint32_t)getpid();
        }
        snprintf(st->instance, sizeof(st->instance), "%s:%d:%08" PRIx32, hn, (int)getpid(), rnd);
    }
    st->username = c->username != NULL ? xstrdup(c->username) : NULL;
    st->password = c->password != NULL ? xstrdup(c->password) : NULL;
    st->prefix = xstrdup(c->prefix != NULL ? c->prefix : "kz");
    st->timeout_ms = (uint64_t)((c->timeout_us > 0 ? c->timeout_us : SR_DEFAULT_TIMEOUT_US) / 1000);
    if (st->timeout_ms == 0) {
        st->timeout_ms = 1;
    }
    st->batch = c->batch > 0 ? c->batch : SR_DEFAULT_BATCH;
    st->max_inflight = c->max_inflight > 0 ? c->max_inflight : SR_DEFAULT_INFLIGHT;
    st->margin_ms = (c->ttl_margin_us > 0 ? c->ttl_margin_us : SR_DEFAULT_MARGIN_US) / 1000;
    st->fallback_memory = c->fallback_memory;
    st->fallback_after_ms =
        c->fallback_after_us > 0 ? (uint64_t)(c->fallback_after_us / 1000) : st->timeout_ms;
    st->idle_ms = (c->idle_source_us > 0 ? c->idle_source_us : SR_DEFAULT_IDLE_US) / 1000;
    st->limits = c->limits;
    st->no_local_absorb = c->no_local_absorb;
    st->claim_ms = c->claim_us > 0 ? (uint64_t)(c->claim_us / 1000) : SR_CLAIM_MS;
    st->supp_cap = 1u << 16;
    st->supp = xcalloc(st->supp_cap, sizeof(*st->supp));
    st->local_clock = INT64_MIN;
    st->fired_upto = INT64_MIN;
    st->clock_us = INT64_MIN;
    st->round_upto = INT64_MIN;
    st->stats.clock_us = INT64_MIN;
    /* The script's sha1 is known once loaded; calls are built only after that. */
    memset(st->sha, '0', 40);
    uv_prepare_init(loop, &st->prepare);
    uv_timer_init(loop, &st->timer);
    uv_timer_init(loop, &st->round_timer);
    st->prepare.data = st->timer.data = st->round_timer.data = st;
    st->handles_open = 3;
    tick = st->timeout_ms / 4;
    if (tick > SR_BACKOFF_MIN_MS / 2) {
        tick = SR_BACKOFF_MIN_MS / 2;
    }
    if (tick == 0) {
        tick = 1;
    }
    uv_timer_start(&st->timer, sr_timer_cb, tick, tick);
    st->down_since_ms = sr_now(st);
    sr_connect(st);
    *out = &st->base;
    return 0;
}

/* 1 if st is a Redis store. */
int
state_is_redis(const struct state_store *st)
{
    return st != NULL && st->be == &sr_backend;
}

/* Counters (state-redis.h). */
void
state_redis_get_stats(struct state_store *base, struct state_redis_stats *out)
{
    struct sr_store *st = (struct sr_store *)base;

    memset(out, 0, sizeof(*out));
    if (!state_is_redis(base)) {
        return;
    }
    *out = st->stats;
    out->inflight = st->mem != NULL ? 0 : st->inflight;
    out->local_absorbed = st->local_absorbed;
}

/* Nothing queued, in flight or in a round (state-redis.h). */
int
state_redis_idle(struct state_store *base)
{
    struct sr_store *st = (struct sr_store *)base;

    if (!state_is_redis(base) || st->mem != NULL) {
        return 1;
    }
    return st->inflight == 0 && st->nocalls == 0 && st->queue_head == NULL &&
           st->sent_head == NULL && !st->round_active && !st->round_wanted;
}

/* One timer round up to upto_us now (state-redis.h). */
void
state_redis_fire_upto(struct state_store *base, int64_t upto_us)
{
    struct sr_store *st = (struct sr_store *)base;

    if (!state_is_redis(base) || st->mem != NULL) {
        return;
    }
    st->round_upto = upto_us;
    if (!st->round_active) {
        sr_round_start(st);
    }
}

/* --- --check-config --- */

static int
sr_check_reply(redisContext *c, redisReply *r, const char *where, const char *what, char *err,
               size_t errlen)
{
    if (r == NULL) {
        snprintf(err, errlen, "Redis at %s: %s: %s", where, what,
                 c->errstr[0] != '\0' ? c->errstr : "no reply");
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis at %s: %s refused: %s", where, what, r->str);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* Blocking check for --check-config (state-redis.h). */
int
state_redis_check(const struct state_redis_conf *conf, char *err, size_t errlen)
{
    char *host = NULL, *path = NULL, *where = NULL, key[96], sha[48];
    int port, db, r = -1;
    int64_t tus = conf->timeout_us > 0 ? conf->timeout_us : SR_DEFAULT_TIMEOUT_US;
    struct timeval tv = {(time_t)(tus / 1000000), (suseconds_t)(tus % 1000000)};
    redisContext *c = NULL;
    redisReply *rep;
    const char *prefix = conf->prefix != NULL ? conf->prefix : "kz";

    if (sr_conf_check(conf, &host, &port, &path, &db, err, errlen) != 0) {
        goto out;
    }
    where =
        path != NULL ? xasprintf("unix:%s", path) : xasprintf("redis://%s:%d/%d", host, port, db);
    c = path != NULL ? redisConnectUnixWithTimeout(path, tv)
                     : redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err != 0) {
        snprintf(err, errlen, "Redis at %s unreachable: %s", where,
                 c != NULL ? c->errstr : "out of memory");
        goto out;
    }
    redisSetTimeout(c, tv);
    if (conf->password != NULL) {
        rep = conf->username != NULL ? redisCommand(c, "AUTH %s %s", conf->username, conf->password)
                                     : redisCommand(c, "AUTH %s", conf->password);
        if (sr_check_reply(c, rep, where, conf->username != NULL ? "AUTH (ACL user)" : "AUTH", err,
                           errlen) != 0) {
            goto out;
        }
    }
    if (db > 0 &&
        sr_check_reply(c, redisCommand(c, "SELECT %d", db), where, "SELECT", err, errlen) != 0) {
        goto out;
    }
    if (sr_check_reply(c, redisCommand(c, "PING"), where, "PING", err, errlen) != 0) {
        goto out;
    }
    rep = redisCommand(c, "SCRIPT LOAD %s", state_redis_lua);
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
        sr_check_reply(c, rep, where, "SCRIPT LOAD", err, errlen);
        goto out;
    }
    snprintf(key, sizeof(key), "{%s:00}:check", prefix);
    snprintf(sha, sizeof(sha), "%s", rep->str);
    freeReplyObject(rep);
    rep = redisCommand(c, "EVALSHA %s 1 %s V", sha, key);
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
        sr_check_reply(c, rep, where, "EVALSHA (a key of the prefix)", err, errlen);
        goto out;
    }
    freeReplyObject(rep);
    r = 0;
out:
    if (c != NULL) {
        redisFree(c);
    }
    free(host);
    free(path);
    free(where);
    return r;
}

static const struct state_backend sr_backend = {
    .name = "redis",
    .free = sr_free,
    .slot_open = sr_slot_open,
    .slot_drop = sr_slot_drop,
    .window_add = sr_sync_op,
    .distinct_add = sr_sync_op,
    .sequence_advance = sr_sync_op,
    .absence_touch = sr_sync_op,
    .next_due = sr_next_due,
    .fire_due = sr_fire_due,
    .expire = sr_expire,
    .stats = sr_stats,
    .dump_slot = sr_dump_slot,
    .submit = sr_submit,
    .ready = sr_ready,
    .advance = sr_advance,
    .inflight = sr_inflight,
    .publish = sr_publish,
};
