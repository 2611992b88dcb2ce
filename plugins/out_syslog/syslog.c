/*
 * out_syslog: one RFC 5424 syslog message per alert, one per line:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [kizuna@32473 alert_id="..." ...] BOM MSG
 *
 * PRI is facility * 8 + severity, the facility from the `facility` option (authpriv by
 * default: alerts name users and addresses, and authpriv is the facility systems keep
 * private) and the severity from the level (critical 2, high 3, medium 4, low 5,
 * informational 6). TIMESTAMP is the alert time (UTC, microseconds), HOSTNAME the daemon's
 * host name, MSGID the alert id. One SD-ELEMENT carries the alert and the main ECS fields
 * as SD-PARAMs (ECS names are valid SD-NAMEs); values escape '"', '\' and ']' as RFC 5424
 * 6.3.3 requires. MSG is the rule title and the event's message, UTF-8 with a BOM.
 * Framing (octet counting over TCP, RFC 6587) is the delivery's job, not the format's.
 *
 * Control characters (line breaks included) cannot travel in one line: in SD values and MSG
 * they become spaces; invalid UTF-8 becomes U+FFFD. See README.md and docs/FORMATS.md.
 *
 * Includes only <kizuna/plugin.h> and libc (through header-only helpers in plugins/common).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kizuna/plugin.h>

#include "../common/alertutil.h"
#include "../common/attack.h"
#include "../common/plugin-base.h"
#include "../common/sbuf.h"
#include "../common/timefmt.h"

#define SYSLOG_VERSION "1.0.0"

/* RFC 5424 field limits. */
#define SYSLOG_HOSTNAME_MAX 255
#define SYSLOG_APPNAME_MAX 48
#define SYSLOG_SDNAME_MAX 32

struct syslog_config {
    const char *facility;
    const char *app_name;
    const char *sd_id;
    int bom;
};

static const struct kz_option syslog_options[] = {
    {"facility", KZ_OPT_STRING, "authpriv", 0, 0, offsetof(struct syslog_config, facility),
     "facility: a name (auth, authpriv, daemon, local0 ... local7) or a number 0-23"},
    {"app_name", KZ_OPT_STRING, "kizunad", 0, 0, offsetof(struct syslog_config, app_name),
     "APP-NAME (1-48 printable ASCII characters)"},
    {"sd_id", KZ_OPT_STRING, "kizuna@32473", 0, 0, offsetof(struct syslog_config, sd_id),
     "SD-ID of the structured data (name@private-enterprise-number)"},
    {"bom", KZ_OPT_BOOL, "true", 0, 0, offsetof(struct syslog_config, bom),
     "start MSG with the UTF-8 byte order mark, as RFC 5424 6.4 asks of UTF-8 messages"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static const char *const syslog_facilities[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
};

struct syslog_state {
    struct plugin_base base; /* first: the state is also a struct plugin_base */
    int facility;            /* 0..23, from the facility option */
};

/* Facility name or number -> 0..23, or -1. */
static int
syslog_facility(const char *s)
{
    char *end;
    long v;

    if (s == NULL || s[0] == '\0') {
        return -1;
    }
    for (int i = 0; i < 24; i++) {
        if (strcmp(s, syslog_facilities[i]) == 0) {
            return i;
        }
    }
    if (strcmp(s, "security") == 0) {
        return 4;
    }
    v = strtol(s, &end, 10);
    return *end == '\0' && v >= 0 && v <= 23 ? (int)v : -1;
}

/* 1 when s is 1..max PRINTUSASCII characters, none of them in `except`. */
static int
syslog_printusascii(const char *s, size_t max, const char *except)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0'; s++, n++) {
        if (*s < 33 || *s > 126 || strchr(except, *s) != NULL) {
            return 0;
        }
    }
    return n > 0 && n <= max;
}

/* A header field: PRINTUSASCII only (others become '_'), at most max, "-" when empty. */
static void
syslog_header_field(struct sbuf *b, const char *s, size_t max)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0' && n < max; s++, n++) {
        sbuf_putc(b, *s >= 33 && *s <= 126 ? *s : '_');
    }
    if (n == 0) {
        sbuf_putc(b, '-');
    }
}

/* sbuf_escape_cb of MSG text: control characters (line breaks too) as spaces. */
static void
syslog_escape_msg(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k)
{
    if (cp < 0x20 || cp == 0x7f) {
        sbuf_putc(b, ' ');
    } else {
        sbuf_append(b, p, k);
    }
}

/* sbuf_escape_cb of a PARAM-VALUE: as MSG text, and " \ ] escaped (RFC 5424 6.3.3). */
static void
syslog_escape_param(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k)
{
    if (cp == '"' || cp == '\\' || cp == ']') {
        sbuf_putc(b, '\\');
        sbuf_putc(b, (char)cp);
    } else {
        syslog_escape_msg(b, cp, p, k);
    }
}

static void
syslog_param(struct sbuf *b, const char *name, const char *v, size_t n)
{
    if (v == NULL) {
        return;
    }
    sbuf_printf(b, " %s=\"", name);
    sbuf_escape(b, v, n, syslog_escape_param);
    sbuf_putc(b, '"');
}

static void
syslog_cparam(struct sbuf *b, const char *name, const char *v)
{
    if (v != NULL && v[0] != '\0') {
        syslog_param(b, name, v, strlen(v));
    }
}

/* The ECS fields carried as SD-PARAMs, under their own names. */
static const char *const syslog_ecs[] = {
    "source.ip",        "source.port", "source.domain", "destination.ip",
    "destination.port", "user.name",   "host.name",     "event.outcome",
};

static int
syslog_severity(int level)
{
    static const int sev[] = {6, 5, 4, 3, 2};

    return level >= 0 && level <= 4 ? sev[level] : 6;
}

