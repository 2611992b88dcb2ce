/*
 * Partner delivery: the spool (spool.c) in front of a transport (deliver-*.c), driven by the
 * libuv loop (deliver.h; docs/DELIVERY.md).
 *
 * deliver_submit() appends to the spool and kicks the pump. The pump (an idle handle, so
 * it runs outside callers' stacks) acknowledges finished records at the head of the window
 * in spool order, reads more records into the window (at most max_in_flight records and
 * DELIVER_WINDOW_BYTES), and sends queued ones in order unless a backoff is running. A
 * transient failure puts the record back in the queue and starts a backoff (exponential,
 * with jitter); when it ends the queued records are sent again, oldest first.
 *
 * A timer runs spool_sync_prepare/run/finish every spool.fsync_interval, the fsync on the
 * libuv threadpool.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deliver-int.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define DELIVER_WINDOW_BYTES (16u << 20) /* bytes of records read ahead into the window */
#define DELIVER_NHANDLES 5
#define DELIVER_MAX_PRIVATE_FILE (64 * 1024)
#define DELIVER_SYNC_MIN_MS 1000 /* cursor save interval when fsync_interval is 0 */

enum deliver_state {
    DELIVER_RUNNING,
    DELIVER_DRAINING, /* deliver_stop(): delivering what is left, up to drain_timeout */
    DELIVER_CLOSING,  /* transport closing, final sync, handles closing */
    DELIVER_CLOSED,
};

/* Keys every transport has (docs/DELIVERY.md). */
struct deliver_common {
    char *type;
    int64_t retry_initial_us;
    int64_t retry_max_us;
    int64_t drain_timeout_us;
    int64_t max_in_flight;
    int64_t spool_max_bytes;
    int64_t spool_segment_bytes;
    int64_t spool_max_record;
    int64_t spool_fsync_us;
    int spool_policy;
};

static const char *const deliver_policies[] = {"block", "drop_oldest", NULL};

