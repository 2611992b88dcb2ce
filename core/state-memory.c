/*
 * The in-memory state store (see state.h for the contract, docs/CORRELATION.md for the
 * semantics). One hash table holds every group of every slot; a group is one allocation:
 * a 48-byte header, the key, the slot's aggregate area and an inline array of entries that
 * grows by doubling up to the slot's bound. A group also sits in one of three lists of its
 * slot, each ordered by a deadline:
 *   ACTIVE     sliding windows, distinct sets, sequences: deadline = last event + timespan,
 *              when the group is indistinguishable from an absent one (expiry);
 *   SUPPRESSED groups whose only state is a suppression that outlasts the window;
 *   TIMER      windows evaluated at their close and absence deadlines: exact timers.
 * Events reach the store in event-time order, so appending keeps each list sorted (an
 * insertion walks back from the tail for the rare exception). Expiry pops list heads; the
 * oldest group of a slot (eviction victim) is the head of ACTIVE, then SUPPRESSED, then TIMER.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "state.h"
#include "timeutil.h"
#include "xmalloc.h"

#define SMEM_NONE INT64_MIN
#define SMEM_MAX_ENTRIES 65535u
#define SMEM_DEFAULT_ENTRIES 4096u
#define SMEM_VAL_MAX 31
#define SMEM_MAX_SOURCES 65535u
#define SMEM_MAX_STEPS 16u
#define SMEM_POS_MASK ((UINT64_C(1) << 48) - 1)
#define SMEM_LOG_EVERY_US INT64_C(60000000)
#define SMEM_MAX_KEY 4095u

enum smem_list { SMEM_LIST_NONE, SMEM_LIST_ACTIVE, SMEM_LIST_SUPPRESSED, SMEM_LIST_TIMER };

/* Followed in memory by: key (padded to 8), the slot's aggregate area, cap entries. */
struct smem_group {
    struct smem_group *prev;
    struct smem_group *next;
    int64_t deadline;
    int64_t suppress_until; /* SMEM_NONE: not suppressed */
    uint32_t hash;
    uint32_t slot : 24;
    uint32_t list : 4;
    uint32_t touched : 1; /* ACTIVE: deadline moved since it was queued (second chance) */
    uint16_t keylen;
    uint16_t cap;
    uint16_t n;
    uint16_t head;
};

/* STATE_WINDOW entry (count); with a number for sum/avg. */
struct smem_ev {
    int64_t time;
    uint64_t ref;
};
struct smem_evn {
    int64_t time;
    uint64_t ref;
    double num;
};
/* STATE_DISTINCT entry: a value (or a step), when it was last seen, and where. */
struct smem_val {
    uint64_t vhash;
    int64_t time;
    uint64_t ref;
    uint8_t len;
    char val[SMEM_VAL_MAX];
};
/* Aggregate of a window evaluated at its close, of a distinct set at close, of an absence. */
struct smem_agg {
    uint64_t count;
    double sum;
    int64_t first;
    int64_t last;
};

/* A table entry: the key's hash (so probing rarely touches a group) and the group. */
struct smem_tab {
    uint64_t hash;
    struct smem_group *g;
};

struct smem_list_head {
    struct smem_group *head;
    struct smem_group *tail;
};

struct smem_slot {
    int open;
    struct state_slot_spec spec;
    char *rule_id;
    size_t aggsize;
    size_t esize;
    uint16_t maxe;
    uint16_t initcap;
    struct smem_list_head lists[4];
    struct state_stats stats;
    uint64_t evicted_unlogged;
    uint64_t truncated_unlogged;
    int64_t last_log_us;
    int logged;
};

struct smem_source {
    char *name;
    int32_t partition;
    uint32_t hash;
};

struct smem_store {
    struct state_store base;
    struct state_limits lim;
    uint64_t seed[2];
    struct smem_tab *tab;   /* open addressing, linear probing, load <= 3/4 */
    size_t tabcap;
    uint64_t ngroups;
    struct smem_slot *slots;
    size_t nslots;
    struct state_stats total;
    int64_t clock;          /* highest event time or watermark seen (log rate limits) */
    int64_t next_expire;    /* lower bound of every ACTIVE/SUPPRESSED head deadline */
    int due_valid;          /* due_us/due_slot are exact */
    int64_t due_us;
    uint32_t due_slot;
    struct smem_source *sources; /* [0] is "unknown" */
    size_t nsources;
    uint32_t *src_index;    /* open addressing over sources, 0 = empty */
    size_t src_index_cap;
    const char *src_last_name;
    int32_t src_last_part;
    uint16_t src_last_id;
    struct buf keybuf;
    char valbuf[ALERT_MAX_EVIDENCE][SMEM_VAL_MAX + 1];
};

static const struct state_backend smem_backend;

/* --- hashing (SipHash-1-3, keyed per store so crafted keys cannot flood a bucket) --- */

#define SMEM_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
smem_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = SMEM_ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = SMEM_ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = SMEM_ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = SMEM_ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = SMEM_ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = SMEM_ROTL(v[2], 32);
}