/* The RFC 5424 message of one alert, into base->out (plugin_base_write_cb). */
static int
syslog_write(struct plugin_base *base, const struct kz_alert *a)
{
    const struct syslog_state *s = (const struct syslog_state *)base;
    const struct syslog_config *cfg = base->cfg;
    const struct kz_host *h = base->host;
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    const char *title = alertutil_str(h, a, KZ_ALERT_RULE_TITLE);
    size_t ntags = h->alert_ntags(a);
    char t[TIMEFMT_MAX];
    char num[40];
    const char *v;
    size_t n;

    timefmt_rfc3339(h->alert_time(a, KZ_TIME_ALERT), 6, t);
    sbuf_printf(&base->out, "<%d>1 %s ", s->facility * 8 + syslog_severity(h->alert_severity(a)),
                t);
    syslog_header_field(&base->out, h->alert_str(a, KZ_ALERT_HOST), SYSLOG_HOSTNAME_MAX);
    sbuf_putc(&base->out, ' ');
    syslog_header_field(&base->out, cfg->app_name, SYSLOG_APPNAME_MAX);
    sbuf_puts(&base->out, " - ");
    syslog_header_field(&base->out, h->alert_str(a, KZ_ALERT_ID), 32);

    sbuf_printf(&base->out, " [%s", cfg->sd_id);
    syslog_cparam(&base->out, "alert_id", h->alert_str(a, KZ_ALERT_ID));
    syslog_cparam(&base->out, "rule_id", h->alert_str(a, KZ_ALERT_RULE_ID));
    syslog_cparam(&base->out, "rule", title);
    syslog_cparam(&base->out, "level", h->alert_str(a, KZ_ALERT_LEVEL));
    syslog_cparam(&base->out, "kind", h->alert_str(a, KZ_ALERT_KIND));
    syslog_cparam(&base->out, "tlp", alertutil_tlp(h, a));
    if (corr != NULL) {
        syslog_cparam(&base->out, "corr_type", corr);
        snprintf(num, sizeof(num), "%" PRIu64, h->alert_count(a));
        syslog_cparam(&base->out, "count", num);
        if (alertutil_value_text(h, a, num, sizeof(num))) {
            syslog_cparam(&base->out, "value", num);
        }
        timefmt_rfc3339(h->alert_time(a, KZ_TIME_FIRST), 6, t);
        syslog_cparam(&base->out, "first", t);
        timefmt_rfc3339(h->alert_time(a, KZ_TIME_LAST), 6, t);
        syslog_cparam(&base->out, "last", t);
    }
    syslog_cparam(&base->out, "group_key", h->alert_str(a, KZ_ALERT_GROUP_KEY));
    for (size_t i = 0; i < ntags; i++) {
        syslog_cparam(&base->out, "tag", h->alert_tag(a, i));
    }
    for (size_t i = 0; i < ntags; i++) {
        struct attack_ref r;

        if (attack_parse_tag(h->alert_tag(a, i), &r)) {
            syslog_cparam(&base->out, "attack", attack_ref_id(&r));
        }
    }
    for (size_t i = 0; i < sizeof(syslog_ecs) / sizeof(syslog_ecs[0]); i++) {
        v = alertutil_get(h, a, syslog_ecs[i], &n);
        if (v != NULL && n > 0) {
            syslog_param(&base->out, syslog_ecs[i], v, n);
        }
    }
    sbuf_puts(&base->out, "] ");
    if (cfg->bom) {
        sbuf_append(&base->out, "\xef\xbb\xbf", 3);
    }
    sbuf_escape(&base->out, title, strlen(title), syslog_escape_msg);
    v = h->alert_get(a, "message", &n);
    if (v != NULL && n > 0) {
        sbuf_puts(&base->out, ": ");
        sbuf_escape(&base->out, v, n, syslog_escape_msg);
    }
    sbuf_putc(&base->out, '\n');
    return KZ_OK;
}

static int
syslog_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    const struct syslog_config *cfg = config;
    struct syslog_state *s;
    int facility;

    if (!plugin_base_host_ok(host)) {
        return KZ_ERR;
    }
    facility = syslog_facility(cfg->facility);
    if (facility < 0) {
        host->log(inst, KZ_LOG_ERR, "facility '%s' is not a syslog facility (name or 0-23)",
                  cfg->facility != NULL ? cfg->facility : "");
        return KZ_ERR;
    }
    if (!syslog_printusascii(cfg->app_name, SYSLOG_APPNAME_MAX, "")) {
        host->log(inst, KZ_LOG_ERR, "app_name '%s' is not 1-48 printable ASCII characters",
                  cfg->app_name != NULL ? cfg->app_name : "");
        return KZ_ERR;
    }
    if (!syslog_printusascii(cfg->sd_id, SYSLOG_SDNAME_MAX, "= ]\"") ||
        strchr(cfg->sd_id, '@') == NULL) {
        host->log(inst, KZ_LOG_ERR,
                  "sd_id '%s' is not an SD-ID of the form name@number (32 characters at most)",
                  cfg->sd_id != NULL ? cfg->sd_id : "");
        return KZ_ERR;
    }
    if (plugin_base_init(host, inst, config, sizeof(struct syslog_state), state) != KZ_OK) {
        return KZ_ERR;
    }
    s = *state;
    s->facility = facility;
    return KZ_OK;
}

static int
syslog_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, syslog_write);
}

static const struct kz_plugin syslog_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "syslog",
    .version = SYSLOG_VERSION,
    .description = "RFC 5424 syslog message per alert, with the alert as structured data",
    .options = syslog_options,
    .config_size = sizeof(struct syslog_config),
    .init = syslog_init,
    .open = NULL,
    .emit = syslog_emit,
    .flush = NULL,
    .close = plugin_base_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &syslog_plugin;
}