static const struct deliver_key deliver_retry_keys[] = {
    {"initial", DK_DURATION, "1s", 1000, INT64_C(3600000000),
     offsetof(struct deliver_common, retry_initial_us), NULL, NULL, 0,
     "first wait after a failure; doubled after each failure"},
    {"max", DK_DURATION, "60s", 1000, INT64_C(86400000000),
     offsetof(struct deliver_common, retry_max_us), NULL, NULL, 0, "longest wait"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

static const struct deliver_key deliver_spool_keys[] = {
    {"max_bytes", DK_SIZE, "1GiB", 64 * 1024, INT64_C(1) << 50,
     offsetof(struct deliver_common, spool_max_bytes), NULL, NULL, 0,
     "limit of the partner's spool on disk"},
    {"segment_bytes", DK_SIZE, "16MiB", 4096, INT64_C(1) << 30,
     offsetof(struct deliver_common, spool_segment_bytes), NULL, NULL, 0,
     "size of one segment file (at most max_bytes/4)"},
    {"max_record", DK_SIZE, "16MiB", 1024, SPOOL_FORMAT_MAX_DATA,
     offsetof(struct deliver_common, spool_max_record), NULL, NULL, 0,
     "largest formatted alert accepted"},
    {"fsync_interval", DK_DURATION, "1s", 0, INT64_C(3600000000),
     offsetof(struct deliver_common, spool_fsync_us), NULL, NULL, 0,
     "fsync the spool this often; 0: after every record (slow)"},
    {"policy", DK_ENUM, "block", 0, 0, offsetof(struct deliver_common, spool_policy),
     deliver_policies, NULL, 0, "when full: block (backpressure) or drop_oldest"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

static const struct deliver_key deliver_common_keys[] = {
    {"type", DK_STRING, NULL, 0, 0, offsetof(struct deliver_common, type), NULL, NULL, 1,
     "transport: file, kafka, http, redis, syslog"},
    {"retry", DK_TABLE, NULL, 0, 0, 0, NULL, deliver_retry_keys, 0, "backoff"},
    {"spool", DK_TABLE, NULL, 0, 0, 0, NULL, deliver_spool_keys, 0, "the on-disk spool"},
    {"drain_timeout", DK_DURATION, "5s", 0, INT64_C(3600000000),
     offsetof(struct deliver_common, drain_timeout_us), NULL, NULL, 0,
     "at shutdown, keep delivering this long"},
    {"max_in_flight", DK_INT, "0", 0, 100000, offsetof(struct deliver_common, max_in_flight), NULL,
     NULL, 0, "records sent and not yet confirmed; 0: the transport's default"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

/* clang-format off */
static const struct deliver_transport *const deliver_transports[] = {
    &deliver_file_transport,
    &deliver_http_transport,
    &deliver_kafka_transport,
    &deliver_redis_transport,
    &deliver_syslog_transport,
    NULL,
};
/* clang-format on */

struct deliver {
    uv_loop_t *loop;
    char *partner;
    char *tag; /* "partner 'NAME'" */
    char *spool_dir;
    char *rejected_path;
    struct deliver_common cc;
    const struct deliver_transport *tp;
    void *tconf;
    void *tstate;
    struct spool *sp;
    enum deliver_state state;

    /* the window: records read from the spool, in spool order */
    struct deliver_rec **win;
    size_t win_cap; /* max_in_flight */
    size_t win_head;
    size_t win_len;
    uint64_t win_bytes;
    uint64_t in_flight;
    int pumping;
    int pump_again;
    int read_blocked; /* a spool read failed: wait for the retry timer */

    /* failures */
    int backing_off;
    uint64_t streak; /* backoff rounds since the last success */
    int up;
    uint64_t rng;

    /* handles */
    uv_idle_t kick;
    uv_timer_t retry_timer;
    uv_timer_t sync_timer;
    uv_timer_t drain_timer;
    uv_timer_t writable_timer;
    int handles_open;
    uv_work_t sync_work;
    struct spool_sync *sync_job;

    /* deliver_submit() refusals */
    deliver_writable_cb wcb;
    void *warg;
    int want_room; /* -EAGAIN was returned: notify when this many bytes fit */
    size_t want_id_len;
    size_t want_len;
    int notify; /* call wcb at the end of the current kick */

    deliver_done_cb done;
    void *done_arg;
    int free_on_close;

    struct deliver_stats st;
};

static void deliver_kick(struct deliver *d);
static void deliver_close_begin(struct deliver *d);
static void deliver_close_continue(struct deliver *d);

/* Configuration */

void
deliver_conf_error(const struct deliver_ctx *cx, const struct ynode *node, struct errlist *errs,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (node == NULL) {
        node = cx->node;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errlist_add(errs, cx->conf_file != NULL ? cx->conf_file : "<config>",
                node != NULL ? node->line : 0, node != NULL ? node->col : 0, "partner '%s': %s",
                cx->partner != NULL ? cx->partner : "?", msg);
}

static int
deliver_parse_size(const char *s, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    double mult = 1;

    if (end == s || v < 0) {
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        mult = 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mult = 1024.0 * 1024;
        end++;
    } else if (*end == 'g' || *end == 'G') {
        mult = 1024.0 * 1024 * 1024;
        end++;
    } else if (*end == 't' || *end == 'T') {
        mult = 1024.0 * 1024 * 1024 * 1024;
        end++;
    }
    if (mult > 1 && *end == 'i') {
        end++;
    }
    if (*end == 'B' || *end == 'b') {
        end++;
    }
    if (*end != '\0' || v * mult > 9.0e18) {
        return -1;
    }
    *out = (int64_t)(v * mult);
    return 0;
}

static int
deliver_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};

    for (size_t i = 0; yes[i] != NULL; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static char *
deliver_resolve_path(const struct deliver_ctx *cx, const char *s)
{
    if (s[0] == '/' || strcmp(s, "-") == 0 || cx->conf_dir == NULL || cx->conf_dir[0] == '\0') {
        return xstrdup(s);
    }
    return xasprintf("%s/%s", cx->conf_dir, s);
}

static void deliver_keys_defaults(const struct deliver_key *keys, const struct deliver_ctx *cx,
                                  void *base);

/* Parse one scalar text s for key k into base; node for messages. 0 or -1. */
static int
deliver_key_set(const struct deliver_key *k, const char *s, const struct ynode *node,
                const char *name, const struct deliver_ctx *cx, void *base, struct errlist *errs)
{
    char *slot = (char *)base + k->off;
    int64_t v = 0;
    char *end;

    switch (k->type) {
    case DK_STRING:
    case DK_PATH:
        if (s[0] == '\0') {
            deliver_conf_error(cx, node, errs, "%s: must not be empty", name);
            return -1;
        }
        free(*(char **)slot);
        *(char **)slot = k->type == DK_PATH ? deliver_resolve_path(cx, s) : xstrdup(s);
        return 0;
    case DK_BOOL:
        if (deliver_parse_bool(s, (int *)slot) != 0) {
            deliver_conf_error(cx, node, errs, "%s: expected true or false, got \"%s\"", name, s);
            return -1;
        }
        return 0;
    case DK_ENUM:
        for (int i = 0; k->enums[i] != NULL; i++) {
            if (strcmp(s, k->enums[i]) == 0) {
                *(int *)slot = i;
                return 0;
            }
        }
        deliver_conf_error(cx, node, errs, "%s: unknown value \"%s\"", name, s);
        return -1;
    case DK_INT:
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0') {
            deliver_conf_error(cx, node, errs, "%s: expected an integer, got \"%s\"", name, s);
            return -1;
        }
        break;
    case DK_DURATION:
        if (time_parse_duration(s, &v) != 0) {
            deliver_conf_error(cx, node, errs,
                               "%s: expected a duration (\"500ms\", \"10s\"), "
                               "got \"%s\"",
                               name, s);
            return -1;
        }
        break;
    case DK_SIZE:
        if (deliver_parse_size(s, &v) != 0) {
            deliver_conf_error(cx, node, errs,
                               "%s: expected a size (\"64KiB\", \"1GiB\"), "
                               "got \"%s\"",
                               name, s);
            return -1;
        }
        break;
    case DK_PROPS:
    case DK_TABLE:
        deliver_conf_error(cx, node, errs, "%s: expected a map", name);
        return -1;
    }
    if (v < k->min || v > k->max) {
        deliver_conf_error(cx, node, errs, "%s: %s is out of range", name, s);
        return -1;
    }
    *(int64_t *)slot = v;
    return 0;
}

static void
deliver_keys_defaults(const struct deliver_key *keys, const struct deliver_ctx *cx, void *base)
{
    struct errlist ignore = {NULL, 0};

    for (const struct deliver_key *k = keys; k->name != NULL; k++) {
        if (k->type == DK_TABLE) {
            deliver_keys_defaults(k->sub, cx, base);
        } else if (k->def != NULL) {
            deliver_key_set(k, k->def, NULL, k->name, cx, base, &ignore);
        }
    }
    assert(ignore.n == 0); /* defaults in the tables must parse */
    errlist_free(&ignore);
}

static int
deliver_key_parse_props(const struct deliver_key *k, const struct ynode *v, const char *name,
                        const struct deliver_ctx *cx, void *base, struct errlist *errs)
{
    char ***slot = (char ***)((char *)base + k->off);
    char **props;
    size_t n = 0;

    if (v->type != YNODE_MAP) {
        deliver_conf_error(cx, v, errs, "%s: expected a map, got a %s", name, ynode_type_name(v));
        return -1;
    }
    props = xcalloc(2 * v->n + 1, sizeof(*props));
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i]->type != YNODE_SCALAR) {
            deliver_conf_error(cx, v->items[i], errs, "%s.%s: expected a scalar", name,
                               v->keys[i]->str);
            continue;
        }
        props[n++] = xstrdup(v->keys[i]->str);
        props[n++] = xstrdup(v->items[i]->str);
    }
    *slot = props;
    return n == 2 * v->n ? 0 : -1;
}

int
deliver_keys_parse(const struct deliver_key *keys, const struct ynode *node, const char *prefix,
                   const char *const *skip, const struct deliver_ctx *cx, void *base,
                   struct errlist *errs)
{
    int r = 0;

    deliver_keys_defaults(keys, cx, base);
    if (node == NULL) {
        node = cx->node;
    }
    if (node->type != YNODE_MAP) {
        deliver_conf_error(cx, node, errs, "%s: expected a map, got a %s", prefix,
                           ynode_type_name(node));
        return -1;
    }
    for (size_t i = 0; i < node->n; i++) {
        const struct ynode *kn = node->keys[i], *v = node->items[i];
        const struct deliver_key *k = NULL;
        char name[256];
        int skipped = 0;

        for (size_t j = 0; j < i; j++) {
            if (strcmp(node->keys[j]->str, kn->str) == 0) {
                deliver_conf_error(cx, kn, errs, "%s.%s: duplicate key", prefix, kn->str);
                r = -1;
            }
        }
        snprintf(name, sizeof(name), "%s.%s", prefix, kn->str);
        for (const struct deliver_key *c = keys; c->name != NULL; c++) {
            if (strcmp(c->name, kn->str) == 0) {
                k = c;
                break;
            }
        }
        for (size_t j = 0; k == NULL && skip != NULL && skip[j] != NULL; j++) {
            skipped = strcmp(skip[j], kn->str) == 0;
            if (skipped) {
                break;
            }
        }
        if (k == NULL) {
            if (!skipped) {
                deliver_conf_error(cx, kn, errs, "%s: unknown key", name);
                r = -1;
            }
            continue;
        }
        if (k->type == DK_TABLE) {
            if (deliver_keys_parse(k->sub, v, name, NULL, cx, base, errs) != 0) {
                r = -1;
            }
            continue;
        }
        if (k->type == DK_PROPS) {
            if (deliver_key_parse_props(k, v, name, cx, base, errs) != 0) {
                r = -1;
            }
            continue;
        }
        if (v->type != YNODE_SCALAR) {
            deliver_conf_error(cx, v, errs, "%s: expected a scalar, got a %s", name,
                               ynode_type_name(v));
            r = -1;
            continue;
        }
        if (deliver_key_set(k, v->str, v, name, cx, base, errs) != 0) {
            r = -1;
        }
    }
    for (const struct deliver_key *k = keys; k->name != NULL; k++) {
        if (k->required && ynode_get(node, k->name) == NULL) {
            deliver_conf_error(cx, node, errs, "%s: missing key '%s'", prefix, k->name);
            r = -1;
        }
    }
    return r;
}

void
deliver_keys_free(const struct deliver_key *keys, void *base)
{
    if (base == NULL) {
        return;
    }
    for (const struct deliver_key *k = keys; k->name != NULL; k++) {
        char *slot = (char *)base + k->off;
        if (k->type == DK_STRING || k->type == DK_PATH) {
            free(*(char **)slot);
            *(char **)slot = NULL;
        } else if (k->type == DK_PROPS) {
            char **props = *(char ***)slot;
            for (size_t i = 0; props != NULL && props[i] != NULL; i++) {
                free(props[i]);
            }
            free(props);
            *(char ***)slot = NULL;
        } else if (k->type == DK_TABLE) {
            deliver_keys_free(k->sub, base);
        }
    }
}

int
deliver_read_private_file(const char *path, char **out, char *err, size_t errlen)
{
    struct stat st;
    char *text = NULL;
    ssize_t n;
    size_t have = 0;
    int fd, r = -1;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "fstat(\"%s\") failed: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "\"%s\" is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen,
                 "\"%s\" holds secrets and must not be accessible by group or "
                 "others (mode %04o; chmod 600 it)",
                 path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size > DELIVER_MAX_PRIVATE_FILE) {
        snprintf(err, errlen, "\"%s\" is larger than %d bytes", path, DELIVER_MAX_PRIVATE_FILE);
        goto out;
    }
    text = xmalloc((size_t)st.st_size + 1);
    while (have < (size_t)st.st_size) {
        n = read(fd, text + have, (size_t)st.st_size - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(err, errlen, "read(\"%s\") failed: %s", path,
                     n < 0 ? strerror(errno) : "short read");
            goto out;
        }
        have += (size_t)n;
    }
    text[have] = '\0';
    *out = text;
    text = NULL;
    r = 0;
out:
    free(text);
    close(fd);
    return r;
}

static const struct deliver_transport *
deliver_transport_find(const char *type)
{
    for (size_t i = 0; deliver_transports[i] != NULL; i++) {
        if (strcmp(deliver_transports[i]->type, type) == 0) {
            return deliver_transports[i];
        }
    }
    return NULL;
}

static int
deliver_partner_ok(const char *p)
{
    if (p == NULL || p[0] == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0 ||
        strlen(p) > 200) {
        return 0;
    }
    for (; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-')) {
            return 0;
        }
    }
    return 1;
}

/*
 * Parse and check dc into *cc and a new transport conf (*tconf, caller frees with
 * deliver_keys_free + free). Returns 0 or -1 with errors.
 */
static int
deliver_conf_parse(const struct deliver_conf *dc, struct deliver_common *cc,
                   const struct deliver_transport **tpp, void **tconf, struct errlist *errs)
{
    struct deliver_ctx cx = {dc->partner, dc->conf_file, dc->conf_dir, dc->deliver};
    const struct deliver_transport *tp = NULL;
    const char **skip = NULL;
    const struct ynode *tn;
    size_t nskip = 0;
    int r = 0;

    memset(cc, 0, sizeof(*cc));
    *tpp = NULL;
    *tconf = NULL;
    if (!deliver_partner_ok(dc->partner)) {
        deliver_conf_error(&cx, NULL, errs,
                           "invalid partner name (letters, digits, '.', '_', "
                           "'-'; used as the spool directory's name)");
        r = -1;
    }
    if (dc->deliver == NULL) {
        deliver_conf_error(&cx, NULL, errs, "deliver: missing");
        return -1;
    }
    if (dc->deliver->type != YNODE_MAP) {
        deliver_conf_error(&cx, NULL, errs, "deliver: expected a map, got a %s",
                           ynode_type_name(dc->deliver));
        return -1;
    }
    tn = ynode_get(dc->deliver, "type");
    if (tn != NULL && tn->type == YNODE_SCALAR) {
        tp = deliver_transport_find(tn->str);
        if (tp == NULL) {
            deliver_conf_error(&cx, tn, errs,
                               "deliver.type: unknown transport \"%s\" (file, "
                               "kafka, http, redis, syslog)",
                               tn->str);
            r = -1;
        }
    }
    if (tp != NULL) {
        for (const struct deliver_key *k = tp->keys; k->name != NULL; k++) {
            skip = xreallocarray(skip, nskip + 2, sizeof(*skip));
            skip[nskip++] = k->name;
            skip[nskip] = NULL;
        }
    }
    if (deliver_keys_parse(deliver_common_keys, dc->deliver, "deliver", skip, &cx, cc, errs) != 0) {
        r = -1;
    }
    free(skip);
    if (tp == NULL) {
        return -1;
    }
    {
        static const char *const common[] = {"type",          "retry",         "spool",
                                             "drain_timeout", "max_in_flight", NULL};
        *tconf = xcalloc(1, tp->conf_size);
        if (deliver_keys_parse(tp->keys, dc->deliver, "deliver", common, &cx, *tconf, errs) != 0) {
            r = -1;
        } else if (tp->check != NULL && tp->check(*tconf, &cx, errs) != 0) {
            r = -1;
        }
    }
    if (cc->max_in_flight > (int64_t)tp->window_max) {
        deliver_conf_error(&cx, ynode_get(dc->deliver, "max_in_flight"), errs,
                           "deliver.max_in_flight: at most %u for %s (to keep records in "
                           "order)",
                           tp->window_max, tp->type);
        r = -1;
    }
    if (cc->retry_max_us < cc->retry_initial_us) {
        deliver_conf_error(&cx, ynode_get(dc->deliver, "retry"), errs,
                           "deliver.retry: max is smaller than initial");
        r = -1;
    }
    *tpp = tp;
    return r;
}

static void
deliver_conf_release(const struct deliver_transport *tp, struct deliver_common *cc, void *tconf)
{
    deliver_keys_free(deliver_common_keys, cc);
    if (tp != NULL) {
        deliver_keys_free(tp->keys, tconf);
    }
    free(tconf);
}

int
deliver_check(const struct deliver_conf *dc, struct errlist *errs)
{
    const struct deliver_transport *tp;
    struct deliver_common cc;
    void *tconf;
    int r;

    r = deliver_conf_parse(dc, &cc, &tp, &tconf, errs);
    deliver_conf_release(tp, &cc, tconf);
    return r;
}

/* The pump */

uv_loop_t *
deliver_loop(const struct deliver *d)
{
    return d->loop;
}

const char *
deliver_tag(const struct deliver *d)
{
    return d->tag;
}

const char *
deliver_partner(const struct deliver *d)
{
    return d->partner;
}

static struct deliver_rec *
deliver_win_at(const struct deliver *d, size_t i)
{
    return d->win[(d->win_head + i) % d->win_cap];
}

static void
deliver_rec_free(struct deliver_rec *rec)
{
    if (rec != NULL) {
        free(rec->sr);
        free(rec);
    }
}

/* Keep a copy of a rejected record: one JSON line in <spool>/rejected. 0 or -errno. */
static int
deliver_reject_write(struct deliver *d, const char *id, size_t id_len, const char *data, size_t len,
                     const char *reason)
{
    struct stat st;
    struct buf b;
    char ts[32];
    size_t off = 0;
    int fd = -1, r = 0;

    buf_init(&b);
    time_format_rfc3339(time_now_us(), ts);
    buf_printf(&b, "{\"time\":\"%s\",\"partner\":", ts);
    buf_json_string(&b, d->partner, strlen(d->partner));
    buf_puts(&b, ",\"alert_id\":");
    buf_json_string(&b, id, id_len);
    buf_puts(&b, ",\"reason\":");
    buf_json_string(&b, reason != NULL ? reason : "", reason != NULL ? strlen(reason) : 0);
    buf_puts(&b, ",\"data\":");
    buf_json_string(&b, data, len);
    buf_puts(&b, "}\n");
    fd = open(d->rejected_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &st) != 0) {
        r = -errno;
        goto out;
    }
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            r = -errno;
            if (off > 0 && ftruncate(fd, st.st_size) != 0) {
                log_err("%s: ftruncate(\"%s\") failed: %s; a partial line is left", d->tag,
                        d->rejected_path, strerror(errno));
            }
            break;
        }
        off += (size_t)w;
    }