static uint64_t
smem_hash(const struct smem_store *st, uint64_t tweak, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v[4];
    uint64_t b = (uint64_t)len << 56;
    size_t i = 0;

    v[0] = st->seed[0] ^ UINT64_C(0x736f6d6570736575) ^ tweak;
    v[1] = st->seed[1] ^ UINT64_C(0x646f72616e646f6d);
    v[2] = st->seed[0] ^ UINT64_C(0x6c7967656e657261);
    v[3] = st->seed[1] ^ UINT64_C(0x7465646279746573);
    for (; i + 8 <= len; i += 8) {
        uint64_t m;
        memcpy(&m, p + i, 8);
        v[3] ^= m;
        smem_sipround(v);
        v[0] ^= m;
    }
    for (size_t j = 0; i + j < len; j++) {
        b |= (uint64_t)p[i + j] << (8 * j);
    }
    v[3] ^= b;
    smem_sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    smem_sipround(v);
    smem_sipround(v);
    smem_sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* --- memory accounting --- */

static void *
smem_alloc(struct smem_store *st, struct smem_slot *s, size_t n)
{
    void *p = xmalloc(n);
    size_t u = malloc_usable_size(p);

    st->total.bytes += u;
    if (s != NULL) {
        s->stats.bytes += u;
    }
    return p;
}

static void
smem_release(struct smem_store *st, struct smem_slot *s, void *p)
{
    size_t u;

    if (p == NULL) {
        return;
    }
    u = malloc_usable_size(p);
    st->total.bytes -= u;
    if (s != NULL) {
        s->stats.bytes -= u;
    }
    free(p);
}

/* --- source positions: (name, partition) interned to 16 bits, packed with 48 bits of pos --- */

static void
smem_source_index_grow(struct smem_store *st)
{
    size_t cap = st->src_index_cap ? st->src_index_cap * 2 : 64;

    free(st->src_index);
    st->src_index = xcalloc(cap, sizeof(*st->src_index));
    st->src_index_cap = cap;
    for (size_t id = 1; id < st->nsources; id++) {
        size_t i = st->sources[id].hash & (cap - 1);
        while (st->src_index[i] != 0) {
            i = (i + 1) & (cap - 1);
        }
        st->src_index[i] = (uint32_t)id;
    }
}

static uint16_t
smem_source_id(struct smem_store *st, const char *name, int32_t partition)
{
    uint32_t h;
    size_t i;

    if (name == NULL) {
        return 0;
    }
    /* Callers reuse buffers, so the same pointer may carry another name: compare text. */
    if (name == st->src_last_name && partition == st->src_last_part &&
        strcmp(st->sources[st->src_last_id].name, name) == 0) {
        return st->src_last_id;
    }
    h = (uint32_t)smem_hash(st, (uint64_t)(uint32_t)partition, name, strlen(name));
    if (st->src_index_cap == 0) {
        smem_source_index_grow(st);
    }
    for (i = h & (st->src_index_cap - 1); st->src_index[i] != 0;
         i = (i + 1) & (st->src_index_cap - 1)) {
        const struct smem_source *src = &st->sources[st->src_index[i]];
        if (src->hash == h && src->partition == partition && strcmp(src->name, name) == 0) {
            st->src_last_name = name;
            st->src_last_part = partition;
            st->src_last_id = (uint16_t)st->src_index[i];
            return st->src_last_id;
        }
    }
    if (st->nsources > SMEM_MAX_SOURCES) {
        return 0;
    }
    st->sources = xreallocarray(st->sources, st->nsources + 1, sizeof(*st->sources));
    st->sources[st->nsources].name = xstrdup(name);
    st->sources[st->nsources].partition = partition;
    st->sources[st->nsources].hash = h;
    st->src_index[i] = (uint32_t)st->nsources;
    st->nsources++;
    if (st->nsources * 2 > st->src_index_cap) {
        smem_source_index_grow(st);
    }
    st->src_last_name = name;
    st->src_last_part = partition;
    st->src_last_id = (uint16_t)(st->nsources - 1);
    return st->src_last_id;
}

static uint64_t
smem_ref_pack(struct smem_store *st, const struct state_ref *ref)
{
    uint64_t id = smem_source_id(st, ref->source, ref->partition);

    return id << 48 | ((uint64_t)ref->pos & SMEM_POS_MASK);
}

static void
smem_ref_unpack(const struct smem_store *st, uint64_t packed, struct state_ref *out)
{
    uint64_t id = packed >> 48;

    out->pos = (int64_t)(packed & SMEM_POS_MASK);
    if (id == 0 || id >= st->nsources) {
        out->source = NULL;
        out->partition = -1;
    } else {
        out->source = st->sources[id].name;
        out->partition = st->sources[id].partition;
    }
}

/* --- group layout --- */

static size_t
smem_pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static char *
smem_key(struct smem_group *g)
{
    return (char *)(g + 1);
}

static void *
smem_aggp(struct smem_group *g)
{
    return (char *)(g + 1) + smem_pad8(g->keylen);
}

static void *
smem_entry(const struct smem_slot *s, struct smem_group *g, size_t i)
{
    return (char *)(g + 1) + smem_pad8(g->keylen) + s->aggsize + i * s->esize;
}

/* Entry i in logical order of a ring. */
static void *
smem_ring(const struct smem_slot *s, struct smem_group *g, size_t i)
{
    return smem_entry(s, g, (g->head + i) % g->cap);
}

static size_t
smem_group_size(const struct smem_slot *s, size_t keylen, size_t cap)
{
    return sizeof(struct smem_group) + smem_pad8(keylen) + s->aggsize + cap * s->esize;
}

static struct smem_slot *
smem_slot_get(struct smem_store *st, uint32_t slot)
{
    if (slot >= st->nslots || !st->slots[slot].open) {
        return NULL;
    }
    return &st->slots[slot];
}

/* --- lists --- */

static void
smem_list_unlink(struct smem_store *st, struct smem_slot *s, struct smem_group *g)
{
    struct smem_list_head *l;

    if (g->list == SMEM_LIST_NONE) {
        return;
    }
    l = &s->lists[g->list];
    if (g->list == SMEM_LIST_TIMER && l->head == g) {
        st->due_valid = 0;
    }
    if (g->prev != NULL) {
        g->prev->next = g->next;
    } else {
        l->head = g->next;
    }
    if (g->next != NULL) {
        g->next->prev = g->prev;
    } else {
        l->tail = g->prev;
    }
    g->prev = g->next = NULL;
    g->list = SMEM_LIST_NONE;
}

/* Put g into list `list` at its place by deadline (normally the tail). */
static void
smem_list_insert(struct smem_store *st, struct smem_slot *s, struct smem_group *g, int list,
                 int64_t deadline)
{
    struct smem_list_head *l = &s->lists[list];
    struct smem_group *after;

    smem_list_unlink(st, s, g);
    g->deadline = deadline;
    g->list = (uint32_t)list;
    g->touched = 0;
    after = l->tail;
    while (after != NULL && after->deadline > deadline) {
        after = after->prev;
    }
    g->prev = after;
    g->next = after != NULL ? after->next : l->head;
    if (g->prev != NULL) {
        g->prev->next = g;
    } else {
        l->head = g;
    }
    if (g->next != NULL) {
        g->next->prev = g;
    } else {
        l->tail = g;
    }
    if (list == SMEM_LIST_TIMER) {
        if (st->due_valid && deadline < st->due_us) {
            st->due_us = deadline;
            st->due_slot = g->slot;
        }
    } else if (deadline < st->next_expire) {
        st->next_expire = deadline;
    }
}

/*
 * The group was active at t: its expiry moves to deadline. An ACTIVE group is not moved
 * in its list (that would touch two neighbours per event); it is marked and re-queued when
 * it reaches the head (second chance), so the head is always the least recently active.
 */
static void
smem_active_touch(struct smem_store *st, struct smem_slot *s, struct smem_group *g,
                  int64_t deadline)
{
    if (g->list == SMEM_LIST_ACTIVE && deadline >= g->deadline) {
        if (deadline != g->deadline) {
            g->deadline = deadline;
            g->touched = 1;
        }
        return;
    }
    smem_list_insert(st, s, g, SMEM_LIST_ACTIVE, deadline);
}

/* Re-queue touched groups at the head of ACTIVE until the head is untouched. */
static struct smem_group *
smem_active_head(struct smem_store *st, struct smem_slot *s)
{
    struct smem_group *g;

    while ((g = s->lists[SMEM_LIST_ACTIVE].head) != NULL && g->touched) {
        smem_list_insert(st, s, g, SMEM_LIST_ACTIVE, g->deadline);
    }
    return g;
}

/* --- the table --- */

/* Where entry hash h goes in a fresh table (no deletions yet). */
static void
smem_tab_put(struct smem_tab *tab, size_t cap, uint64_t h, struct smem_group *g)
{
    size_t i = h & (cap - 1);

    while (tab[i].g != NULL) {
        i = (i + 1) & (cap - 1);
    }
    tab[i].hash = h;
    tab[i].g = g;
}

static void
smem_table_grow(struct smem_store *st)
{
    size_t n = st->tabcap ? st->tabcap * 2 : 1024;
    struct smem_tab *t = xcalloc(n, sizeof(*t));

    for (size_t i = 0; i < st->tabcap; i++) {
        if (st->tab[i].g != NULL) {
            smem_tab_put(t, n, st->tab[i].hash, st->tab[i].g);
        }
    }
    if (st->tab != NULL) {
        st->total.bytes -= malloc_usable_size(st->tab);
    }
    free(st->tab);
    st->tab = t;
    st->tabcap = n;
    st->total.bytes += malloc_usable_size(t);
}

static uint64_t
smem_key_hash(const struct smem_store *st, uint32_t slot, const char *key, size_t len)
{
    return smem_hash(st, slot, key, len);
}

/* The group of (slot, key), or NULL; *pos is its entry or the free entry to insert at. */
static struct smem_group *
smem_lookup(struct smem_store *st, uint32_t slot, const char *key, size_t len, uint64_t h,
            size_t *pos)
{
    size_t mask = st->tabcap - 1, i = h & mask;

    for (; st->tab[i].g != NULL; i = (i + 1) & mask) {
        struct smem_group *g = st->tab[i].g;
        if (st->tab[i].hash == h && g->slot == slot && g->keylen == len &&
            memcmp(smem_key(g), key, len) == 0) {
            *pos = i;
            return g;
        }
    }
    *pos = i;
    return NULL;
}

/* The table entry of g. */
static size_t
smem_tab_find(struct smem_store *st, const struct smem_group *g)
{
    size_t mask = st->tabcap - 1, i = g->hash & mask;

    while (st->tab[i].g != g) {
        i = (i + 1) & mask;
    }
    return i;
}

/* Remove entry i, shifting later entries of the probe run back (no tombstones). */
static void
smem_tab_del(struct smem_store *st, size_t i)
{
    size_t mask = st->tabcap - 1, j = i;

    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (st->tab[j].g == NULL) {
            break;
        }
        k = st->tab[j].hash & mask;
        /* Entry j may move to i unless its home k lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        st->tab[i] = st->tab[j];
        i = j;
    }
    st->tab[i].g = NULL;
    st->tab[i].hash = 0;
}

static void
smem_group_free(struct smem_store *st, struct smem_slot *s, struct smem_group *g)
{
    smem_tab_del(st, smem_tab_find(st, g));
    smem_list_unlink(st, s, g);
    st->ngroups--;
    st->total.groups--;
    s->stats.groups--;
    smem_release(st, s, g);
}

static void
smem_log_limits(struct smem_store *st, struct smem_slot *s, const char *what)
{
    if (s->logged && st->clock - s->last_log_us < SMEM_LOG_EVERY_US) {
        return;
    }
    log_warn("correlation rule %s: %s; dropped the oldest: %" PRIu64 " group(s) evicted, %"
             PRIu64 " entries truncated since the last report (%" PRIu64 " and %" PRIu64
             " in total)", s->rule_id, what, s->evicted_unlogged, s->truncated_unlogged,
             s->stats.evicted, s->stats.truncated);
    s->logged = 1;
    s->last_log_us = st->clock;
    s->evicted_unlogged = 0;
    s->truncated_unlogged = 0;
}

/* The least recently active group of a slot, or NULL. */
static struct smem_group *
smem_slot_oldest(struct smem_store *st, struct smem_slot *s)
{
    if (smem_active_head(st, s) != NULL) {
        return s->lists[SMEM_LIST_ACTIVE].head;
    }
    if (s->lists[SMEM_LIST_SUPPRESSED].head != NULL) {
        return s->lists[SMEM_LIST_SUPPRESSED].head;
    }
    return s->lists[SMEM_LIST_TIMER].head;
}

static void
smem_evict(struct smem_store *st, struct smem_slot *s, struct smem_group *g, const char *why)
{
    s->stats.evicted++;
    st->total.evicted++;
    s->evicted_unlogged++;
    smem_group_free(st, s, g);
    smem_log_limits(st, s, why);
}

/* Make room for one more group of slot s, evicting the oldest when a limit is reached. */
static void
smem_make_room(struct smem_store *st, struct smem_slot *s)
{
    if (s->stats.groups >= st->lim.max_groups_per_slot) {
        struct smem_group *g = smem_slot_oldest(st, s);
        if (g != NULL) {
            smem_evict(st, s, g, "state.max_groups_per_rule reached");
        }
    }
    if (st->ngroups >= st->lim.max_groups_total) {
        /* The slot whose oldest group was touched longest ago gives one up. */
        struct smem_slot *victim = NULL;
        int64_t best = INT64_MAX;
        for (size_t i = 0; i < st->nslots; i++) {
            struct smem_slot *o = &st->slots[i];
            struct smem_group *g;
            int64_t age;
            if (!o->open || (g = smem_slot_oldest(st, o)) == NULL) {
                continue;
            }
            age = g->list == SMEM_LIST_ACTIVE ? g->deadline - o->spec.timespan_us : g->deadline;
            if (victim == NULL || age < best) {
                victim = o;
                best = age;
            }
        }
        if (victim != NULL) {
            smem_evict(st, victim, smem_slot_oldest(st, victim), "state.max_groups reached");
        }
    }
}

static struct smem_group *
smem_group_new(struct smem_store *st, struct smem_slot *s, uint32_t slot, const char *key,
               size_t len, uint64_t h, uint16_t cap)
{
    struct smem_group *g;

    smem_make_room(st, s);
    g = smem_alloc(st, s, smem_group_size(s, len, cap));
    memset(g, 0, sizeof(*g) + smem_pad8(len) + s->aggsize);
    memcpy(smem_key(g), key, len);
    g->keylen = (uint16_t)len;
    g->hash = (uint32_t)h;
    g->slot = slot;
    g->cap = cap;
    g->suppress_until = SMEM_NONE;
    g->list = SMEM_LIST_NONE;
    if ((st->ngroups + 1) * 4 > st->tabcap * 3) {
        smem_table_grow(st);
    }
    smem_tab_put(st->tab, st->tabcap, h, g);
    st->ngroups++;
    st->total.groups++;
    st->total.created++;
    s->stats.groups++;
    s->stats.created++;
    return g;
}

/* Find the group, or create it when create is set (NULL otherwise). */
static struct smem_group *
smem_group_get(struct smem_store *st, struct smem_slot *s, uint32_t slot, const char *key,
               size_t len, int create)
{
    uint64_t h;
    size_t pos;
    struct smem_group *g;

    if (len > SMEM_MAX_KEY) {
        len = SMEM_MAX_KEY; /* the engine hashes long keys down; this is a last guard */
    }
    h = smem_key_hash(st, slot, key, len);
    g = smem_lookup(st, slot, key, len, h, &pos);
    if (g == NULL && create) {
        g = smem_group_new(st, s, slot, key, len, h, s->initcap);
    }
    return g;
}

/*
 * Re-allocate g with room for newcap entries; a ring is unrolled (head becomes 0). Returns
 * the new address; links from the table and the list are moved over.
 */
static struct smem_group *
smem_group_grow(struct smem_store *st, struct smem_slot *s, struct smem_group *g,
                uint16_t newcap, int ring)
{
    struct smem_group *ng = smem_alloc(st, s, smem_group_size(s, g->keylen, newcap));
    struct smem_list_head *l;

    memcpy(ng, g, sizeof(*g) + smem_pad8(g->keylen) + s->aggsize);
    ng->cap = newcap;
    for (size_t i = 0; i < g->n; i++) {
        memcpy(smem_entry(s, ng, i), ring ? smem_ring(s, g, i) : smem_entry(s, g, i),
               s->esize);
    }
    ng->head = 0;
    st->tab[smem_tab_find(st, g)].g = ng;
    if (g->list != SMEM_LIST_NONE) {
        l = &s->lists[g->list];
        if (g->prev != NULL) {
            g->prev->next = ng;
        } else {
            l->head = ng;
        }
        if (g->next != NULL) {
            g->next->prev = ng;
        } else {
            l->tail = ng;
        }
    }
    smem_release(st, s, g);
    return ng;
}

/* Room for one more entry: grow by doubling up to the slot's bound. 1 if there is room. */
static int
smem_room(struct smem_store *st, struct smem_slot *s, struct smem_group **gp, int ring)
{
    struct smem_group *g = *gp;
    uint32_t cap;

    if (g->n < g->cap) {
        return 1;
    }
    if (g->cap >= s->maxe) {
        return 0;
    }
    cap = (uint32_t)g->cap * 2;
    if (cap < 2) {
        cap = 2;
    }
    if (cap > s->maxe) {
        cap = s->maxe;
    }
    *gp = smem_group_grow(st, s, g, (uint16_t)cap, ring);
    return 1;
}

static void
smem_truncated(struct smem_store *st, struct smem_slot *s)
{
    s->stats.truncated++;
    st->total.truncated++;
    s->truncated_unlogged++;
    smem_log_limits(st, s, "a group reached its entry bound (max_entries)");
}

/* --- results --- */

static void
smem_result_init(struct state_result *res)
{
    memset(res, 0, offsetof(struct state_result, ev));
    res->nev = 0;
}

static void
smem_result_key(struct smem_store *st, struct state_result *res, struct smem_group *g)
{
    buf_reset(&st->keybuf);
    buf_append(&st->keybuf, smem_key(g), g->keylen);
    res->slot = g->slot;
    res->key = buf_cstr(&st->keybuf);
    res->key_len = g->keylen;
}

static void
smem_result_fire(struct smem_store *st, struct smem_slot *s, struct state_result *res,
                 struct smem_group *g, int64_t t, int64_t start, int64_t last, uint64_t count)
{
    res->fired = 1;
    res->time_us = t;
    res->window_start_us = start;
    res->first_us = start;
    res->last_us = last;
    res->count = count;
    smem_result_key(st, res, g);
    s->stats.fired++;
    st->total.fired++;
}

static struct state_evidence *
smem_result_ev(struct smem_store *st, struct state_result *res, int64_t time, uint64_t ref)
{
    struct state_evidence *e;

    if (res->nev >= ALERT_MAX_EVIDENCE) {
        return NULL;
    }
    e = &res->ev[res->nev++];
    memset(e, 0, sizeof(*e));
    e->time_us = time;
    smem_ref_unpack(st, ref, &e->ref);
    return e;
}

static void
smem_absorbed(struct smem_store *st, struct smem_slot *s, struct state_result *res)
{
    res->absorbed = 1;
    s->stats.absorbed++;
    st->total.absorbed++;
}

/* After an alert at t: the suppression, and where the (now empty) group waits. */
static void
smem_after_fire(struct smem_store *st, struct smem_slot *s, struct smem_group *g, int64_t t,
                int64_t window_start)
{
    int64_t until = s->spec.suppress_us >= 0 ? t + s->spec.suppress_us
                                             : window_start + s->spec.timespan_us;

    g->n = 0;
    g->head = 0;
    memset(smem_aggp(g), 0, s->aggsize);
    if (until <= t) {
        smem_group_free(st, s, g);
        return;
    }
    g->suppress_until = until;
    if (!s->spec.at_close && s->spec.kind != STATE_ABSENCE && until <= t + s->spec.timespan_us) {
        smem_active_touch(st, s, g, t + s->spec.timespan_us);
    } else {
        smem_list_insert(st, s, g, SMEM_LIST_SUPPRESSED, until);
    }
}

static void
smem_note_time(struct smem_store *st, int64_t t)
{
    if (t > st->clock) {
        st->clock = t;
    }
}

/* --- STATE_WINDOW --- */

static double
smem_window_value(const struct smem_slot *s, uint64_t count, double sum)
{
    switch (s->spec.agg) {
    case STATE_AGG_SUM:
        return sum;
    case STATE_AGG_AVG:
        return count ? sum / (double)count : 0;
    default:
        return (double)count;
    }
}

static void
smem_window_evidence(struct smem_store *st, struct smem_slot *s, struct smem_group *g,
                     struct state_result *res)
{
    size_t from = g->n > ALERT_MAX_EVIDENCE ? g->n - ALERT_MAX_EVIDENCE : 0;

    for (size_t i = from; i < g->n; i++) {
        const struct smem_ev *e = smem_ring(s, g, i);
        struct state_evidence *ev = smem_result_ev(st, res, e->time, e->ref);
        if (ev != NULL && s->spec.agg != STATE_AGG_COUNT) {
            ev->has_num = 1;
            ev->num = ((const struct smem_evn *)e)->num;
        }
    }
}

static int
smem_window_add(struct state_store *base, uint32_t slot, const char *key, size_t len,
                const struct state_input *in, struct state_result *res)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s = smem_slot_get(st, slot);
    struct smem_group *g;
    int64_t t = in->time_us, T;
    struct smem_evn *e;
    uint64_t ref;

    smem_result_init(res);
    if (s == NULL || s->spec.kind != STATE_WINDOW) {
        return -1;
    }
    T = s->spec.timespan_us;
    smem_note_time(st, t);
    g = smem_group_get(st, s, slot, key, len, 1);
    if (g->suppress_until != SMEM_NONE && t < g->suppress_until) {
        smem_absorbed(st, s, res);
        return 0;
    }
    g->suppress_until = SMEM_NONE;
    ref = smem_ref_pack(st, &in->ref);

    if (s->spec.at_close) {
        struct smem_agg *a = smem_aggp(g);
        if (a->count == 0) {
            a->first = t;
            g->n = 0;
            g->head = 0;
            smem_list_insert(st, s, g, SMEM_LIST_TIMER, t + T);
        }
        a->count++;
        a->sum += in->num;
        a->last = t;
        /* Evidence ring of the most recent events. */
        if (!smem_room(st, s, &g, 1)) {
            g->head = (uint16_t)((g->head + 1) % g->cap);
            g->n--;
        }
        e = smem_ring(s, g, g->n);
        e->time = t;
        e->ref = ref;
        if (s->esize >= sizeof(struct smem_evn)) {
            e->num = in->num;
        }
        g->n++;
        return 0;
    }

    /* Sliding: events e with e + T <= t leave the window first. */
    {
        double *sum = s->aggsize ? smem_aggp(g) : NULL;
        while (g->n > 0) {
            struct smem_evn *old = smem_ring(s, g, 0);
            if (old->time + T > t) {
                break;
            }
            if (sum != NULL) {
                *sum -= old->num;
            }
            g->head = (uint16_t)((g->head + 1) % g->cap);
            g->n--;
        }
        if (g->n == 0) {
            g->head = 0;
            if (sum != NULL) {
                *sum = 0;
            }
        }
        if (!smem_room(st, s, &g, 1)) {
            struct smem_evn *old = smem_ring(s, g, 0);
            if (s->aggsize) {
                *(double *)smem_aggp(g) -= old->num;
            }
            g->head = (uint16_t)((g->head + 1) % g->cap);
            g->n--;
            smem_truncated(st, s);
        }
        e = smem_ring(s, g, g->n);
        e->time = t;
        e->ref = ref;
        g->n++;
        if (s->aggsize) {
            e->num = in->num;
            *(double *)smem_aggp(g) += in->num;
        }
    }
    {
        double sum = s->aggsize ? *(double *)smem_aggp(g) : 0;
        double x = smem_window_value(s, g->n, sum);
        if (state_cond_holds(&s->spec.cond, x)) {
            int64_t first = ((struct smem_ev *)smem_ring(s, g, 0))->time;
            smem_result_fire(st, s, res, g, t, first, t, g->n);
            if (s->spec.agg != STATE_AGG_COUNT) {
                res->has_value = 1;
                res->value = x;
            }
            smem_window_evidence(st, s, g, res);
            smem_after_fire(st, s, g, t, first);
            return 0;
        }
    }
    smem_active_touch(st, s, g, t + T);
    return 0;
}

/* --- STATE_DISTINCT --- */

static uint64_t
smem_value_hash(struct smem_store *st, const struct smem_slot *s, const struct state_input *in)
{
    if (s->spec.nsteps > 0) {
        return in->step;
    }
    return smem_hash(st, UINT64_C(0x5eed), in->val, in->val_len);
}

static void
smem_distinct_evidence(struct smem_store *st, struct smem_slot *s, struct smem_group *g,
                       struct state_result *res)
{
    size_t from = g->n > ALERT_MAX_EVIDENCE ? g->n - ALERT_MAX_EVIDENCE : 0;

    for (size_t i = from; i < g->n; i++) {
        const struct smem_val *v = smem_entry(s, g, i);
        struct state_evidence *ev = smem_result_ev(st, res, v->time, v->ref);
        if (ev == NULL) {
            break;
        }
        if (s->spec.nsteps > 0) {
            ev->step = (uint32_t)v->vhash;
        } else {
            char *dst = st->valbuf[res->nev - 1];
            memcpy(dst, v->val, v->len);
            dst[v->len] = '\0';
            ev->val = dst;
            ev->val_len = v->len;
        }
    }
}

static void
smem_distinct_drop(struct smem_slot *s, struct smem_group *g, size_t from, size_t n)
{
    memmove(smem_entry(s, g, from), smem_entry(s, g, from + n),
            (g->n - from - n) * s->esize);
    g->n = (uint16_t)(g->n - n);
}

static int
smem_distinct_add(struct state_store *base, uint32_t slot, const char *key, size_t len,
                  const struct state_input *in, struct state_result *res)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s = smem_slot_get(st, slot);
    struct smem_group *g;
    int64_t t = in->time_us, T;
    uint64_t vh;
    struct smem_val *v;
    size_t i, drop = 0;

    smem_result_init(res);
    if (s == NULL || s->spec.kind != STATE_DISTINCT) {
        return -1;
    }
    T = s->spec.timespan_us;
    smem_note_time(st, t);
    g = smem_group_get(st, s, slot, key, len, 1);
    if (g->suppress_until != SMEM_NONE && t < g->suppress_until) {
        smem_absorbed(st, s, res);
        return 0;
    }
    g->suppress_until = SMEM_NONE;
    vh = smem_value_hash(st, s, in);

    if (s->spec.at_close) {
        struct smem_agg *a = smem_aggp(g);
        if (a->count == 0) {
            a->first = t;
            g->n = 0;
            smem_list_insert(st, s, g, SMEM_LIST_TIMER, t + T);
        }
        a->count++;
        a->last = t;
    } else {
        /* Entries are kept in order of last sighting: expired ones are a prefix. */
        while (drop < g->n && ((struct smem_val *)smem_entry(s, g, drop))->time + T <= t) {
            drop++;
        }
        if (drop > 0) {
            smem_distinct_drop(s, g, 0, drop);
        }
    }
    for (i = 0; i < g->n; i++) {
        if (((struct smem_val *)smem_entry(s, g, i))->vhash == vh) {
            smem_distinct_drop(s, g, i, 1);
            break;
        }
    }
    if (!smem_room(st, s, &g, 0)) {
        smem_distinct_drop(s, g, 0, 1);
        smem_truncated(st, s);
    }
    v = smem_entry(s, g, g->n++);
    v->vhash = vh;
    v->time = t;
    v->ref = smem_ref_pack(st, &in->ref);
    v->len = 0;
    if (s->esize >= sizeof(struct smem_val) && in->val != NULL) {
        v->len = (uint8_t)(in->val_len > SMEM_VAL_MAX ? SMEM_VAL_MAX : in->val_len);
        memcpy(v->val, in->val, v->len);
    }
    if (s->spec.at_close) {
        return 0;
    }
    if (state_cond_holds(&s->spec.cond, (double)g->n)) {
        int64_t first = ((struct smem_val *)smem_entry(s, g, 0))->time;
        smem_result_fire(st, s, res, g, t, first, t, g->n);
        res->has_value = 1;
        res->value = (double)g->n;
        smem_distinct_evidence(st, s, g, res);
        smem_after_fire(st, s, g, t, first);
        return 0;
    }
    smem_active_touch(st, s, g, t + T);
    return 0;
}

/* --- STATE_SEQUENCE: level k holds the latest-starting partial match of steps 0..k --- */

static struct smem_ev *
smem_seq_ref(const struct smem_slot *s, struct smem_group *g, size_t level, size_t i)
{
    return smem_entry(s, g, level * (level + 1) / 2 + i);
}

static int
smem_sequence_advance(struct state_store *base, uint32_t slot, const char *key, size_t len,
                      const struct state_input *in, struct state_result *res)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s = smem_slot_get(st, slot);
    struct smem_group *g;
    int64_t t = in->time_us, T, *start;
    uint32_t n, k = in->step;
    struct smem_ev *r;

    smem_result_init(res);
    if (s == NULL || s->spec.kind != STATE_SEQUENCE || in->step >= s->spec.nsteps) {
        return -1;
    }
    n = s->spec.nsteps;
    T = s->spec.timespan_us;
    smem_note_time(st, t);
    /* A step other than the first cannot start anything: do not create a group for it. */
    g = smem_group_get(st, s, slot, key, len, k == 0);
    if (g == NULL) {
        return 0;
    }
    if (g->suppress_until != SMEM_NONE && t < g->suppress_until) {
        smem_absorbed(st, s, res);
        return 0;
    }
    g->suppress_until = SMEM_NONE;
    start = smem_aggp(g);
    if (g->n == 0) {
        /* A fresh group: no level holds a partial match yet. */
        for (uint32_t j = 0; j < n; j++) {
            start[j] = SMEM_NONE;
        }
        g->n = g->cap;
    }
    for (uint32_t j = 0; j < n; j++) {
        if (start[j] != SMEM_NONE && start[j] + T <= t) {
            start[j] = SMEM_NONE;
        }
    }
    if (k == 0) {
        start[0] = t;
        r = smem_seq_ref(s, g, 0, 0);
        r->time = t;
        r->ref = smem_ref_pack(st, &in->ref);
    } else if (start[k - 1] != SMEM_NONE && (start[k] == SMEM_NONE || start[k - 1] >= start[k])) {
        start[k] = start[k - 1];
        memcpy(smem_seq_ref(s, g, k, 0), smem_seq_ref(s, g, k - 1, 0), k * s->esize);
        r = smem_seq_ref(s, g, k, k);
        r->time = t;
        r->ref = smem_ref_pack(st, &in->ref);
    }
    if (start[n - 1] != SMEM_NONE) {
        int64_t first = start[n - 1];
        smem_result_fire(st, s, res, g, t, first, t, n);
        for (uint32_t i = n > ALERT_MAX_EVIDENCE ? n - ALERT_MAX_EVIDENCE : 0; i < n; i++) {
            const struct smem_ev *e = smem_seq_ref(s, g, n - 1, i);
            struct state_evidence *ev = smem_result_ev(st, res, e->time, e->ref);
            if (ev != NULL) {
                ev->step = i;
            }
        }
        for (uint32_t j = 0; j < n; j++) {
            start[j] = SMEM_NONE;
        }
        smem_after_fire(st, s, g, t, first);
        return 0;
    }
    {
        int any = 0;
        for (uint32_t j = 0; j < n; j++) {
            any |= start[j] != SMEM_NONE;
        }
        if (!any) {
            smem_group_free(st, s, g);
            return 0;
        }
    }
    smem_active_touch(st, s, g, t + T);
    return 0;
}

/* --- STATE_ABSENCE --- */

static int
smem_absence_touch(struct state_store *base, uint32_t slot, const char *key, size_t len,
                   const struct state_input *in, struct state_result *res)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s = smem_slot_get(st, slot);
    struct smem_group *g;
    struct smem_agg *a;
    struct smem_ev *e;
    int64_t t = in->time_us, T;
    int heartbeat;

    smem_result_init(res);
    if (s == NULL || s->spec.kind != STATE_ABSENCE || in->step >= s->spec.nsteps) {
        return -1;
    }
    T = s->spec.timespan_us;
    heartbeat = s->spec.nsteps == 1;
    smem_note_time(st, t);
    g = smem_group_get(st, s, slot, key, len, heartbeat || in->step == 0);
    if (g == NULL) {
        return 0; /* an expected event with nothing pending */
    }
    a = smem_aggp(g);
    if (!heartbeat && in->step == 1) {
        if (g->list != SMEM_LIST_TIMER) {
            return 0;
        }
        /* The expected event arrived within the window: the pending trigger is answered. */
        a->count = 0;
        g->n = 0;
        g->head = 0;
        if (g->suppress_until != SMEM_NONE && g->suppress_until > t) {
            smem_list_insert(st, s, g, SMEM_LIST_SUPPRESSED, g->suppress_until);
        } else {
            smem_group_free(st, s, g);
        }
        return 0;
    }
    if (!heartbeat && g->suppress_until != SMEM_NONE && t < g->suppress_until) {
        smem_absorbed(st, s, res);
        return 0;
    }
    if (g->list != SMEM_LIST_TIMER) {
        /* Arm: a heartbeat after silence, or a trigger with nothing pending. */
        a->count = 0;
        a->first = t;
        g->n = 0;
        g->head = 0;
        smem_list_insert(st, s, g, SMEM_LIST_TIMER, t + T);
    } else if (heartbeat) {
        smem_list_insert(st, s, g, SMEM_LIST_TIMER, t + T);
    }
    a->count++;
    a->last = t;
    if (heartbeat) {
        a->first = t;
    }
    if (!smem_room(st, s, &g, 1)) {
        g->head = (uint16_t)((g->head + 1) % g->cap);
        g->n--;
    }
    e = smem_ring(s, g, g->n);
    e->time = t;
    e->ref = smem_ref_pack(st, &in->ref);
    g->n++;
    return 0;
}

