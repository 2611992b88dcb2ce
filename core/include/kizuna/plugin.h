/*
 * kizuna/plugin.h - the output plugin ABI of kizunad (ABI 1.0).
 *
 * This is the only header an output plugin includes. A plugin is a shared object that
 * kizunad loads with dlopen(3). It exports exactly one symbol, kz_plugin_entry(), which
 * returns a pointer to a static struct kz_plugin describing the plugin.
 *
 * A format plugin turns one alert into bytes appended to a host-owned buffer; the host
 * delivers those bytes (file, Kafka, HTTP, syslog ...). Plugins never see JSON strings to
 * re-parse: they read the alert through the accessor functions in struct kz_host.
 *
 * Versioning: the host refuses a plugin whose abi_major differs from KZ_ABI_MAJOR, whose
 * abi_minor is newer than the host's, whose struct_size is smaller than the 1.0 descriptor,
 * whose name is missing or already loaded, or that lacks init, emit or close. New fields are
 * only ever appended to struct kz_plugin and struct kz_host, and abi_minor is raised when
 * they are; a plugin built against an older minor keeps working.
 *
 * Threads: every callback is called on the daemon's single event-loop thread.
 * Memory: whoever allocates, frees. Strings the host hands out stay valid for the duration
 * of the callback they were handed to (option strings: until close).
 *
 * See kizuna-plugin(3) for the full manual and contrib/plugin-example/ for a complete
 * out-of-tree plugin.
 */
#ifndef KIZUNA_PLUGIN_H
#define KIZUNA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KZ_ABI_MAJOR 1
#define KZ_ABI_MINOR 0

/* Name of the one symbol a plugin exports. */
#define KZ_PLUGIN_ENTRY_SYMBOL "kz_plugin_entry"

/* Mark the entry point exported even under -fvisibility=hidden. */
#define KZ_EXPORT __attribute__((visibility("default")))

/* Status codes returned by every plugin callback. */
enum kz_status {
    KZ_OK = 0,     /* done */
    KZ_RETRY = -1, /* transient failure (peer down): the host retries later */
    KZ_AGAIN = -2, /* backpressure: not accepted now, call again with the same alert */
    KZ_ERR = -3,   /* permanent failure for this call: the host logs and counts it */
};

/* Log levels for kz_host.log (syslog severities). */
enum kz_log_level {
    KZ_LOG_ERR = 3,
    KZ_LOG_WARNING = 4,
    KZ_LOG_NOTICE = 5,
    KZ_LOG_INFO = 6,
    KZ_LOG_DEBUG = 7,
};

/* Types of plugin options; the host fills the plugin's config struct at `offset`. */
enum kz_option_type {
    KZ_OPT_STRING = 1, /* const char * (host-owned, valid until close); NULL if unset */
    KZ_OPT_INT = 2,    /* int64_t, checked against min and max */
    KZ_OPT_BOOL = 3,   /* int, 0 or 1 */
};

/*
 * One option a plugin accepts in its partner/output entry of the config. The table ends
 * with an entry whose name is NULL. Unknown keys in the config are refused by the host
 * with file:line. default_value is parsed as if written in the config (NULL: no default).
 */
struct kz_option {
    const char *name;
    enum kz_option_type type;
    const char *default_value;
    int64_t min;
    int64_t max;
    size_t offset;    /* offsetof(struct my_config, field) */
    const char *help; /* one line, shown by kizunad --list-plugins */
};

/* Opaque host objects. */
struct kz_alert;    /* one alert, read through the kz_host accessors */
struct kz_buf;      /* a growable output buffer owned by the host */
struct kz_instance; /* one configured use of the plugin (a partner); used to tag logs */

/* String attributes of an alert (kz_host.alert_str). */
enum kz_alert_attr {
    KZ_ALERT_ID = 0,         /* kizuna.alert_id: 32 lowercase hex digits, deterministic */
    KZ_ALERT_RULE_ID = 1,    /* rule.id */
    KZ_ALERT_RULE_TITLE = 2, /* rule.name */
    KZ_ALERT_LEVEL = 3,      /* informational | low | medium | high | critical */
    KZ_ALERT_KIND = 4,       /* "detection" or "correlation" */
    KZ_ALERT_CORR_TYPE = 5,  /* event_count, value_count ...; NULL for detections */
    KZ_ALERT_GROUP_KEY = 6,  /* printable group key, "" when the rule has no group-by */
    KZ_ALERT_TLP = 7,        /* TLP 2.0 label of this delivery: clear|green|amber|amber+strict|red;
                                NULL when the partner has none */
    KZ_ALERT_PARTNER = 8,    /* name of the partner/output this delivery is for */
    KZ_ALERT_RULE_HASH = 9,  /* hash of the rule's definition (hex) */
    KZ_ALERT_HOST = 10,      /* name of the detecting kizunad (analyzer), from the config */
};

/* Times of an alert, microseconds since the Unix epoch (kz_host.alert_time). */
enum kz_alert_time {
    KZ_TIME_ALERT = 0, /* event time at which the alert was raised */
    KZ_TIME_FIRST = 1, /* event time of the first contributing event */
    KZ_TIME_LAST = 2,  /* event time of the last contributing event */
};