out:
    if (r != 0) {
        log_err("%s: cannot keep rejected alert %.*s in %s: %s", d->tag, (int)id_len, id,
                d->rejected_path, strerror(-r));
    }
    buf_free(&b);
    return r;
}

/* Exponential backoff with jitter: a delay in [d/2, d], d = initial * 2^streak <= max. */
static uint64_t
deliver_backoff_ms(struct deliver *d)
{
    uint64_t us = (uint64_t)d->cc.retry_initial_us;
    uint64_t lo;

    for (uint64_t i = 0; i < d->streak && us < (uint64_t)d->cc.retry_max_us; i++) {
        us *= 2;
    }
    if (us > (uint64_t)d->cc.retry_max_us) {
        us = (uint64_t)d->cc.retry_max_us;
    }
    d->rng ^= d->rng << 13;
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    lo = us / 2;
    us = lo + (us - lo > 0 ? d->rng % (us - lo + 1) : 0);
    return (us + 999) / 1000;
}

static void
deliver_retry_timer_cb(uv_timer_t *h)
{
    struct deliver *d = h->data;

    d->backing_off = 0;
    d->read_blocked = 0;
    deliver_kick(d);
}

static void
deliver_backoff_start(struct deliver *d)
{
    uint64_t ms;

    if (d->backing_off || d->state >= DELIVER_CLOSING) {
        return;
    }
    ms = deliver_backoff_ms(d);
    d->backing_off = 1;
    d->streak++;
    d->st.retries++;
    uv_timer_start(&d->retry_timer, deliver_retry_timer_cb, ms, 0);
}