/* --- timers --- */

static void
smem_due_compute(struct smem_store *st)
{
    st->due_us = INT64_MAX;
    st->due_slot = 0;
    for (size_t i = 0; i < st->nslots; i++) {
        struct smem_group *h = st->slots[i].lists[SMEM_LIST_TIMER].head;
        if (st->slots[i].open && h != NULL && h->deadline < st->due_us) {
            st->due_us = h->deadline;
            st->due_slot = (uint32_t)i;
        }
    }
    st->due_valid = 1;
}

static int64_t
smem_next_due(struct state_store *base)
{
    struct smem_store *st = (struct smem_store *)base;

    if (!st->due_valid) {
        smem_due_compute(st);
    }
    return st->due_us;
}

static void
smem_fire_window(struct smem_store *st, struct smem_slot *s, struct smem_group *g, int64_t d,
                 struct state_result *res)
{
    struct smem_agg *a = smem_aggp(g);
    uint64_t count;
    double x;

    if (s->spec.kind == STATE_DISTINCT) {
        count = g->n;
        x = (double)count;
    } else {
        count = a->count;
        x = smem_window_value(s, a->count, a->sum);
    }
    if (!state_cond_holds(&s->spec.cond, x)) {
        smem_group_free(st, s, g);
        return;
    }
    smem_result_fire(st, s, res, g, d, a->first, a->last, count);
    if (s->spec.kind == STATE_DISTINCT || s->spec.agg != STATE_AGG_COUNT) {
        res->has_value = 1;
        res->value = x;
    }
    if (s->spec.kind == STATE_DISTINCT) {
        smem_distinct_evidence(st, s, g, res);
    } else {
        smem_window_evidence(st, s, g, res);
    }
    smem_after_fire(st, s, g, d, a->first);
}

static void
smem_fire_absence(struct smem_store *st, struct smem_slot *s, struct smem_group *g, int64_t d,
                  struct state_result *res)
{
    struct smem_agg *a = smem_aggp(g);
    int heartbeat = s->spec.nsteps == 1;

    if (g->suppress_until != SMEM_NONE && d < g->suppress_until) {
        /* Suppressed: nothing is raised; the group waits out its suppression. */
        smem_absorbed(st, s, res);
        a->count = 0;
        g->n = 0;
        g->head = 0;
        smem_list_insert(st, s, g, SMEM_LIST_SUPPRESSED, g->suppress_until);
        return;
    }
    smem_result_fire(st, s, res, g, d, a->first, a->last, heartbeat ? 0 : a->count);
    for (size_t i = 0; i < g->n; i++) {
        const struct smem_ev *e = smem_ring(s, g, i);
        smem_result_ev(st, res, e->time, e->ref);
    }
    g->suppress_until = SMEM_NONE;
    if (s->spec.suppress_us > 0) {
        g->n = 0;
        g->head = 0;
        a->count = 0;
        g->suppress_until = d + s->spec.suppress_us;
        smem_list_insert(st, s, g, SMEM_LIST_SUPPRESSED, g->suppress_until);
    } else {
        smem_group_free(st, s, g);
    }
}

