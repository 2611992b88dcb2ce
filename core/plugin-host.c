/*
 * The services kizunad offers output plugins (struct kz_host of <kizuna/plugin.h>): tagged
 * logging, read-only accessors over the host's struct alert, and the output buffer (struct
 * buf). A plugin holds opaque pointers; here they are cast back to the host's types. Every
 * accessor validates its arguments (enum values, indexes) since they come from the plugin.
 */
#include <stdarg.h>
#include <string.h>

#include "alert.h"
#include "buf.h"
#include "log.h"
#include "plugin-loader.h"
#include "rule.h"
#include "timeutil.h"

/* struct kz_alert and struct kz_buf are never defined: they are the host's types in disguise. */
static const struct alert *
host_alert(const struct kz_alert *alert)
{
    return (const struct alert *)(const void *)alert;
}

static struct buf *
host_buf(struct kz_buf *buf)
{
    return (struct buf *)(void *)buf;
}

static void
host_log(const struct kz_instance *inst, int level, const char *fmt, ...)
{
    const char *tag = NULL;
    va_list ap;

    if (level < 0) {
        level = 0;
    } else if (level > LOG_LVL_DEBUG) {
        level = LOG_LVL_DEBUG;
    }
    if (level > log_level) {
        return;
    }
    if (inst != NULL) {
        tag = plugin_instance_tag((const struct plugin_instance *)(const void *)inst);
    }
    va_start(ap, fmt);
    log_vwrite(level, tag, fmt, ap);
    va_end(ap);
}

static const char *
host_level_name(const struct rule *rule)
{
    static const char *const names[] = {"informational", "low", "medium", "high", "critical"};

    if (rule == NULL || (unsigned)rule->level > RULE_LEVEL_CRITICAL) {
        return NULL;
    }
    return names[rule->level];
}

static const char *
host_alert_str(const struct kz_alert *alert, enum kz_alert_attr attr)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL) {
        return NULL;
    }
    switch (attr) {
    case KZ_ALERT_ID:
        return a->id[0] != '\0' ? a->id : NULL;
    case KZ_ALERT_RULE_ID:
        return a->rule != NULL ? a->rule->id : NULL;
    case KZ_ALERT_RULE_TITLE:
        return a->rule != NULL ? a->rule->title : NULL;
    case KZ_ALERT_LEVEL:
        return host_level_name(a->rule);
    case KZ_ALERT_KIND:
        if (a->corr_type != NULL || (a->rule != NULL && a->rule->kind == RULE_CORRELATION)) {
            return "correlation";
        }
        return "detection";
    case KZ_ALERT_CORR_TYPE:
        return a->corr_type;
    case KZ_ALERT_GROUP_KEY:
        return a->group_key != NULL ? a->group_key : "";
    case KZ_ALERT_TLP:
        return a->tlp;
    case KZ_ALERT_PARTNER:
        return a->partner;
    case KZ_ALERT_RULE_HASH:
        return a->rule != NULL && a->rule->hash[0] != '\0' ? a->rule->hash : NULL;
    case KZ_ALERT_HOST:
        return a->host_name;
    }
    return NULL;
}

static int64_t
host_alert_time(const struct kz_alert *alert, enum kz_alert_time which)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL) {
        return 0;
    }
    /* A detection alert carries only its time: first and last seen are that time too. */
    switch (which) {
    case KZ_TIME_ALERT:
        return a->time_us;
    case KZ_TIME_FIRST:
        return a->first_us != 0 ? a->first_us : a->time_us;
    case KZ_TIME_LAST:
        return a->last_us != 0 ? a->last_us : a->time_us;
    }
    return 0;
}

static uint64_t
host_alert_count(const struct kz_alert *alert)
{
    const struct alert *a = host_alert(alert);

    return a != NULL ? a->count : 0;
}

static int
host_alert_value(const struct kz_alert *alert, double *value)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL || !a->has_value) {
        if (value != NULL) {
            *value = 0;
        }
        return 0;
    }
    if (value != NULL) {
        *value = a->value;
    }
    return 1;
}

static int
host_alert_severity(const struct kz_alert *alert)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL || a->rule == NULL || (unsigned)a->rule->level > RULE_LEVEL_CRITICAL) {
        return 0;
    }
    return (int)a->rule->level;
}

static size_t
host_alert_ntags(const struct kz_alert *alert)
{
    const struct alert *a = host_alert(alert);

    return a != NULL && a->rule != NULL ? a->rule->ntags : 0;
}

static const char *
host_alert_tag(const struct kz_alert *alert, size_t i)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL || a->rule == NULL || i >= a->rule->ntags) {
        return NULL;
    }
    return a->rule->tags[i];
}