/* Sets of name/value pairs carried by an alert (kz_host.alert_nfields/alert_field). */
enum kz_field_set {
    KZ_FIELDS_EVENT = 0, /* fields of the (last) matched event, ECS names, incl. event.original */
    KZ_FIELDS_GROUP = 1, /* the group-by fields and their values */
};

/* One name/value pair. Not NUL-terminated in general: use the lengths. */
struct kz_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/*
 * Services the host offers a plugin, handed to init(). The plugin keeps the pointer; it is
 * valid until close(). Check struct_size before using a member added after 1.0.
 */
struct kz_host {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    /* Log a line tagged "[out_<plugin>:<instance>]" (e.g. "[out_json:soc]"); level is a
     * kz_log_level, filtered by the daemon's log level before formatting. */
    void (*log)(const struct kz_instance *inst, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* A string attribute of the alert; NULL when absent. NUL-terminated. */
    const char *(*alert_str)(const struct kz_alert *alert, enum kz_alert_attr attr);
    /* A time of the alert in microseconds since the epoch. For a detection alert, first and
     * last are the alert time. */
    int64_t (*alert_time)(const struct kz_alert *alert, enum kz_alert_time which);
    /* Number of contributing events (1 for a detection alert). */
    uint64_t (*alert_count)(const struct kz_alert *alert);
    /* The correlation's measured value (sum, average, distinct count): returns 1 and sets
     * *value when the alert has one, returns 0 and sets *value to 0 when it has none. */
    int (*alert_value)(const struct kz_alert *alert, double *value);
    /* Numeric level: 0 informational, 1 low, 2 medium, 3 high, 4 critical. */
    int (*alert_severity)(const struct kz_alert *alert);
    /* Tags of the rule (e.g. attack.t1110); alert_tag() returns NULL past the end. */
    size_t (*alert_ntags)(const struct kz_alert *alert);
    const char *(*alert_tag)(const struct kz_alert *alert, size_t i);
    /* Fields of a set, by index: alert_field() returns KZ_OK and fills *out, or KZ_ERR past
     * the end. Several fields may share a name (multi-valued); order is the event's. */
    size_t (*alert_nfields)(const struct kz_alert *alert, enum kz_field_set set);
    int (*alert_field)(const struct kz_alert *alert, enum kz_field_set set, size_t i,
                       struct kz_field *out);
    /* First value of an event field by ECS name, or NULL; *len receives its length. */
    const char *(*alert_get)(const struct kz_alert *alert, const char *name, size_t *len);
    /* Evidence: a bounded sample of contributing events, each a list of fields; indexes
     * out of range give 0 / KZ_ERR. */
    size_t (*alert_nevidence)(const struct kz_alert *alert);
    size_t (*evidence_nfields)(const struct kz_alert *alert, size_t ev);
    int (*evidence_field)(const struct kz_alert *alert, size_t ev, size_t i,
                          struct kz_field *out);

    /* Output buffer: append raw bytes, formatted text, or escaped strings. */
    void (*buf_append)(struct kz_buf *buf, const void *data, size_t len);
    void (*buf_printf)(struct kz_buf *buf, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
    /* Append s as a quoted, escaped JSON string (invalid UTF-8 replaced by U+FFFD): valid
     * JSON for any bytes. */
    void (*buf_json_string)(struct kz_buf *buf, const char *s, size_t len);
    /* Append s escaped as XML character data / attribute value (&, <, >, ", '). */
    void (*buf_xml_text)(struct kz_buf *buf, const char *s, size_t len);
    /* Append a time as RFC 3339 UTC with microseconds: 2026-11-27T01:02:03.000004Z. */
    void (*buf_time)(struct kz_buf *buf, int64_t usec);
    size_t (*buf_len)(const struct kz_buf *buf);
};

/*
 * The descriptor a plugin returns from kz_plugin_entry(). Fields are only ever appended.
 * Lifecycle, per configured instance:
 *   init(host, inst, config, &state)  allocate state; config is the filled option struct
 *                                      (host-owned, valid until close returns)
 *   open(state)                        acquire resources (may be NULL)
 *   emit(state, alert, buf)*           append one alert's bytes to buf
 *   flush(state, buf)                  append anything batched (may be NULL)
 *   close(state)                       release everything init/open acquired
 * If init fails the plugin has released what it took and close is not called; if open
 * fails the host calls close. When emit or flush returns anything but KZ_OK, the host
 * discards whatever the call appended to buf.
 */
struct kz_plugin {
    uint16_t abi_major;   /* KZ_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;   /* KZ_ABI_MINOR the plugin was built against */
    uint32_t struct_size; /* sizeof(struct kz_plugin) the plugin was built with */

    const char *name;        /* unique name, e.g. "json"; loaded from out_<name>.so */
    const char *version;     /* the plugin's own version string */
    const char *description; /* one line */

    const struct kz_option *options; /* NULL-name terminated table, or NULL */
    size_t config_size;              /* size of the config struct the host allocates */

    int (*init)(const struct kz_host *host, const struct kz_instance *inst, void *config,
                void **state);
    int (*open)(void *state);
    int (*emit)(void *state, const struct kz_alert *alert, struct kz_buf *buf);
    int (*flush)(void *state, struct kz_buf *buf);
    void (*close)(void *state);
};

/* Every plugin defines this function; it returns a pointer to static storage. */
typedef const struct kz_plugin *(*kz_plugin_entry_cb)(void);
KZ_EXPORT const struct kz_plugin *kz_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif
