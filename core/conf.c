/*
 * Config loading: YAML tree -> struct conf, section by section, each through a key table.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "privacy-text.h"
#include "timeutil.h"
#include "xmalloc.h"

enum conf_type {
    CT_STR,      /* char * */
    CT_INT,      /* int64_t, min..max */
    CT_BOOL,     /* int */
    CT_DURATION, /* int64_t µs, "60s", "10m" */
    CT_DURATION_MS, /* int64_t ms, written like CT_DURATION */
    CT_SIZE,     /* int64_t bytes, "64k", "1M" */
    CT_ENUM,     /* int: index into enums */
    CT_STRLIST,  /* char ** + size_t count at offset2 */
};

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t offset;
    size_t offset2; /* CT_STRLIST: where the count goes */
    const char *def;
    int64_t min;
    int64_t max;
    const char *const *enums;
    const char *help;
};

static const char *const conf_late_names[] = {"drop", "dead_letter", "process", NULL};
static const char *const conf_log_levels[] = {"err", "warning", "notice", "info", "debug", NULL};
static const char *const conf_log_targets[] = {"stderr", "syslog", NULL};
static const char *const conf_formats[] = {"auto", "syslog", "json", "cef", "kv", NULL};
static const char *const conf_tlp_names[] = {"clear", "green", "amber", "amber+strict", "red",
                                             NULL};

const char *const conf_output_host_keys[] = {"name", "plugin", "path", NULL};
const char *const conf_partner_host_keys[] = {"name",   "format", "deliver", "filter",
                                              "tlp",    "privacy", NULL};

#define CONF_OFF(field) offsetof(struct conf, field)
#define INPUT_OFF(field) offsetof(struct conf_input, field)
#define PRIV_OFF(field) offsetof(struct conf_privacy, field)

/* Top-level scalar keys. Sections with their own shape are handled by name below. */
static const struct conf_key conf_top_keys[] = {
    {"plugin_dir", CT_STR, CONF_OFF(plugin_dir), 0, NULL, 0, 0, NULL,
     "directory of output plugins (out_NAME.so); default: $KIZUNA_PLUGIN_DIR, the build "
     "tree, or the installed pkglibdir"},
    {"host_name", CT_STR, CONF_OFF(host_name), 0, NULL, 0, 0, NULL,
     "name of this kizunad in alerts (analyzer); default: the host name"},
    {"user", CT_STR, CONF_OFF(run_user), 0, NULL, 0, 0, NULL,
     "when started as root, drop privileges to this user once files and ports are open"},
    {"group", CT_STR, CONF_OFF(run_group), 0, NULL, 0, 0, NULL,
     "group for `user` (default: the user's primary group)"},
    {"state_dir", CT_STR, CONF_OFF(state_dir), 0, LOCALSTATEDIR "/lib/kizuna", 0, 0, NULL,
     "directory for partner spools and other state"},
    {"default_tlp", CT_ENUM, CONF_OFF(default_tlp), 0, "amber", 0, 0, conf_tlp_names,
     "TLP of alerts whose rule has no tlp.* tag (clear, green, amber, amber+strict, red)"},
    {"reveal_map", CT_STR, CONF_OFF(reveal_map), 0, NULL, 0, 0, NULL,
     "owner-side map of pseudonym to original (JSON lines, mode 0600) for every privacy "
     "profile without its own reveal_map; read by kizunad --reveal; default: none"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_audit_keys[] = {
    {"path", CT_STR, CONF_OFF(audit_path), 0, NULL, 0, 0, NULL,
     "JSON lines file: one line per alert delivered to a partner or output (profile, fields "
     "dropped or transformed, result); default: no audit log"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const conf_ip_methods[] = {"truncate", "prefix_preserving", NULL};

static const struct conf_key conf_privacy_keys[] = {
    {"keep", CT_STRLIST, PRIV_OFF(keep), PRIV_OFF(nkeep), NULL, 0, 0, NULL,
     "allowlist of fields passed unchanged (globs); when given, any field neither kept nor "
     "transformed below is dropped"},
    {"drop", CT_STRLIST, PRIV_OFF(drop), PRIV_OFF(ndrop), NULL, 0, 0, NULL,
     "fields always dropped (globs), before anything else"},
    {"key_file", CT_STR, PRIV_OFF(key_file), 0, NULL, 0, 0, NULL,
     "hex key file (at least 256 bits, mode 0600): keys the alert ids partners see, and is "
     "the default key of pseudonymize and ip"},
    {"redact_text", CT_STRLIST, PRIV_OFF(redact_text), PRIV_OFF(nredact_text), NULL, 0, 0, NULL,
     "detectors for the text fields: email, ipv4, ipv6, user, hostname; without it the text "
     "fields are dropped under an allowlist"},
    {"text_fields", CT_STRLIST, PRIV_OFF(text_fields), PRIV_OFF(ntext_fields), NULL, 0, 0, NULL,
     "free-text fields (globs); default: message, event.original, error.message, log.original"},
    {"time_fields", CT_STRLIST, PRIV_OFF(time_fields), PRIV_OFF(ntime_fields), NULL, 0, 0, NULL,
     "fields holding times, coarsened by time_granularity; default: @timestamp, "
     "event.created, event.ingested, event.start, event.end"},
    {"time_granularity", CT_DURATION, PRIV_OFF(time_granularity_us), 0, "0", 0,
     INT64_C(86400000000), NULL, "round alert and field times down to this (e.g. 1m); 0: keep"},
    {"reveal_map", CT_STR, PRIV_OFF(reveal_map), 0, NULL, 0, 0, NULL,
     "owner-side pseudonym map of this profile (overrides the top-level reveal_map)"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_pseudonymize_keys[] = {
    {"fields", CT_STRLIST, PRIV_OFF(pseudonymize), PRIV_OFF(npseudonymize), NULL, 0, 0, NULL,
     "fields replaced by keyed pseudonyms \"pseu:\" + 32 hex digits (globs)"},
    {"key_file", CT_STR, PRIV_OFF(pseudonym_key_file), 0, NULL, 0, 0, NULL,
     "hex key file of the pseudonyms; default: the profile's key_file"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_ip_keys[] = {
    {"fields", CT_STRLIST, PRIV_OFF(ip_fields), PRIV_OFF(nip_fields), NULL, 0, 0, NULL,
     "fields holding IP addresses (globs); a value that is no address is dropped"},
    {"method", CT_ENUM, PRIV_OFF(ip_method), 0, "truncate", 0, 0, conf_ip_methods,
     "truncate (zero the host bits) or prefix_preserving (Crypto-PAn, keyed)"},
    {"key_file", CT_STR, PRIV_OFF(ip_key_file), 0, NULL, 0, 0, NULL,
     "hex key file for prefix_preserving; default: the profile's key_file"},
    {"truncate_v4", CT_INT, PRIV_OFF(truncate_v4), 0, "24", 0, 32, NULL,
     "IPv4 prefix bits kept by truncate"},
    {"truncate_v6", CT_INT, PRIV_OFF(truncate_v6), 0, "48", 0, 128, NULL,
     "IPv6 prefix bits kept by truncate"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_limit_keys[] = {
    {"max_event_bytes", CT_SIZE, CONF_OFF(max_event_bytes), 0, "64k", 64, 16 << 20, NULL,
     "longer events go to the dead-letter sink"},
    {"max_fields", CT_INT, CONF_OFF(max_fields), 0, "256", 16, 4096, NULL,
     "events with more fields go to the dead-letter sink"},
    {"max_depth", CT_INT, CONF_OFF(max_depth), 0, "32", 1, 256, NULL,
     "maximum JSON nesting depth"},
    {"regex_match_limit", CT_INT, CONF_OFF(regex_match_limit), 0, "100000", 100, 100000000,
     NULL, "PCRE2 match limit per regex test; a hit is counted and the test fails"},
    {"regex_depth_limit", CT_INT, CONF_OFF(regex_depth_limit), 0, "10000", 10, 10000000, NULL,
     "PCRE2 depth limit per regex test"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_time_keys[] = {
    {"allowed_lateness", CT_DURATION, CONF_OFF(allowed_lateness_us), 0, "5s", 0,
     INT64_C(86400000000) * 3650, NULL, "watermark = highest event time seen minus this"},
    {"late_events", CT_ENUM, CONF_OFF(late_policy), 0, "drop", 0, 0, conf_late_names,
     "events older than the watermark still raise detection alerts; for correlation they "
     "are dropped (counted), copied to the dead-letter sink, or processed anyway"},
    {"idle_source", CT_DURATION, CONF_OFF(idle_source_us), 0, "60s", 0, INT64_C(86400000000),
     NULL, "a source silent this long (wall clock) stops holding the event clock back"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const conf_state_backends[] = {"memory", "redis", NULL};
static const char *const conf_state_unavailable[] = {"pause", "memory", NULL};

static const struct conf_key conf_state_keys[] = {
    {"max_groups_per_rule", CT_INT, CONF_OFF(max_groups_per_rule), 0, "1000000", 1,
     INT64_C(1000000000), NULL, "live groups per correlation rule; oldest evicted beyond"},
    {"max_groups", CT_INT, CONF_OFF(max_groups_total), 0, "4000000", 1, INT64_C(1000000000),
     NULL, "live groups over all rules; oldest evicted beyond"},
    {"dump_path", CT_STR, CONF_OFF(state_dump_path), 0, NULL, 0, 0, NULL,
     "SIGUSR1 writes the live correlation state here as JSON; default: "
     "state_dir/state-dump.json"},
    {"backend", CT_ENUM, CONF_OFF(state_backend), 0, "memory", 0, 0, conf_state_backends,
     "memory (one process, lost on restart) or redis (shared by every kizunad of a consumer "
     "group, survives restarts; docs/STATE.md)"},
    {"on_unavailable", CT_ENUM, CONF_OFF(state_on_unavailable), 0, "pause", 0, 0,
     conf_state_unavailable,
     "redis unreachable: pause (stop consuming, lose nothing) or memory (fall back to "
     "in-memory state: not shared, lost on restart)"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_state_redis_keys[] = {
    {"url", CT_STR, CONF_OFF(redis_url), 0, "redis://127.0.0.1:6379/0", 0, 0, NULL,
     "redis://host[:port][/db] or unix:/path/to/socket"},
    {"password_file", CT_STR, CONF_OFF(redis_password_file), 0, NULL, 0, 0, NULL,
     "file holding the password (mode 0600, trailing newline ignored)"},
    {"username", CT_STR, CONF_OFF(redis_username), 0, NULL, 0, 0, NULL,
     "ACL user (Redis 6+), with password_file"},
    {"prefix", CT_STR, CONF_OFF(redis_prefix), 0, "kz", 0, 0, NULL,
     "key prefix: keys are {prefix:NN}:... (docs/STATE.md); processes sharing state use the "
     "same prefix"},
    {"timeout", CT_DURATION, CONF_OFF(redis_timeout_us), 0, "5s", 1000, INT64_C(3600000000),
     NULL, "connect and reply time-out; also how long Redis may be gone before "
     "on_unavailable: memory switches"},
    {"batch", CT_INT, CONF_OFF(redis_batch), 0, "512", 1, 65536, NULL,
     "state operations per pipelined batch at most (one script call per rule and group)"},
    {"max_in_flight", CT_INT, CONF_OFF(redis_max_inflight), 0, "20000", 16, 10000000, NULL,
     "operations sent and not answered before inputs pause (backpressure)"},
    {"ttl_margin", CT_DURATION, CONF_OFF(redis_ttl_margin_us), 0, "10m", 1000000,
     INT64_C(31536000000000), NULL,
     "keys live this long (wall clock) beyond their window and suppression: covers consumer "
     "lag and replays after a crash"},
    {"local_absorb", CT_BOOL, CONF_OFF(redis_local_absorb), 0, "true", 0, 0, NULL,
     "answer the events of a group that a reply showed suppressed without a round trip "
     "(the same results; false: every operation goes to Redis)"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_metrics_keys[] = {
    {"listen", CT_STR, CONF_OFF(metrics_listen), 0, NULL, 0, 0, NULL,
     "HOST:PORT of the Prometheus endpoint (/metrics, /healthz, /readyz), or \"off\"; "
     "default: 127.0.0.1:9464 for a daemon with an endless input, off for a replay"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_log_keys[] = {
    {"level", CT_ENUM, CONF_OFF(log_level), 0, "info", 0, 0, conf_log_levels,
     "least severe level logged"},
    {"target", CT_ENUM, CONF_OFF(log_syslog), 0, "stderr", 0, 0, conf_log_targets,
     "stderr or syslog (journald reads both)"},
    {"json", CT_BOOL, CONF_OFF(log_json), 0, "false", 0, 0, NULL, "JSON lines on stderr"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_dead_letter_keys[] = {
    {"path", CT_STR, CONF_OFF(dead_letter_path), 0, NULL, 0, 0, NULL,
     "JSON lines file for events that could not be processed; default: stderr"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct conf_key conf_input_keys[] = {
    {"format", CT_ENUM, INPUT_OFF(format), 0, "auto", 0, 0, conf_formats,
     "decoder: syslog | json | cef | kv | auto"},
    {"brokers", CT_STR, INPUT_OFF(brokers), 0, NULL, 0, 0, NULL,
     "kafka: bootstrap servers, or \"embedded\" for an in-memory mock cluster"},
    {"topics", CT_STRLIST, INPUT_OFF(topics), INPUT_OFF(ntopics), NULL, 0, 0, NULL,
     "kafka: topics to subscribe"},
    {"group", CT_STR, INPUT_OFF(group), 0, "kizuna", 0, 0, NULL, "kafka: consumer group"},
    {"commit_interval", CT_DURATION_MS, INPUT_OFF(commit_interval_ms), 0, "1s", 1000,
     INT64_C(3600000000), NULL, "kafka: how often stored offsets are committed"},
    {"partitions", CT_INT, INPUT_OFF(partitions), 0, "3", 1, 64, NULL,
     "kafka embedded: partitions per created topic"},
    {"path", CT_STR, INPUT_OFF(path), 0, NULL, 0, 0, NULL, "file: path to read"},
    {"follow", CT_BOOL, INPUT_OFF(follow), 0, "false", 0, 0, NULL,
     "file: keep reading as the file grows (and across rotation); false: read to the end"},
    {"poll_interval", CT_DURATION_MS, INPUT_OFF(poll_interval_ms), 0, "250ms", 1000,
     INT64_C(60000000), NULL, "file: how often a followed file is checked for new data"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* Which input keys each input type accepts besides type and format. */
static const char *const conf_kafka_only[] = {"brokers", "topics", "group", "commit_interval",
                                              "partitions", NULL};
static const char *const conf_file_only[] = {"path", "follow", "poll_interval", NULL};

static int
conf_in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++) {
        if (strcmp(*list, s) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *
conf_type_name(enum conf_type t)
{
    switch (t) {
    case CT_STR:
        return "string";
    case CT_INT:
        return "integer";
    case CT_BOOL:
        return "boolean";
    case CT_DURATION:
    case CT_DURATION_MS:
        return "duration";
    case CT_SIZE:
        return "size";
    case CT_ENUM:
        return "enum";
    case CT_STRLIST:
        return "list of strings";
    }
    return "?";
}

static int
conf_parse_size(const char *s, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    int64_t mult = 1;

    if (end == s || !(v >= 0)) { /* also NaN */
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        mult = 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mult = 1024 * 1024;
        end++;
    } else if (*end == 'g' || *end == 'G') {
        mult = INT64_C(1024) * 1024 * 1024;
        end++;
    }
    if (*end == 'i' || *end == 'B' || *end == 'b') {
        end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
    }
    if (*end != '\0') {
        return -1;
    }
    /* Past int64_t (1e30, inf) the cast would be undefined: saturate, and the caller's
     * range check refuses the value. */
    v *= (double)mult;
    *out = v >= 9223372036854775807.0 ? INT64_MAX : (int64_t)v;
    return 0;
}

/* Parse one scalar (or list) value for key k into base. Returns 0 or -1 (error added). */
static int
conf_set_value(const struct conf_key *k, const struct ynode *v, const char *text, void *base,
               const char *file, struct errlist *errs)
{
    char *p = (char *)base + k->offset;
    int line = v ? v->line : 0, col = v ? v->col : 0;

    if (k->type != CT_STRLIST && v != NULL && v->type != YNODE_SCALAR) {
        errlist_add(errs, file, line, col, "'%s' must be a %s, not a %s", k->name,
                    conf_type_name(k->type), ynode_type_name(v));
        return -1;
    }
    switch (k->type) {
    case CT_STR: {
        char **slot = (char **)p;
        free(*slot);
        *slot = text ? xstrdup(text) : NULL;
        return 0;
    }
    case CT_INT: {
        char *end;
        long long n;
        errno = 0;
        n = strtoll(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0') {
            errlist_add(errs, file, line, col, "'%s' must be an integer, not '%s'", k->name,
                        text);
            return -1;
        }
        if (n < k->min || n > k->max) {
            errlist_add(errs, file, line, col,
                        "'%s' is %lld, out of range [%" PRId64 ", %" PRId64 "]", k->name, n,
                        k->min, k->max);
            return -1;
        }
        *(int64_t *)p = n;
        return 0;
    }
    case CT_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 || strcmp(text, "on") == 0) {
            *(int *)p = 1;
        } else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0 ||
                   strcmp(text, "off") == 0) {
            *(int *)p = 0;
        } else {
            errlist_add(errs, file, line, col, "'%s' must be true or false, not '%s'", k->name,
                        text);
            return -1;
        }
        return 0;
    case CT_DURATION:
    case CT_DURATION_MS:
    case CT_SIZE: {
        int64_t n;
        int bad = k->type != CT_SIZE ? time_parse_duration(text, &n)
                                     : conf_parse_size(text, &n);
        if (bad) {
            errlist_add(errs, file, line, col, "'%s' must be a %s (e.g. %s), not '%s'", k->name,
                        conf_type_name(k->type), k->type != CT_SIZE ? "60s, 10m" : "64k",
                        text);
            return -1;
        }
        if (n < k->min || n > k->max) {
            errlist_add(errs, file, line, col, "'%s' is out of range", k->name);
            return -1;
        }
        *(int64_t *)p = k->type == CT_DURATION_MS ? n / 1000 : n;
        return 0;
    }
    case CT_ENUM:
        for (int i = 0; k->enums[i] != NULL; i++) {
            if (strcmp(k->enums[i], text) == 0) {
                *(int *)p = i;
                return 0;
            }
        }
        {
            char list[256] = "";
            for (int i = 0; k->enums[i] != NULL; i++) {
                strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
                strncat(list, k->enums[i], sizeof(list) - strlen(list) - 1);
            }
            errlist_add(errs, file, line, col, "'%s' must be one of %s, not '%s'", k->name, list,
                        text);
        }
        return -1;
    case CT_STRLIST: {
        char ***slot = (char ***)p;
        size_t *count = (size_t *)((char *)base + k->offset2);
        if (v->type == YNODE_SCALAR) {
            *slot = xcalloc(1, sizeof(char *));
            (*slot)[0] = xstrdup(v->str);
            *count = 1;
            return 0;
        }
        if (v->type != YNODE_SEQ) {
            errlist_add(errs, file, line, col, "'%s' must be a list of strings", k->name);
            return -1;
        }
        *slot = xcalloc(v->n + 1, sizeof(char *));
        *count = 0;
        for (size_t i = 0; i < v->n; i++) {
            if (v->items[i]->type != YNODE_SCALAR) {
                errlist_add(errs, file, v->items[i]->line, v->items[i]->col,
                            "'%s' must be a list of strings", k->name);
                return -1;
            }
            (*slot)[(*count)++] = xstrdup(v->items[i]->str);
        }
        return 0;
    }
    }
    return -1;
}

/*
 * Apply a key table to a map node: set every key present, default the others. Keys in
 * `skip` are left to the caller. Unknown keys are errors naming the section.
 */
static int
conf_apply(const struct conf_key *tab, const struct ynode *map, void *base, const char *section,
           const char *const *skip, const char *file, struct errlist *errs)
{
    size_t ntab = 0;
    int r = 0;

    while (tab[ntab].name != NULL) {
        ntab++;
    }
    if (map != NULL && map->type != YNODE_MAP) {
        errlist_add(errs, file, map->line, map->col, "'%s' must be a map, not a %s", section,
                    ynode_type_name(map));
        return -1;
    }
    for (size_t i = 0; i < ntab; i++) {
        const struct ynode *v = ynode_get(map, tab[i].name);
        if (v != NULL) {
            if (tab[i].type != CT_STRLIST && v->type == YNODE_SCALAR && ynode_is_null(v) &&
                tab[i].type != CT_STR) {
                errlist_add(errs, file, v->line, v->col, "'%s' needs a value", tab[i].name);
                r = -1;
                continue;
            }
            if (conf_set_value(&tab[i], v, v->type == YNODE_SCALAR ? v->str : NULL, base, file,
                               errs) != 0) {
                r = -1;
            }
        } else if (tab[i].def != NULL) {
            conf_set_value(&tab[i], NULL, tab[i].def, base, file, errs);
        }
    }
    for (size_t i = 0; map != NULL && i < map->n; i++) {
        const char *key = map->keys[i]->str;
        int known = skip != NULL && conf_in_list(skip, key);
        for (size_t j = 0; !known && j < ntab; j++) {
            known = strcmp(tab[j].name, key) == 0;
        }
        if (!known) {
            char list[512] = "";
            for (size_t j = 0; j < ntab; j++) {
                strncat(list, j ? ", " : "", sizeof(list) - strlen(list) - 1);
                strncat(list, tab[j].name, sizeof(list) - strlen(list) - 1);
            }
            for (size_t j = 0; skip != NULL && skip[j] != NULL; j++) {
                strncat(list, ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, skip[j], sizeof(list) - strlen(list) - 1);
            }
            errlist_add(errs, file, map->keys[i]->line, map->keys[i]->col,
                        "unknown key '%s' in %s (known: %s)", key, section, list);
            r = -1;
        }
    }
    return r;
}

/* Resolve a relative path against the config file's directory. Returns a new string. */
static char *
conf_resolve(const struct conf *conf, const char *path)
{
    if (path[0] == '/' || strcmp(path, "-") == 0) {
        return xstrdup(path);
    }
    return xasprintf("%s/%s", conf->dir, path);
}

static int
conf_load_input(struct conf *conf, const struct ynode *node, struct conf_input *in,
                struct errlist *errs)
{
    static const char *const skip[] = {"type", "kafka", NULL};
    const struct ynode *type = ynode_get(node, "type");
    const struct ynode *props;
    const char *file = conf->file;
    int r = 0;

    memset(in, 0, sizeof(*in));
    in->line = node->line;
    if (node->type != YNODE_MAP) {
        errlist_add(errs, file, node->line, node->col, "an input must be a map, not a %s",
                    ynode_type_name(node));
        return -1;
    }
    if (type == NULL || type->type != YNODE_SCALAR) {
        errlist_add(errs, file, node->line, node->col,
                    "input needs 'type: kafka', 'type: file' or 'type: stdin'");
        return -1;
    }
    if (strcmp(type->str, "kafka") == 0) {
        in->type = INPUT_KAFKA;
    } else if (strcmp(type->str, "file") == 0) {
        in->type = INPUT_FILE;
    } else if (strcmp(type->str, "stdin") == 0) {
        in->type = INPUT_STDIN;
    } else {
        errlist_add(errs, file, type->line, type->col,
                    "unknown input type '%s' (kafka, file, stdin)", type->str);
        return -1;
    }
    if (conf_apply(conf_input_keys, node, in, "input", skip, file, errs) != 0) {
        r = -1;
    }
    for (size_t i = 0; i < node->n; i++) {
        const char *key = node->keys[i]->str;
        const char *const *other = NULL;
        if (in->type != INPUT_KAFKA && (conf_in_list(conf_kafka_only, key) ||
                                        strcmp(key, "kafka") == 0)) {
            other = conf_kafka_only;
        } else if (in->type != INPUT_FILE && conf_in_list(conf_file_only, key)) {
            other = conf_file_only;
        }
        if (other != NULL) {
            errlist_add(errs, file, node->keys[i]->line, node->keys[i]->col,
                        "'%s' does not apply to a %s input", key, type->str);
            r = -1;
        }
    }
    switch (in->type) {
    case INPUT_KAFKA:
        if (in->brokers == NULL) {
            errlist_add(errs, file, node->line, node->col,
                        "kafka input needs 'brokers' (host:port list or \"embedded\")");
            r = -1;
        }
        if (in->ntopics == 0) {
            errlist_add(errs, file, node->line, node->col, "kafka input needs 'topics'");
            r = -1;
        }
        props = ynode_get(node, "kafka");
        if (props != NULL && props->type != YNODE_MAP) {
            errlist_add(errs, file, props->line, props->col,
                        "'kafka' must be a map of librdkafka properties");
            r = -1;
        } else if (props != NULL) {
            in->props = xcalloc(2 * props->n + 1, sizeof(char *));
            for (size_t i = 0; i < props->n; i++) {
                if (props->items[i]->type != YNODE_SCALAR) {
                    errlist_add(errs, file, props->items[i]->line, props->items[i]->col,
                                "librdkafka property '%s' must be a scalar",
                                props->keys[i]->str);
                    r = -1;
                    continue;
                }
                in->props[2 * in->nprops] = xstrdup(props->keys[i]->str);
                in->props[2 * in->nprops + 1] = xstrdup(props->items[i]->str);
                in->nprops++;
            }
        }
        if (in->ntopics > 0) {
            in->name = xasprintf("kafka:%s", in->topics[0]);
        }
        break;
    case INPUT_FILE:
        if (in->path == NULL) {
            errlist_add(errs, file, node->line, node->col, "file input needs 'path'");
            r = -1;
        } else {
            char *abs = conf_resolve(conf, in->path);
            free(in->path);
            in->path = abs;
            in->name = xstrdup(abs);
        }
        break;
    case INPUT_STDIN:
        in->name = xstrdup("stdin");
        break;
    }
    if (in->name == NULL) {
        in->name = xstrdup(type->str);
    }
    return r;
}

static int
conf_load_output(struct conf *conf, const struct ynode *node, struct conf_output *out,
                 struct errlist *errs)
{
    const struct ynode *name = ynode_get(node, "name");
    const struct ynode *plugin = ynode_get(node, "plugin");
    const struct ynode *path = ynode_get(node, "path");
    const char *file = conf->file;
    int r = 0;

    memset(out, 0, sizeof(*out));
    out->line = node->line;
    out->entry = node;
    out->min_level = -1;
    out->tlp = TLP_RED; /* a local output sees every alert */
    if (node->type != YNODE_MAP) {
        errlist_add(errs, file, node->line, node->col, "an output must be a map, not a %s",
                    ynode_type_name(node));
        return -1;
    }
    if (name == NULL || name->type != YNODE_SCALAR || name->len == 0) {
        errlist_add(errs, file, node->line, node->col, "output needs a 'name'");
        r = -1;
    } else {
        out->name = xstrdup(name->str);
    }
    if (plugin == NULL || plugin->type != YNODE_SCALAR || plugin->len == 0) {
        errlist_add(errs, file, node->line, node->col,
                    "output needs 'plugin' (a format plugin name, e.g. json)");
        r = -1;
    } else {
        for (const char *c = plugin->str; *c != '\0'; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
                errlist_add(errs, file, plugin->line, plugin->col,
                            "plugin name '%s' may only contain a-z, 0-9 and _", plugin->str);
                r = -1;
                break;
            }
        }
        out->plugin = xstrdup(plugin->str);
    }
    if (path == NULL || path->type != YNODE_SCALAR || path->len == 0) {
        errlist_add(errs, file, node->line, node->col,
                    "output needs 'path' (a file to append to, or \"-\" for stdout)");
        r = -1;
    } else {
        out->path = conf_resolve(conf, path->str);
    }
    return r;
}

int
conf_tlp_parse(const char *s, enum conf_tlp *out)
{
    if (strcmp(s, "white") == 0) {
        *out = TLP_CLEAR;
        return 0;
    }
    for (int i = 0; conf_tlp_names[i] != NULL; i++) {
        if (strcmp(s, conf_tlp_names[i]) == 0) {
            *out = (enum conf_tlp)i;
            return 0;
        }
    }
    return -1;
}

const char *
conf_tlp_name(enum conf_tlp tlp)
{
    return conf_tlp_names[tlp];
}

static const char *const conf_levels[] = {"informational", "low", "medium", "high", "critical",
                                          NULL};

/* The filter map of a partner: min_level, tags, rules. */
static int
conf_load_filter(struct conf *conf, const struct ynode *f, struct conf_output *out,
                 struct errlist *errs)
{
    struct conf_filter_tmp {
        int min_level;
        char **tags;
        size_t ntags;
        char **rules;
        size_t nrules;
    } tmp = {0};
    const struct conf_key keys[] = {
        {"min_level", CT_ENUM, offsetof(struct conf_filter_tmp, min_level), 0, NULL, 0, 0,
         conf_levels, "least severe level sent"},
        {"tags", CT_STRLIST, offsetof(struct conf_filter_tmp, tags),
         offsetof(struct conf_filter_tmp, ntags), NULL, 0, 0, NULL, "tag globs"},
        {"rules", CT_STRLIST, offsetof(struct conf_filter_tmp, rules),
         offsetof(struct conf_filter_tmp, nrules), NULL, 0, 0, NULL, "rule id globs"},
        {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    int r;

    tmp.min_level = -1;
    r = conf_apply(keys, f, &tmp, "filter", NULL, conf->file, errs);
    out->min_level = tmp.min_level;
    out->tags = tmp.tags;
    out->ntags = tmp.ntags;
    out->rule_globs = tmp.rules;
    out->nrule_globs = tmp.nrules;
    return r;
}

static int
conf_load_partner(struct conf *conf, const struct ynode *node, struct conf_output *out,
                  struct errlist *errs)
{
    const struct ynode *name = ynode_get(node, "name");
    const struct ynode *format = ynode_get(node, "format");
    const struct ynode *deliver = ynode_get(node, "deliver");
    const struct ynode *filter = ynode_get(node, "filter");
    const struct ynode *tlp = ynode_get(node, "tlp");
    const struct ynode *privacy = ynode_get(node, "privacy");
    const char *file = conf->file;
    int r = 0;

    memset(out, 0, sizeof(*out));
    out->line = node->line;
    out->entry = node;
    out->is_partner = 1;
    out->min_level = -1;
    out->tlp = TLP_RED;
    if (node->type != YNODE_MAP) {
        errlist_add(errs, file, node->line, node->col, "a partner must be a map, not a %s",
                    ynode_type_name(node));
        return -1;
    }
    if (name == NULL || name->type != YNODE_SCALAR || name->len == 0) {
        errlist_add(errs, file, node->line, node->col, "partner needs a 'name'");
        r = -1;
    } else {
        for (const char *c = name->str; *c != '\0'; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.')) {
                errlist_add(errs, file, name->line, name->col,
                            "partner name '%s' may only contain letters, digits, _ - .",
                            name->str);
                r = -1;
                break;
            }
        }
        out->name = xstrdup(name->str);
    }
    if (format == NULL || format->type != YNODE_SCALAR || format->len == 0) {
        errlist_add(errs, file, node->line, node->col,
                    "partner needs 'format' (stix21, misp, idmef, iodef, cef, ocsf, syslog, "
                    "json, or another plugin)");
        r = -1;
    } else {
        out->plugin = xstrdup(format->str);
    }
    if (deliver == NULL || deliver->type != YNODE_MAP) {
        errlist_add(errs, file, deliver ? deliver->line : node->line,
                    deliver ? deliver->col : node->col,
                    "partner needs a 'deliver' map (type: file | kafka | http | redis | syslog)");
        r = -1;
    } else {
        out->deliver = deliver;
    }
    if (filter != NULL && conf_load_filter(conf, filter, out, errs) != 0) {
        r = -1;
    }
    if (tlp != NULL) {
        if (tlp->type != YNODE_SCALAR || conf_tlp_parse(tlp->str, &out->tlp) != 0) {
            errlist_add(errs, file, tlp->line, tlp->col,
                        "'tlp' must be one of clear, green, amber, amber+strict, red");
            r = -1;
        }
    } else {
        errlist_add(errs, file, node->line, node->col,
                    "partner needs 'tlp' (the highest TLP it may receive)");
        r = -1;
    }
    if (privacy != NULL) {
        if (privacy->type != YNODE_SCALAR) {
            errlist_add(errs, file, privacy->line, privacy->col,
                        "'privacy' must name a privacy profile");
            r = -1;
        } else {
            out->privacy = xstrdup(privacy->str);
        }
    }
    return r;
}

/* A list default for a CT_STRLIST slot left empty. */
static void
conf_default_list(char ***slot, size_t *n, const char *const *def)
{
    size_t k = 0;

    while (def[k] != NULL) {
        k++;
    }
    *slot = xcalloc(k + 1, sizeof(char *));
    for (*n = 0; *n < k; (*n)++) {
        (*slot)[*n] = xstrdup(def[*n]);
    }
}

/* One profile of privacy_profiles: (the key files are read later, by privacy.c). */
static int
conf_load_privacy(struct conf *conf, const struct ynode *key, const struct ynode *node,
                  struct conf_privacy *p, struct errlist *errs)
{
    static const char *const skip[] = {"pseudonymize", "ip", NULL};
    static const char *const text_def[] = {"message", "event.original", "error.message",
                                           "log.original", NULL};
    static const char *const time_def[] = {"@timestamp", "event.created", "event.ingested",
                                           "event.start", "event.end", NULL};
    const struct ynode *pseu = ynode_get(node, "pseudonymize");
    const struct ynode *ip = ynode_get(node, "ip");
    const struct ynode *rt = ynode_get(node, "redact_text");
    const char *file = conf->file;
    char *section = xasprintf("privacy profile '%s'", key->str);
    char **paths[4];
    int r = 0;

    memset(p, 0, sizeof(*p));
    p->name = xstrdup(key->str);
    p->entry = node;
    p->line = key->line;
    if (node->type != YNODE_MAP) {
        errlist_add(errs, file, node->line, node->col, "%s must be a map, not a %s", section,
                    ynode_type_name(node));
        free(section);
        return -1;
    }
    r |= conf_apply(conf_privacy_keys, node, p, section, skip, file, errs);
    r |= conf_apply(conf_pseudonymize_keys, pseu, p, "pseudonymize", NULL, file, errs);
    r |= conf_apply(conf_ip_keys, ip, p, "ip", NULL, file, errs);
    p->has_keep = ynode_get(node, "keep") != NULL;
    if (ynode_get(node, "text_fields") == NULL) {
        conf_default_list(&p->text_fields, &p->ntext_fields, text_def);
    }
    if (ynode_get(node, "time_fields") == NULL) {
        conf_default_list(&p->time_fields, &p->ntime_fields, time_def);
    }
    for (size_t i = 0; i < p->nredact_text; i++) {
        if (privacy_text_detector(p->redact_text[i]) == 0) {
            const struct ynode *at = rt->type == YNODE_SEQ ? rt->items[i] : rt;
            errlist_add(errs, file, at->line, at->col,
                        "%s: unknown redact_text detector '%s' (email, ipv4, ipv6, user, "
                        "hostname)",
                        section, p->redact_text[i]);
            r = -1;
        }
    }
    if (p->npseudonymize > 0 && p->pseudonym_key_file == NULL && p->key_file == NULL) {
        errlist_add(errs, file, pseu->line, pseu->col,
                    "%s: pseudonymize needs a key_file (in pseudonymize: or in the profile)",
                    section);
        r = -1;
    }
    if (p->ip_method == CONF_IP_PREFIX_PRESERVING && p->ip_key_file == NULL &&
        p->key_file == NULL) {
        errlist_add(errs, file, ip->line, ip->col,
                    "%s: ip method prefix_preserving needs a key_file (in ip: or in the "
                    "profile)",
                    section);
        r = -1;
    }
    paths[0] = &p->key_file;
    paths[1] = &p->pseudonym_key_file;
    paths[2] = &p->ip_key_file;
    paths[3] = &p->reveal_map;
    for (size_t i = 0; i < 4; i++) {
        if (*paths[i] != NULL) {
            char *abs = conf_resolve(conf, *paths[i]);
            free(*paths[i]);
            *paths[i] = abs;
        }
    }
    free(section);
    return r;
}

const struct conf_privacy *
conf_privacy_find(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->nprivacy; i++) {
        if (strcmp(conf->privacy[i].name, name) == 0) {
            return &conf->privacy[i];
        }
    }
    return NULL;
}

/* privacy_profiles:, audit: and reveal_map:, and the profile each partner names. */
static int
conf_load_privacy_all(struct conf *conf, const struct ynode *root, struct errlist *errs)
{
    const struct ynode *n = ynode_get(root, "privacy_profiles");
    const char *file = conf->file;
    int r = 0;

    r |= conf_apply(conf_audit_keys, ynode_get(root, "audit"), conf, "audit", NULL, file, errs);
    if (conf->audit_path != NULL) {
        char *abs = conf_resolve(conf, conf->audit_path);
        free(conf->audit_path);
        conf->audit_path = abs;
    }
    if (conf->reveal_map != NULL) {
        char *abs = conf_resolve(conf, conf->reveal_map);
        free(conf->reveal_map);
        conf->reveal_map = abs;
    }
    if (n != NULL && n->type != YNODE_MAP) {
        errlist_add(errs, file, n->line, n->col,
                    "'privacy_profiles' must be a map of profile names to profiles");
        r = -1;
    } else if (n != NULL) {
        conf->privacy = xcalloc(n->n + 1, sizeof(*conf->privacy));
        for (size_t i = 0; i < n->n; i++) {
            r |= conf_load_privacy(conf, n->keys[i], n->items[i],
                                   &conf->privacy[conf->nprivacy++], errs);
        }
    }
    for (size_t i = 0; i < conf->noutputs; i++) {
        const struct conf_output *co = &conf->outputs[i];
        const struct ynode *pn;
        if (co->privacy == NULL || conf_privacy_find(conf, co->privacy) != NULL) {
            continue;
        }
        pn = ynode_get(co->entry, "privacy");
        errlist_add(errs, file, pn ? pn->line : co->line, pn ? pn->col : 1,
                    "partner '%s': unknown privacy profile '%s' (define it under "
                    "privacy_profiles:)",
                    co->name ? co->name : "?", co->privacy);
        r = -1;
    }
    return r;
}

static int
conf_load_doc(struct conf *conf, const struct ynode *root, struct errlist *errs)
{
    static const char *const top_sections[] = {"inputs", "rules",    "outputs", "partners",
                                               "dead_letter", "limits", "time", "state",
                                               "log",    "privacy_profiles", "audit",
                                               "metrics", NULL};
    const char *file = conf->file;
    const struct ynode *n;
    int r = 0;

    if (root->type != YNODE_MAP) {
        errlist_add(errs, file, root->line, root->col, "the config must be a map, not a %s",
                    ynode_type_name(root));
        return -1;
    }
    r |= conf_apply(conf_top_keys, root, conf, "the config", top_sections, file, errs);
    r |= conf_apply(conf_limit_keys, ynode_get(root, "limits"), conf, "limits", NULL, file, errs);
    r |= conf_apply(conf_time_keys, ynode_get(root, "time"), conf, "time", NULL, file, errs);
    {
        static const char *const state_skip[] = {"redis", NULL};
        const struct ynode *sn = ynode_get(root, "state");
        const struct ynode *rn = sn != NULL && sn->type == YNODE_MAP ? ynode_get(sn, "redis")
                                                                     : NULL;
        r |= conf_apply(conf_state_keys, sn, conf, "state", state_skip, file, errs);
        r |= conf_apply(conf_state_redis_keys, rn, conf, "state.redis", NULL, file, errs);
        conf->state_redis_line = rn != NULL ? rn->line : sn != NULL ? sn->line : 0;
        if (conf->redis_password_file != NULL) {
            char *abs = conf_resolve(conf, conf->redis_password_file);
            free(conf->redis_password_file);
            conf->redis_password_file = abs;
        }
        if (conf->redis_username != NULL && conf->redis_password_file == NULL) {
            const struct ynode *u = ynode_get(rn, "username");
            errlist_add(errs, file, u->line, u->col, "state.redis.username needs password_file");
            r = -1;
        }
    }
    r |= conf_apply(conf_log_keys, ynode_get(root, "log"), conf, "log", NULL, file, errs);
    r |= conf_apply(conf_metrics_keys, ynode_get(root, "metrics"), conf, "metrics", NULL, file,
                    errs);
    if (conf->run_group != NULL && conf->run_user == NULL) {
        const struct ynode *g = ynode_get(root, "group");
        errlist_add(errs, file, g->line, g->col, "'group' needs 'user'");
        r = -1;
    }
    r |= conf_apply(conf_dead_letter_keys, ynode_get(root, "dead_letter"), conf, "dead_letter",
                    NULL, file, errs);
    conf->log_level += LOG_LVL_ERR; /* enum index -> syslog severity */
    if (conf->dead_letter_path != NULL) {
        char *abs = conf_resolve(conf, conf->dead_letter_path);
        free(conf->dead_letter_path);
        conf->dead_letter_path = abs;
    }
    if (conf->plugin_dir != NULL) {
        char *abs = conf_resolve(conf, conf->plugin_dir);
        free(conf->plugin_dir);
        conf->plugin_dir = abs;
    }

    n = ynode_get(root, "inputs");
    if (n == NULL || n->type != YNODE_SEQ || n->n == 0) {
        errlist_add(errs, file, n ? n->line : root->line, n ? n->col : root->col,
                    "'inputs' must be a non-empty list");
        r = -1;
    } else {
        conf->inputs = xcalloc(n->n, sizeof(*conf->inputs));
        for (size_t i = 0; i < n->n; i++) {
            r |= conf_load_input(conf, n->items[i], &conf->inputs[conf->ninputs++], errs);
        }
        for (size_t i = 0, nstdin = 0; i < conf->ninputs; i++) {
            if (conf->inputs[i].type == INPUT_STDIN && ++nstdin == 2) {
                errlist_add(errs, file, conf->inputs[i].line, 1, "only one stdin input");
                r = -1;
            }
        }
    }

    n = ynode_get(root, "rules");
    if (n == NULL) {
        errlist_add(errs, file, root->line, root->col,
                    "'rules' is missing (a list of rule files or globs)");
        r = -1;
    } else {
        const struct conf_key k = {"rules", CT_STRLIST, CONF_OFF(rules), CONF_OFF(nrules),
                                   NULL, 0, 0, NULL, NULL};
        if (conf_set_value(&k, n, NULL, conf, file, errs) != 0) {
            r = -1;
        }
        for (size_t i = 0; i < conf->nrules; i++) {
            char *abs = conf_resolve(conf, conf->rules[i]);
            free(conf->rules[i]);
            conf->rules[i] = abs;
        }
    }

    n = ynode_get(root, "outputs");
    {
        const struct ynode *pn = ynode_get(root, "partners");
        size_t total = (n && n->type == YNODE_SEQ ? n->n : 0) +
                       (pn && pn->type == YNODE_SEQ ? pn->n : 0);
        conf->outputs = xcalloc(total + 1, sizeof(*conf->outputs));
        if (pn != NULL && pn->type != YNODE_SEQ) {
            errlist_add(errs, file, pn->line, pn->col, "'partners' must be a list");
            r = -1;
        }
        for (size_t i = 0; pn != NULL && pn->type == YNODE_SEQ && i < pn->n; i++) {
            r |= conf_load_partner(conf, pn->items[i], &conf->outputs[conf->noutputs++], errs);
        }
    }
    if (n != NULL && n->type != YNODE_SEQ) {
        errlist_add(errs, file, n->line, n->col, "'outputs' must be a list");
        r = -1;
    } else if (n != NULL) {
        for (size_t i = 0; i < n->n; i++) {
            r |= conf_load_output(conf, n->items[i], &conf->outputs[conf->noutputs++], errs);
        }
    }
    for (size_t i = 0; i < conf->noutputs; i++) {
        for (size_t j = 0; j < i; j++) {
            if (conf->outputs[i].name && conf->outputs[j].name &&
                strcmp(conf->outputs[i].name, conf->outputs[j].name) == 0) {
                errlist_add(errs, file, conf->outputs[i].line, 1,
                            "duplicate output/partner name '%s' (first at line %d)",
                            conf->outputs[i].name, conf->outputs[j].line);
                r = -1;
            }
        }
    }
    r |= conf_load_privacy_all(conf, root, errs);
    return r ? -1 : 0;
}

/*
 * Load from text when text != NULL, else from the file at path; path names the config in
 * messages and relative paths resolve against its directory.
 */
static int
conf_load_any(const char *path, const char *text, size_t len, struct conf **out,
              struct errlist *errs)
{
    struct conf *conf = xcalloc(1, sizeof(*conf));
    char err[1024];
    const char *slash;
    int parsed;
    int r = -1;

    *out = NULL;
    conf->file = xstrdup(path);
    slash = strrchr(path, '/');
    conf->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    if (slash == path) {
        free(conf->dir);
        conf->dir = xstrdup("/");
    }
    if (text != NULL) {
        parsed = yaml_tree_parse(path, text, len, &conf->docs, &conf->ndocs, err, sizeof(err));
    } else {
        parsed = yaml_tree_load_file(path, &conf->docs, &conf->ndocs, err, sizeof(err));
    }
    if (parsed != 0) {
        errlist_add_raw(errs, err);
        goto out;
    }
    if (conf->ndocs != 1) {
        errlist_add(errs, path, 1, 1, "the config must hold exactly one YAML document");
        goto out;
    }
    r = conf_load_doc(conf, conf->docs[0], errs);
    if (conf->host_name == NULL) {
        char host[256] = "kizunad";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        conf->host_name = xstrdup(host);
    }
    /* Even an invalid config is handed back, so --check-config can go on to the rules
     * and plugins and list every problem at once. */
    *out = conf;
    conf = NULL;
out:
    conf_free(conf);
    return r;
}

int
conf_load(const char *path, struct conf **out, struct errlist *errs)
{
    return conf_load_any(path, NULL, 0, out, errs);
}

int
conf_load_text(const char *path, const char *text, size_t len, struct conf **out,
               struct errlist *errs)
{
    return conf_load_any(path, text, len, out, errs);
}

static void
conf_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void
conf_free(struct conf *conf)
{
    if (conf == NULL) {
        return;
    }
    for (size_t i = 0; i < conf->ninputs; i++) {
        struct conf_input *in = &conf->inputs[i];
        free(in->name);
        free(in->brokers);
        conf_free_strv(in->topics, in->ntopics);
        free(in->group);
        conf_free_strv(in->props, 2 * in->nprops);
        free(in->path);
    }
    free(conf->inputs);
    conf_free_strv(conf->rules, conf->nrules);
    for (size_t i = 0; i < conf->noutputs; i++) {
        free(conf->outputs[i].name);
        free(conf->outputs[i].plugin);
        free(conf->outputs[i].path);
        free(conf->outputs[i].privacy);
        conf_free_strv(conf->outputs[i].tags, conf->outputs[i].ntags);
        conf_free_strv(conf->outputs[i].rule_globs, conf->outputs[i].nrule_globs);
    }
    free(conf->outputs);
    for (size_t i = 0; i < conf->nprivacy; i++) {
        struct conf_privacy *p = &conf->privacy[i];
        free(p->name);
        conf_free_strv(p->keep, p->nkeep);
        conf_free_strv(p->drop, p->ndrop);
        free(p->key_file);
        conf_free_strv(p->pseudonymize, p->npseudonymize);
        free(p->pseudonym_key_file);
        conf_free_strv(p->ip_fields, p->nip_fields);
        free(p->ip_key_file);
        conf_free_strv(p->redact_text, p->nredact_text);
        conf_free_strv(p->text_fields, p->ntext_fields);
        conf_free_strv(p->time_fields, p->ntime_fields);
        free(p->reveal_map);
    }
    free(conf->privacy);
    free(conf->audit_path);
    free(conf->reveal_map);
    free(conf->dead_letter_path);
    free(conf->plugin_dir);
    free(conf->host_name);
    free(conf->state_dir);
    free(conf->state_dump_path);
    free(conf->redis_url);
    free(conf->redis_password_file);
    free(conf->redis_username);
    free(conf->redis_prefix);
    free(conf->metrics_listen);
    free(conf->run_user);
    free(conf->run_group);
    yaml_tree_free_docs(conf->docs, conf->ndocs);
    free(conf->file);
    free(conf->dir);
    free(conf);
}

static void
conf_print_table(FILE *out, const char *section, const struct conf_key *tab)
{
    fprintf(out, "\n### %s\n\n| key | type | default | help |\n|---|---|---|---|\n", section);
    for (; tab->name != NULL; tab++) {
        const char *def = tab->def ? tab->def : "-";
        size_t lsd = strlen(LOCALSTATEDIR);

        fprintf(out, "| `%s` | %s | ", tab->name, conf_type_name(tab->type));
        /* Build-dependent defaults are shown symbolically, so the reference is the same
         * for every prefix. */
        if (strncmp(def, LOCALSTATEDIR, lsd) == 0) {
            fprintf(out, "$(localstatedir)%s", def + lsd);
        } else {
            fputs(def, out);
        }
        fputs(" | ", out);
        for (const char *c = tab->help; *c != '\0'; c++) {
            if (*c == '|') {
                fputc('\\', out);
            }
            fputc(*c, out);
        }
        fputs(" |\n", out);
    }
}

void
conf_print_reference(FILE *out)
{
    fprintf(out, "## Configuration keys\n");
    conf_print_table(out, "top level", conf_top_keys);
    conf_print_table(out, "inputs[] (also `type`: kafka | file | stdin; kafka: `kafka:` map "
                          "of librdkafka properties)",
                     conf_input_keys);
    conf_print_table(out, "dead_letter", conf_dead_letter_keys);
    conf_print_table(out, "limits", conf_limit_keys);
    conf_print_table(out, "time", conf_time_keys);
    conf_print_table(out, "state", conf_state_keys);
    conf_print_table(out, "state.redis (docs/STATE.md)", conf_state_redis_keys);
    conf_print_table(out, "log", conf_log_keys);
    conf_print_table(out, "metrics", conf_metrics_keys);
    conf_print_table(out, "audit", conf_audit_keys);
    conf_print_table(out, "privacy_profiles.NAME (docs/PRIVACY.md)", conf_privacy_keys);
    conf_print_table(out, "privacy_profiles.NAME.pseudonymize", conf_pseudonymize_keys);
    conf_print_table(out, "privacy_profiles.NAME.ip", conf_ip_keys);
}