static const struct alert_fields *
host_field_set(const struct alert *a, enum kz_field_set set)
{
    if (a == NULL) {
        return NULL;
    }
    switch (set) {
    case KZ_FIELDS_EVENT:
        return &a->fields;
    case KZ_FIELDS_GROUP:
        return &a->group;
    }
    return NULL;
}

static int
host_fill_field(const struct alert_fields *fl, size_t i, struct kz_field *out)
{
    if (fl == NULL || out == NULL || i >= fl->n) {
        return KZ_ERR;
    }
    out->name = fl->v[i].name;
    out->name_len = fl->v[i].name_len;
    out->value = fl->v[i].value;
    out->value_len = fl->v[i].value_len;
    return KZ_OK;
}

static size_t
host_alert_nfields(const struct kz_alert *alert, enum kz_field_set set)
{
    const struct alert_fields *fl = host_field_set(host_alert(alert), set);

    return fl != NULL ? fl->n : 0;
}

static int
host_alert_field(const struct kz_alert *alert, enum kz_field_set set, size_t i,
                 struct kz_field *out)
{
    return host_fill_field(host_field_set(host_alert(alert), set), i, out);
}

static const char *
host_alert_get(const struct kz_alert *alert, const char *name, size_t *len)
{
    const struct alert *a = host_alert(alert);
    const struct alert_field *f;

    if (a == NULL || name == NULL) {
        return NULL;
    }
    f = alert_fields_get(&a->fields, name);
    if (f == NULL) {
        return NULL;
    }
    if (len != NULL) {
        *len = f->value_len;
    }
    return f->value;
}

static size_t
host_alert_nevidence(const struct kz_alert *alert)
{
    const struct alert *a = host_alert(alert);

    return a != NULL ? a->nevidence : 0;
}

static size_t
host_evidence_nfields(const struct kz_alert *alert, size_t ev)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL || ev >= a->nevidence) {
        return 0;
    }
    return a->evidence[ev].n;
}

static int
host_evidence_field(const struct kz_alert *alert, size_t ev, size_t i, struct kz_field *out)
{
    const struct alert *a = host_alert(alert);

    if (a == NULL || ev >= a->nevidence) {
        return KZ_ERR;
    }
    return host_fill_field(&a->evidence[ev], i, out);
}

static void
host_buf_append(struct kz_buf *buf, const void *data, size_t len)
{
    buf_append(host_buf(buf), data, len);
}

static void
host_buf_printf(struct kz_buf *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(host_buf(buf), fmt, ap);
    va_end(ap);
}

static void
host_buf_json_string(struct kz_buf *buf, const char *s, size_t len)
{
    buf_json_string(host_buf(buf), s != NULL ? s : "", s != NULL ? len : 0);
}

static void
host_buf_xml_text(struct kz_buf *buf, const char *s, size_t len)
{
    buf_xml_text(host_buf(buf), s != NULL ? s : "", s != NULL ? len : 0);
}

static void
host_buf_time(struct kz_buf *buf, int64_t usec)
{
    char text[32];
    size_t n = time_format_rfc3339(usec, text);

    if (n >= sizeof(text)) {
        n = sizeof(text) - 1;
    }
    buf_append(host_buf(buf), text, n);
}

static size_t
host_buf_len(const struct kz_buf *buf)
{
    return ((const struct buf *)(const void *)buf)->len;
}

static const struct kz_host plugin_host = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_host),
    .log = host_log,
    .alert_str = host_alert_str,
    .alert_time = host_alert_time,
    .alert_count = host_alert_count,
    .alert_value = host_alert_value,
    .alert_severity = host_alert_severity,
    .alert_ntags = host_alert_ntags,
    .alert_tag = host_alert_tag,
    .alert_nfields = host_alert_nfields,
    .alert_field = host_alert_field,
    .alert_get = host_alert_get,
    .alert_nevidence = host_alert_nevidence,
    .evidence_nfields = host_evidence_nfields,
    .evidence_field = host_evidence_field,
    .buf_append = host_buf_append,
    .buf_printf = host_buf_printf,
    .buf_json_string = host_buf_json_string,
    .buf_xml_text = host_buf_xml_text,
    .buf_time = host_buf_time,
    .buf_len = host_buf_len,
};

const struct kz_host *
plugin_host_get(void)
{
    return &plugin_host;
}

const struct kz_alert *
plugin_host_alert(const struct alert *a)
{
    return (const struct kz_alert *)(const void *)a;
}

struct kz_buf *
plugin_host_buf(struct buf *b)
{
    return (struct kz_buf *)(void *)b;
}