static int
smem_fire_due(struct state_store *base, int64_t upto, struct state_result *res)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s;
    struct smem_group *g;
    int64_t d = smem_next_due(base);

    smem_result_init(res);
    if (d == INT64_MAX || d > upto) {
        return 0;
    }
    s = &st->slots[st->due_slot];
    g = s->lists[SMEM_LIST_TIMER].head;
    smem_note_time(st, d);
    smem_list_unlink(st, s, g);
    res->time_us = d;
    res->slot = g->slot;
    if (s->spec.kind == STATE_ABSENCE) {
        smem_fire_absence(st, s, g, d, res);
    } else {
        smem_fire_window(st, s, g, d, res);
    }
    return 1;
}

/* --- expiry --- */

static void
smem_expire(struct state_store *base, int64_t wm)
{
    struct smem_store *st = (struct smem_store *)base;
    int64_t next = INT64_MAX;

    smem_note_time(st, wm);
    if (wm < st->next_expire) {
        return;
    }
    for (size_t i = 0; i < st->nslots; i++) {
        struct smem_slot *s = &st->slots[i];
        if (!s->open) {
            continue;
        }
        for (int l = SMEM_LIST_ACTIVE; l <= SMEM_LIST_SUPPRESSED; l++) {
            struct smem_group *g;
            while ((g = l == SMEM_LIST_ACTIVE ? smem_active_head(st, s) : s->lists[l].head) !=
                       NULL &&
                   g->deadline <= wm) {
                s->stats.expired++;
                st->total.expired++;
                smem_group_free(st, s, g);
            }
            if (g != NULL && g->deadline < next) {
                next = g->deadline;
            }
        }
    }
    st->next_expire = next;
}

/* --- slots --- */

static void
smem_slot_drop(struct state_store *base, uint32_t slot)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s = smem_slot_get(st, slot);

    if (s == NULL) {
        return;
    }
    for (int l = SMEM_LIST_ACTIVE; l <= SMEM_LIST_TIMER; l++) {
        while (s->lists[l].head != NULL) {
            smem_group_free(st, s, s->lists[l].head);
        }
    }
    /* A group in no list (never, between calls) would still be found through the table. */
    for (size_t i = 0; s->stats.groups > 0 && i < st->tabcap; i++) {
        struct smem_group *g = st->tab[i].g;
        if (g != NULL && g->slot == slot) {
            smem_group_free(st, s, g);
            i--; /* an entry may have shifted into i */
        }
    }
    free(s->rule_id);
    memset(s, 0, sizeof(*s));
    st->due_valid = 0;
}

static int
smem_slot_open(struct state_store *base, uint32_t slot, const struct state_slot_spec *spec)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s;
    uint32_t maxe = spec->max_entries ? spec->max_entries : SMEM_DEFAULT_ENTRIES;

    if (slot >= (1u << 24) || spec->timespan_us <= 0) {
        return -1;
    }
    if ((spec->kind == STATE_SEQUENCE && (spec->nsteps < 1 || spec->nsteps > SMEM_MAX_STEPS)) ||
        (spec->kind == STATE_ABSENCE && (spec->nsteps < 1 || spec->nsteps > 2))) {
        return -1;
    }
    if (slot >= st->nslots) {
        size_t n = slot + 1;
        st->slots = xreallocarray(st->slots, n, sizeof(*st->slots));
        memset(st->slots + st->nslots, 0, (n - st->nslots) * sizeof(*st->slots));
        st->nslots = n;
    }
    smem_slot_drop(base, slot);
    s = &st->slots[slot];
    s->open = 1;
    s->spec = *spec;
    s->rule_id = xstrdup(spec->rule_id ? spec->rule_id : "?");
    s->spec.rule_id = s->rule_id;
    if (maxe > SMEM_MAX_ENTRIES) {
        maxe = SMEM_MAX_ENTRIES;
    }
    switch (spec->kind) {
    case STATE_WINDOW:
        s->esize = spec->agg == STATE_AGG_COUNT ? sizeof(struct smem_ev)
                                                : sizeof(struct smem_evn);
        if (spec->at_close) {
            s->aggsize = sizeof(struct smem_agg);
            maxe = ALERT_MAX_EVIDENCE;
        } else {
            s->aggsize = spec->agg == STATE_AGG_COUNT ? 0 : sizeof(double);
        }
        break;
    case STATE_DISTINCT:
        s->esize = sizeof(struct smem_val);
        s->aggsize = spec->at_close ? sizeof(struct smem_agg) : 0;
        if (spec->nsteps > 0) {
            /* Steps need no value copy; one entry per step at most. */
            s->esize = offsetof(struct smem_val, len) + 8;
            maxe = spec->nsteps;
        }
        break;
    case STATE_SEQUENCE:
        s->esize = sizeof(struct smem_ev);
        s->aggsize = spec->nsteps * sizeof(int64_t);
        maxe = spec->nsteps * (spec->nsteps + 1) / 2;
        break;
    case STATE_ABSENCE:
        s->esize = sizeof(struct smem_ev);
        s->aggsize = sizeof(struct smem_agg);
        maxe = spec->nsteps == 1 ? 1 : ALERT_MAX_EVIDENCE;
        break;
    }
    s->maxe = (uint16_t)maxe;
    s->initcap = spec->kind == STATE_SEQUENCE ? s->maxe : (uint16_t)(maxe < 2 ? maxe : 2);
    return 0;
}