void
deliver_done(struct deliver *d, struct deliver_rec *rec, enum deliver_result res,
             const char *reason)
{
    const char *why = reason != NULL ? reason : "?";
    int ok = 0;

    assert(rec->state == DELIVER_REC_SENT);
    assert(d->in_flight > 0);
    d->in_flight--;
    if (res == DELIVER_OK) {
        rec->state = DELIVER_REC_DONE;
        d->st.delivered++;
        if (rec->sr->recovered) {
            d->st.redelivered_after_restart++;
        }
        ok = 1;
    } else if (res == DELIVER_REJECT &&
               deliver_reject_write(d, rec->sr->id, rec->sr->id_len, rec->sr->data, rec->sr->len,
                                    reason) == 0) {
        rec->state = DELIVER_REC_DONE;
        d->st.rejected++;
        log_err("%s: alert %s rejected by the partner (%s); kept in %s (%" PRIu64
                " rejected so far)",
                d->tag, rec->sr->id, why, d->rejected_path, d->st.rejected);
        ok = 1;
    } else {
        /* DELIVER_RETRY, or a rejected record we could not keep: send it again later */
        rec->state = DELIVER_REC_QUEUED;
        d->st.failed++;
        if (d->up) {
            d->up = 0;
            log_err("%s: delivery failing: %s", d->tag, why);
        } else if (!d->backing_off) {
            log_debug("%s: delivery still failing: %s", d->tag, why);
        }
        deliver_backoff_start(d);
    }
    if (ok) {
        if (!d->up) {
            d->up = 1;
            log_notice("%s: delivery recovered after %" PRIu64 " retries", d->tag, d->streak);
        }
        d->streak = 0;
    }
    deliver_kick(d);
}

