/*
 * out_text: a complete out-of-tree kizuna output plugin, built against the installed SDK
 * (pkg-config kizuna-plugin). One human-readable line per alert, for a chat channel, a
 * pager or an e-mail body:
 *
 *   [HIGH] SSH brute force (ssh-bruteforce) source.ip=203.0.113.7 count=5
 *       2026-11-27T10:00:00.000000Z..2026-11-27T10:00:41.000000Z id=0123...
 *
 * (one line; wrapped here). It reads the alert only through the kz_host accessors and
 * keeps no state between alerts, so it is deterministic: same alert, same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kizuna/plugin.h>

struct text_config {
    const char *prefix;  /* written before every line, e.g. "kizuna:" */
    int show_fields;     /* also list the group-by fields */
};

static const struct kz_option text_options[] = {
    {"prefix", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct text_config, prefix),
     "text written before every line"},
    {"show_fields", KZ_OPT_BOOL, "true", 0, 1, offsetof(struct text_config, show_fields),
     "append the group-by fields as name=value"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

struct text {
    const struct kz_host *host;
    const struct kz_instance *inst;
    const struct text_config *cfg;
};

static const char *const text_levels[] = {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"};

static int
text_init(const struct kz_host *host, const struct kz_instance *inst, void *config,
          void **state)
{
    struct text *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return KZ_ERR;
    }
    t->host = host;
    t->inst = inst;
    t->cfg = config;
    *state = t;
    return KZ_OK;
}

/* Append a value with control characters replaced, so one alert stays one line. */
static void
text_put_value(const struct kz_host *host, struct kz_buf *buf, const char *s, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            host->buf_append(buf, s + start, i - start);
            host->buf_append(buf, "?", 1);
            start = i + 1;
        }
    }
    host->buf_append(buf, s + start, len - start);
}

static int
text_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    struct text *t = state;
    const struct kz_host *h = t->host;
    const char *title = h->alert_str(alert, KZ_ALERT_RULE_TITLE);
    const char *rule = h->alert_str(alert, KZ_ALERT_RULE_ID);
    const char *id = h->alert_str(alert, KZ_ALERT_ID);
    int sev = h->alert_severity(alert);
    struct kz_field f;
    double value;

    if (t->cfg->prefix != NULL) {
        h->buf_printf(buf, "%s ", t->cfg->prefix);
    }
    h->buf_printf(buf, "[%s] ", sev >= 0 && sev <= 4 ? text_levels[sev] : "?");
    text_put_value(h, buf, title ? title : "", title ? strlen(title) : 0);
    h->buf_printf(buf, " (%s)", rule ? rule : "-");
    if (t->cfg->show_fields) {
        for (size_t i = 0; i < h->alert_nfields(alert, KZ_FIELDS_GROUP); i++) {
            if (h->alert_field(alert, KZ_FIELDS_GROUP, i, &f) != KZ_OK) {
                break;
            }
            h->buf_append(buf, " ", 1);
            text_put_value(h, buf, f.name, f.name_len);
            h->buf_append(buf, "=", 1);
            text_put_value(h, buf, f.value, f.value_len);
        }
    }
    h->buf_printf(buf, " count=%llu", (unsigned long long)h->alert_count(alert));
    if (h->alert_value(alert, &value) == 1) {
        h->buf_printf(buf, " value=%g", value);
    }
    h->buf_append(buf, " ", 1);
    h->buf_time(buf, h->alert_time(alert, KZ_TIME_FIRST));
    h->buf_append(buf, "..", 2);
    h->buf_time(buf, h->alert_time(alert, KZ_TIME_LAST));
    h->buf_printf(buf, " id=%s\n", id ? id : "-");
    return KZ_OK;
}

static void
text_close(void *state)
{
    free(state);
}

static const struct kz_plugin text_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "text",
    .version = "1.0.0",
    .description = "one human-readable line per alert (example out-of-tree plugin)",
    .options = text_options,
    .config_size = sizeof(struct text_config),
    .init = text_init,
    .emit = text_emit,
    .close = text_close,
};

KZ_EXPORT const struct kz_plugin *
kz_plugin_entry(void)
{
    return &text_plugin;
}