/* --- stats and dump --- */

static void
smem_stats(struct state_store *base, uint32_t slot, struct state_stats *out)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s;

    if (slot == UINT32_MAX) {
        *out = st->total;
        return;
    }
    s = smem_slot_get(st, slot);
    if (s == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = s->stats;
}

static void
smem_dump_time(struct buf *out, const char *name, int64_t us)
{
    char when[32];

    buf_printf(out, ",\"%s\":", name);
    if (us == SMEM_NONE || us == INT64_MAX) {
        buf_puts(out, "null");
        return;
    }
    time_format_rfc3339(us, when);
    buf_printf(out, "\"%s\"", when);
}

static void
smem_dump_group(struct smem_store *st, struct smem_slot *s, struct smem_group *g,
                struct buf *out)
{
    static const char *const list_names[] = {"none", "active", "suppressed", "pending"};
    struct smem_agg *a = smem_aggp(g);
    int64_t start = SMEM_NONE, last = SMEM_NONE;
    uint64_t count = 0;
    int has_value = 0;
    double value = 0;

    buf_puts(out, "{\"group\":");
    buf_json_string(out, smem_key(g), g->keylen);
    buf_printf(out, ",\"state\":\"%s\"", list_names[g->list]);
    switch (s->spec.kind) {
    case STATE_WINDOW:
        if (s->spec.at_close) {
            if (a->count > 0) {
                start = a->first;
                last = a->last;
            }
            count = a->count;
            value = smem_window_value(s, a->count, a->sum);
        } else {
            double sum = s->aggsize ? *(double *)smem_aggp(g) : 0;
            if (g->n > 0) {
                start = ((struct smem_ev *)smem_ring(s, g, 0))->time;
                last = ((struct smem_ev *)smem_ring(s, g, g->n - 1))->time;
            }
            count = g->n;
            value = smem_window_value(s, g->n, sum);
        }
        has_value = s->spec.agg != STATE_AGG_COUNT;
        break;
    case STATE_DISTINCT:
        if (g->n > 0) {
            start = s->spec.at_close ? a->first : ((struct smem_val *)smem_entry(s, g, 0))->time;
            last = ((struct smem_val *)smem_entry(s, g, g->n - 1))->time;
        }
        count = g->n;
        break;
    case STATE_SEQUENCE: {
        const int64_t *st0 = smem_aggp(g);
        uint32_t steps = 0;
        if (g->n > 0) {
            for (uint32_t j = 0; j < s->spec.nsteps; j++) {
                if (st0[j] != SMEM_NONE) {
                    steps = j + 1;
                    start = st0[j];
                }
            }
        }
        count = steps;
        break;
    }
    case STATE_ABSENCE:
        if (g->list == SMEM_LIST_TIMER) {
            start = a->first;
            last = a->last;
            count = a->count;
        }
        break;
    }
    buf_printf(out, ",\"count\":%" PRIu64, count);
    if (has_value) {
        buf_printf(out, ",\"value\":%.17g", value);
    }
    smem_dump_time(out, "window_start", start);
    smem_dump_time(out, "last", last);
    smem_dump_time(out, "suppressed_until", g->suppress_until);
    smem_dump_time(out, g->list == SMEM_LIST_TIMER ? "due" : "expires", g->deadline);
    buf_putc(out, '}');
    (void)st;
}

static int
smem_dump_slot(struct state_store *base, uint32_t slot, struct buf *out)
{
    struct smem_store *st = (struct smem_store *)base;
    struct smem_slot *s = smem_slot_get(st, slot);
    int first = 1;

    buf_putc(out, '[');
    if (s != NULL) {
        static const int order[] = {SMEM_LIST_ACTIVE, SMEM_LIST_TIMER, SMEM_LIST_SUPPRESSED};
        for (size_t l = 0; l < 3; l++) {
            for (struct smem_group *g = s->lists[order[l]].head; g != NULL; g = g->next) {
                if (!first) {
                    buf_putc(out, ',');
                }
                first = 0;
                smem_dump_group(st, s, g, out);
            }
        }
    }
    buf_putc(out, ']');
    return s != NULL ? 0 : -1;
}

/* --- lifecycle --- */

static void
smem_free(struct state_store *base)
{
    struct smem_store *st = (struct smem_store *)base;

    for (size_t i = 0; i < st->nslots; i++) {
        smem_slot_drop(base, (uint32_t)i);
    }
    for (size_t i = 1; i < st->nsources; i++) {
        free(st->sources[i].name);
    }
    free(st->sources);
    free(st->src_index);
    free(st->slots);
    free(st->tab);
    buf_free(&st->keybuf);
    free(st);
}

/* A new in-memory store with these limits (NULL or 0: defaults); free with state_free(). */
struct state_store *
state_memory_new(const struct state_limits *limits)
{
    struct smem_store *st = xcalloc(1, sizeof(*st));

    st->base.be = &smem_backend;
    if (limits != NULL) {
        st->lim = *limits;
    }
    if (st->lim.max_groups_per_slot == 0) {
        st->lim.max_groups_per_slot = 1000000;
    }
    if (st->lim.max_groups_total == 0) {
        st->lim.max_groups_total = 4000000;
    }
    /* The seed only shapes the hash table; no result depends on it. */
    if (getrandom(st->seed, sizeof(st->seed), GRND_NONBLOCK) != (ssize_t)sizeof(st->seed)) {
        st->seed[0] = (uint64_t)(uintptr_t)st ^ UINT64_C(0x9e3779b97f4a7c15);
        st->seed[1] = (uint64_t)(uintptr_t)&st ^ UINT64_C(0xc2b2ae3d27d4eb4f);
    }
    st->clock = INT64_MIN;
    st->next_expire = INT64_MAX;
    st->due_us = INT64_MAX;
    st->due_valid = 1;
    st->sources = xcalloc(1, sizeof(*st->sources));
    st->nsources = 1;
    smem_table_grow(st);
    return &st->base;
}

static const struct state_backend smem_backend = {
    .name = "memory",
    .free = smem_free,
    .slot_open = smem_slot_open,
    .slot_drop = smem_slot_drop,
    .window_add = smem_window_add,
    .distinct_add = smem_distinct_add,
    .sequence_advance = smem_sequence_advance,
    .absence_touch = smem_absence_touch,
    .next_due = smem_next_due,
    .fire_due = smem_fire_due,
    .expire = smem_expire,
    .stats = smem_stats,
    .dump_slot = smem_dump_slot,
};