void
deliver_retry_sent(struct deliver *d, struct deliver_rec *skip, const char *reason)
{
    for (size_t i = 0; i < d->win_len; i++) {
        struct deliver_rec *rec = deliver_win_at(d, i);
        if (rec != skip && rec->state == DELIVER_REC_SENT) {
            deliver_done(d, rec, DELIVER_RETRY, reason);
        }
    }
}

/* Acknowledge finished records at the head of the window. */
static void
deliver_advance(struct deliver *d)
{
    while (d->win_len > 0) {
        struct deliver_rec *rec = deliver_win_at(d, 0);
        if (rec->state != DELIVER_REC_DONE) {
            break;
        }
        spool_ack(d->sp, rec->sr);
        d->win_bytes -= rec->sr->len;
        d->win[d->win_head] = NULL;
        d->win_head = (d->win_head + 1) % d->win_cap;
        d->win_len--;
        deliver_rec_free(rec);
    }
    if (d->want_room && spool_has_room(d->sp, d->want_id_len, d->want_len)) {
        d->want_room = 0;
        d->notify = 1;
    }
}

/* Read records from the spool into the window. */
static void
deliver_fill(struct deliver *d)
{
    while (!d->read_blocked && d->win_len < d->win_cap &&
           (d->win_len == 0 || d->win_bytes < DELIVER_WINDOW_BYTES)) {
        struct spool_rec *sr;
        struct deliver_rec *rec;
        int r = spool_read(d->sp, &sr);

        if (r == 0) {
            break;
        }
        if (r < 0) {
            /* logged by the spool; try again after a pause */
            d->read_blocked = 1;
            deliver_backoff_start(d);
            break;
        }
        rec = xcalloc(1, sizeof(*rec));
        rec->sr = sr;
        rec->state = DELIVER_REC_QUEUED;
        d->win[(d->win_head + d->win_len) % d->win_cap] = rec;
        d->win_len++;
        d->win_bytes += sr->len;
    }
}

static void
deliver_send_queued(struct deliver *d)
{
    if (d->backing_off || d->tstate == NULL || d->state >= DELIVER_CLOSING) {
        return;
    }
    for (size_t i = 0; i < d->win_len && d->in_flight < d->win_cap; i++) {
        struct deliver_rec *rec = deliver_win_at(d, i);
        if (rec->state != DELIVER_REC_QUEUED) {
            continue;
        }
        rec->state = DELIVER_REC_SENT;
        rec->attempts++;
        d->in_flight++;
        d->tp->send(d->tstate, rec);
        if (d->backing_off || d->tstate == NULL) {
            break; /* it failed at once */
        }
    }
}

static void
deliver_pump(struct deliver *d)
{
    struct spool_stats ss;

    if (d->pumping) {
        d->pump_again = 1;
        return;
    }
    d->pumping = 1;
    do {
        d->pump_again = 0;
        deliver_advance(d);
        if (d->state >= DELIVER_CLOSING) {
            break;
        }
        deliver_fill(d);
        deliver_send_queued(d);
    } while (d->pump_again);
    d->pumping = 0;
    if (d->state == DELIVER_DRAINING) {
        spool_get_stats(d->sp, &ss);
        if (d->win_len == 0 && ss.records == 0) {
            deliver_close_begin(d);
        }
    }
}

static void
deliver_kick_cb(uv_idle_t *h)
{
    struct deliver *d = h->data;

    uv_idle_stop(&d->kick);
    deliver_pump(d);
    if (d->notify && d->state < DELIVER_CLOSING) {
        d->notify = 0;
        if (d->wcb != NULL) {
            d->wcb(d->warg);
        }
    }
}

static void
deliver_kick(struct deliver *d)
{
    if (d->state < DELIVER_CLOSING) {
        uv_idle_start(&d->kick, deliver_kick_cb);
    }
}

/* Durability */

static void
deliver_sync_work_cb(uv_work_t *req)
{
    struct deliver *d = req->data;

    spool_sync_run(d->sync_job);
}

static void
deliver_sync_after_cb(uv_work_t *req, int status)
{
    struct deliver *d = req->data;
    struct spool_sync *job = d->sync_job;

    d->sync_job = NULL;
    if (status != 0) {
        spool_sync_run(job); /* cancelled: do it here */
    }
    spool_sync_finish(d->sp, job);
    if (d->state == DELIVER_CLOSING) {
        deliver_close_continue(d);
    }
}

static void
deliver_sync_timer_cb(uv_timer_t *h)
{
    struct deliver *d = h->data;
    int r;

    if (d->sync_job != NULL) {
        return; /* the previous one is still running */
    }
    d->sync_job = spool_sync_prepare(d->sp);
    if (d->sync_job == NULL) {
        return;
    }
    d->sync_work.data = d;
    r = uv_queue_work(d->loop, &d->sync_work, deliver_sync_work_cb, deliver_sync_after_cb);
    if (r != 0) {
        spool_sync_run(d->sync_job);
        spool_sync_finish(d->sp, d->sync_job);
        d->sync_job = NULL;
    }
}

/* Submitting */

static void
deliver_writable_timer_cb(uv_timer_t *h)
{
    struct deliver *d = h->data;

    if (d->wcb != NULL && d->state < DELIVER_CLOSING) {
        d->wcb(d->warg);
    }
}

int
deliver_submit(struct deliver *d, const char *alert_id, const void *bytes, size_t len)
{
    size_t id_len = alert_id != NULL ? strlen(alert_id) : 0;
    const char *shown = alert_id != NULL ? alert_id : "";
    int r;

    if (d->state >= DELIVER_CLOSING) {
        d->st.refused++;
        return -ESHUTDOWN;
    }
    r = spool_append(d->sp, alert_id, id_len, bytes, len);
    if (r == 0) {
        d->st.submitted++;
        deliver_kick(d);
        return 0;
    }
    if (r == -EMSGSIZE || r == -EINVAL) {
        /* can never be spooled: keep it in the rejected file rather than refuse forever */
        const char *why = r == -EMSGSIZE ? "larger than spool.max_record or spool.max_bytes/4"
                                         : "alert id empty or longer than 1024 bytes";
        if (deliver_reject_write(d, shown, id_len, bytes, len, why) == 0) {
            d->st.rejected++;
            log_err("%s: alert %s (%zu bytes) cannot be spooled (%s); kept in %s", d->tag, shown,
                    len, why, d->rejected_path);
            return 0;
        }
    }
    d->st.refused++;
    if (r == -EAGAIN) {
        d->want_room = 1;
        d->want_id_len = id_len;
        d->want_len = len;
        log_debug("%s: spool full, refusing alert %s", d->tag, shown);
        return r;
    }
    log_err("%s: cannot spool alert %s: %s", d->tag, shown, strerror(-r));
    if (!uv_is_active((uv_handle_t *)&d->writable_timer)) {
        uv_timer_start(&d->writable_timer, deliver_writable_timer_cb,
                       (uint64_t)(d->cc.retry_initial_us + 999) / 1000, 0);
    }
    return r;
}

void
deliver_set_writable_cb(struct deliver *d, deliver_writable_cb cb, void *arg)
{
    d->wcb = cb;
    d->warg = arg;
}

void
deliver_reopen(struct deliver *d)
{
    if (d->tstate != NULL && d->tp->reopen != NULL) {
        d->tp->reopen(d->tstate);
    }
}

void
deliver_get_stats(const struct deliver *d, struct deliver_stats *st)
{
    struct spool_stats ss;

    *st = d->st;
    if (d->sp != NULL) {
        spool_get_stats(d->sp, &ss);
        st->dropped = ss.dropped;
        st->recovered = ss.recovered;
        st->corrupt = ss.corrupt;
        st->spool_bytes = ss.bytes;
        st->spool_records = ss.records;
    }
    st->in_flight = d->in_flight;
    st->up = d->up;
}

/* Life cycle */

static void
deliver_release(struct deliver *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->win_len; i++) {
        deliver_rec_free(deliver_win_at(d, i));
    }
    free(d->win);
    spool_close(d->sp);
    deliver_conf_release(d->tp, &d->cc, d->tconf);
    free(d->rejected_path);
    free(d->spool_dir);
    free(d->tag);
    free(d->partner);
    free(d);
}

/* mkdir that accepts an existing directory. */
static int
deliver_mkdir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir(\"%s\") failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int
deliver_new(uv_loop_t *loop, const struct deliver_conf *dc, struct deliver **out,
            struct errlist *errs)
{
    struct deliver_ctx cx = {dc->partner, dc->conf_file, dc->conf_dir, dc->deliver};
    struct deliver *d = xcalloc(1, sizeof(*d));
    const char *state_dir = dc->state_dir != NULL ? dc->state_dir : DELIVER_DEFAULT_STATE_DIR;
    struct spool_conf sc;
    char err[1024];
    char *spool_root = NULL;
    int r = -1;

    *out = NULL;
    d->loop = loop;
    signal(SIGPIPE, SIG_IGN); /* a peer that went away is an EPIPE to handle, not a kill */
    if (deliver_conf_parse(dc, &d->cc, &d->tp, &d->tconf, errs) != 0) {
        goto out;
    }
    d->partner = xstrdup(dc->partner);
    d->tag = xasprintf("partner '%s'", dc->partner);
    spool_root = xasprintf("%s/spool", state_dir);
    d->spool_dir = xasprintf("%s/%s", spool_root, dc->partner);
    d->rejected_path = xasprintf("%s/rejected", d->spool_dir);
    if (deliver_mkdir(state_dir, err, sizeof(err)) != 0 ||
        deliver_mkdir(spool_root, err, sizeof(err)) != 0) {
        deliver_conf_error(&cx, NULL, errs, "%s", err);
        goto out;
    }
    memset(&sc, 0, sizeof(sc));
    sc.dir = d->spool_dir;
    sc.tag = d->tag;
    sc.max_bytes = (uint64_t)d->cc.spool_max_bytes;
    sc.segment_bytes = (uint64_t)d->cc.spool_segment_bytes;
    sc.max_record = (uint32_t)d->cc.spool_max_record;
    sc.policy = d->cc.spool_policy == 1 ? SPOOL_DROP_OLDEST : SPOOL_BLOCK;
    sc.sync_each = d->cc.spool_fsync_us == 0;
    if (spool_open(&sc, &d->sp, err, sizeof(err)) != 0) {
        deliver_conf_error(&cx, NULL, errs, "%s", err);
        goto out;
    }
    d->win_cap = d->cc.max_in_flight > 0 ? (size_t)d->cc.max_in_flight : d->tp->window;
    d->win = xcalloc(d->win_cap, sizeof(*d->win));
    d->up = 1;
    d->rng = (uint64_t)time_now_us() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)d;
    if (d->rng == 0) {
        d->rng = 1;
    }
    if (d->tp->open(d, d->tconf, &d->tstate, err, sizeof(err)) != 0) {
        deliver_conf_error(&cx, NULL, errs, "%s", err);
        goto out;
    }
    uv_idle_init(loop, &d->kick);
    uv_timer_init(loop, &d->retry_timer);
    uv_timer_init(loop, &d->sync_timer);
    uv_timer_init(loop, &d->drain_timer);
    uv_timer_init(loop, &d->writable_timer);
    d->kick.data = d->retry_timer.data = d->sync_timer.data = d->drain_timer.data = d;
    d->writable_timer.data = d;
    d->handles_open = DELIVER_NHANDLES;
    {
        uint64_t ms = (uint64_t)(d->cc.spool_fsync_us / 1000);
        if (ms == 0) {
            ms = DELIVER_SYNC_MIN_MS;
        }
        uv_timer_start(&d->sync_timer, deliver_sync_timer_cb, ms, ms);
    }
    deliver_kick(d);
    log_info("%s: delivering by %s, spool %s", d->tag, d->tp->type, d->spool_dir);
    *out = d;
    d = NULL;
    r = 0;
out:
    free(spool_root);
    deliver_release(d);
    return r;
}

static void
deliver_handle_closed_cb(uv_handle_t *h)
{
    struct deliver *d = h->data;
    deliver_done_cb done;

    if (--d->handles_open > 0) {
        return;
    }
    d->state = DELIVER_CLOSED;
    done = d->done;
    d->done = NULL;
    if (done != NULL) {
        done(d->done_arg); /* may call deliver_free(d) */
    } else if (d->free_on_close) {
        deliver_release(d);
    }
}

/* After the transport closed and no sync job runs: final sync, close the handles. */
static void
deliver_close_continue(struct deliver *d)
{
    struct deliver_stats st;

    if (d->tstate != NULL || d->sync_job != NULL || d->sp == NULL) {
        return;
    }
    deliver_advance(d);
    deliver_get_stats(d, &st);
    spool_close(d->sp);
    d->sp = NULL;
    if (st.spool_records > 0) {
        log_notice("%s: %" PRIu64 " undelivered records stay in the spool for the next start",
                   d->tag, st.spool_records);
    }
    uv_close((uv_handle_t *)&d->kick, deliver_handle_closed_cb);
    uv_close((uv_handle_t *)&d->retry_timer, deliver_handle_closed_cb);
    uv_close((uv_handle_t *)&d->sync_timer, deliver_handle_closed_cb);
    uv_close((uv_handle_t *)&d->drain_timer, deliver_handle_closed_cb);
    uv_close((uv_handle_t *)&d->writable_timer, deliver_handle_closed_cb);
}

void
deliver_transport_closed(struct deliver *d)
{
    d->tstate = NULL;
    /* records in flight are forgotten: back to the queue (they stay in the spool) */
    for (size_t i = 0; i < d->win_len; i++) {
        struct deliver_rec *rec = deliver_win_at(d, i);
        if (rec->state == DELIVER_REC_SENT) {
            rec->state = DELIVER_REC_QUEUED;
        }
    }
    d->in_flight = 0;
    if (d->state == DELIVER_CLOSING) {
        deliver_close_continue(d);
    }
}

static void
deliver_close_begin(struct deliver *d)
{
    if (d->state >= DELIVER_CLOSING) {
        return;
    }
    d->state = DELIVER_CLOSING;
    uv_idle_stop(&d->kick);
    uv_timer_stop(&d->retry_timer);
    uv_timer_stop(&d->sync_timer);
    uv_timer_stop(&d->drain_timer);
    uv_timer_stop(&d->writable_timer);
    if (d->tstate != NULL) {
        d->tp->close(d->tstate); /* calls deliver_transport_closed() */
    } else {
        deliver_close_continue(d);
    }
}

static void
deliver_drain_timer_cb(uv_timer_t *h)
{
    struct deliver *d = h->data;
    struct deliver_stats st;

    deliver_get_stats(d, &st);
    log_warn("%s: drain_timeout reached with %" PRIu64 " records undelivered", d->tag,
             st.spool_records);
    deliver_close_begin(d);
}

void
deliver_stop(struct deliver *d, deliver_done_cb done, void *arg)
{
    d->done = done;
    d->done_arg = arg;
    if (d->state == DELIVER_CLOSED) {
        d->done = NULL;
        if (done != NULL) {
            done(arg);
        }
        return;
    }
    if (d->state != DELIVER_RUNNING) {
        return;
    }
    d->state = DELIVER_DRAINING;
    if (d->cc.drain_timeout_us > 0) {
        uv_timer_start(&d->drain_timer, deliver_drain_timer_cb,
                       (uint64_t)(d->cc.drain_timeout_us + 999) / 1000, 0);
        deliver_kick(d);
    } else {
        deliver_close_begin(d);
    }
}

void
deliver_free(struct deliver *d)
{
    if (d == NULL) {
        return;
    }
    if (d->state == DELIVER_CLOSED) {
        deliver_release(d);
        return;
    }
    d->free_on_close = 1;
    d->done = NULL;
    deliver_close_begin(d);
}
