/*
 * out_cef: one ArcSight Common Event Format line per alert:
 *
 *   CEF:0|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 *
 * with the rule id as Signature ID, the rule title as Name and the level as Severity 0-10.
 * Escaping follows the CEF standard: in the header '\' and '|' are escaped with a backslash
 * (a line break has no escape there and becomes a space); in the extension '\', '=' are
 * escaped, and line breaks are written as \n and \r. Invalid UTF-8 and control characters
 * other than TAB become U+FFFD, so a CEF reader never sees binary data.
 *
 * The extension carries the alert (rt, start, end, cnt, externalId, dvchost, cs1-cs6 with
 * their labels, cfp1), the ECS fields CEF has keys for (source.ip -> src, user.name ->
 * duser ... the reverse of kizuna's CEF decoder), the fields a CEF source gave us
 * (cef.ext.<key> -> <key>, unless the key is one of ours), and, unless `custom` is off, the
 * other event fields under their ECS names. Keys are never repeated. See README.md and
 * docs/FORMATS.md.
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
#include "../common/netaddr.h"
#include "../common/plugin-base.h"
#include "../common/sbuf.h"
#include "../common/timefmt.h"

#define CEF_VERSION "1.0.0"
#ifdef KZ_VERSION
#define CEF_DEVICE_VERSION KZ_VERSION
#else
#define CEF_DEVICE_VERSION CEF_VERSION
#endif

/* Longest extension key we write (ECS names are shorter in practice); longer ones skipped. */
#define CEF_MAX_KEY 128
/* Most keys in one line. */
#define CEF_MAX_KEYS 320

struct cef_config {
    const char *device_vendor;
    const char *device_product;
    const char *device_version;
    int custom;
};

static const struct kz_option cef_options[] = {
    {"device_vendor", KZ_OPT_STRING, "kizuna", 0, 0, offsetof(struct cef_config, device_vendor),
     "Device Vendor header field"},
    {"device_product", KZ_OPT_STRING, "kizunad", 0, 0, offsetof(struct cef_config, device_product),
     "Device Product header field"},
    {"device_version", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct cef_config, device_version),
     "Device Version header field (default: the kizuna version)"},
    {"custom", KZ_OPT_BOOL, "true", 0, 0, offsetof(struct cef_config, custom),
     "also write event fields CEF has no key for, under their ECS names"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* ECS fields with a CEF key: the reverse of core/decode-cef.c's table. */
static const struct {
    const char *ecs;
    const char *key;
} cef_ecs[] = {
    {"source.ip", "src"},
    {"destination.ip", "dst"},
    {"source.port", "spt"},
    {"destination.port", "dpt"},
    {"source.user.name", "suser"},
    {"user.name", "duser"},
    {"destination.user.name", "duser"},
    {"source.domain", "shost"},
    {"destination.domain", "dhost"},
    {"host.name", "dhost"},
    {"source.mac", "smac"},
    {"destination.mac", "dmac"},
    {"event.action", "act"},
    {"event.outcome", "outcome"},
    {"message", "msg"},
    {"network.transport", "proto"},
    {"network.protocol", "app"},
    {"url.original", "request"},
    {"http.request.method", "requestMethod"},
    {"user_agent.original", "requestClientApplication"},
    {"file.name", "fname"},
    {"file.path", "filePath"},
};

/* Keys the alert itself writes: fields of the source never overwrite them. */
static const char *const cef_own_keys[] = {
    "rt",       "start",    "end",      "cnt",      "externalId", "dvchost",   "cs1",
    "cs1Label", "cs2",      "cs2Label", "cs3",      "cs3Label",   "cs4",       "cs4Label",
    "cs5",      "cs5Label", "cs6",      "cs6Label", "cfp1",       "cfp1Label",
};

/* Event fields never written as custom keys (too big, or restated by the header). */
static const char *const cef_skip[] = {"event.original", "@timestamp", "event.severity",
                                       "event.code"};

struct cef_state {
    struct plugin_base base; /* first: the state is also a struct plugin_base */
    struct sbuf keys;        /* the keys written in this line, NUL-separated */
    struct sbuf tags;        /* scratch: cs3 */
    struct sbuf attack;      /* scratch: cs6 */
    size_t key_off[CEF_MAX_KEYS];
    size_t nkeys;
};

/* sbuf_escape_cb of a header field: '\' and '|' escaped, line breaks as spaces. */
static void
cef_escape_header(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k)
{
    if (cp == '\\' || cp == '|') {
        sbuf_putc(b, '\\');
        sbuf_putc(b, (char)cp);
    } else if (cp == '\r' || cp == '\n') {
        sbuf_putc(b, ' ');
    } else if ((cp < 0x20 && cp != '\t') || cp == 0x7f) {
        sbuf_put_replacement(b);
    } else {
        sbuf_append(b, p, k);
    }
}

/* Header field: '\' and '|' escaped; line breaks as spaces; bad bytes as U+FFFD. */
static void
cef_header_field(struct sbuf *b, const char *s)
{
    if (s != NULL) {
        sbuf_escape(b, s, strlen(s), cef_escape_header);
    }
}

/* sbuf_escape_cb of an extension value: '\' and '=' escaped, line breaks as \n and \r. */
static void
cef_escape_value(struct sbuf *b, uint32_t cp, const unsigned char *p, size_t k)
{
    if (cp == '\\' || cp == '=') {
        sbuf_putc(b, '\\');
        sbuf_putc(b, (char)cp);
    } else if (cp == '\n') {
        sbuf_append(b, "\\n", 2);
    } else if (cp == '\r') {
        sbuf_append(b, "\\r", 2);
    } else if ((cp < 0x20 && cp != '\t') || cp == 0x7f) {
        sbuf_put_replacement(b);
    } else {
        sbuf_append(b, p, k);
    }
}

/*
 * Extension value: '\' and '=' escaped, line breaks as \n and \r, bad bytes as U+FFFD, and a
 * leading '"' written as \" (not a CEF escape, so it reads back with its backslash).
 */
static void
cef_value(struct sbuf *b, const char *s, size_t len)
{
    if (len > 0 && s[0] == '"') {
        /* A leading '"' as \": decode_cef() would take a value that starts with '"'
         * as quoted up to any later '"' before a key, swallowing the pairs between. */
        sbuf_append(b, "\\\"", 2);
        s++;
        len--;
    }
    sbuf_escape(b, s, len, cef_escape_value);
}

static int
cef_key_used(struct cef_state *s, const char *key, size_t n)
{
    for (size_t i = 0; i < s->nkeys; i++) {
        const char *k = s->keys.data + s->key_off[i];

        if (strlen(k) == n && memcmp(k, key, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Write " key=value" (no leading space for the first pair) unless the key was written
 * already or the value is empty. Returns 1 when written.
 */
static int
cef_pair(struct cef_state *s, const char *key, size_t kn, const char *v, size_t vn)
{
    /* Once the key list lost an append the line is lost (cef_write reports it), and the
     * list may have no memory for the offsets to point into: write no more pairs. */
    if (sbuf_failed(&s->keys)) {
        return 0;
    }
    if (v == NULL || vn == 0 || kn == 0 || cef_key_used(s, key, kn) || s->nkeys >= CEF_MAX_KEYS) {
        return 0;
    }
    /* A blank before every pair but the first (which follows the header's last '|'; a
     * value may end in '|' too, so the last byte cannot tell). */
    if (s->nkeys > 0) {
        sbuf_putc(&s->base.out, ' ');
    }
    s->key_off[s->nkeys++] = s->keys.len;
    sbuf_append(&s->keys, key, kn);
    sbuf_putc(&s->keys, '\0');
    sbuf_append(&s->base.out, key, kn);
    sbuf_putc(&s->base.out, '=');
    cef_value(&s->base.out, v, vn);
    return 1;
}

static void
cef_cpair(struct cef_state *s, const char *key, const char *v)
{
    if (v != NULL) {
        cef_pair(s, key, strlen(key), v, strlen(v));
    }
}

static void
cef_ipair(struct cef_state *s, const char *key, int64_t v)
{
    char num[32];

    snprintf(num, sizeof(num), "%" PRId64, v);
    cef_cpair(s, key, num);
}

/* A custom string with its label (csN / csNLabel). */
static void
cef_custom_string(struct cef_state *s, int n, const char *label, const char *v, size_t vn)
{
    char key[16];

    snprintf(key, sizeof(key), "cs%d", n);
    if (cef_pair(s, key, strlen(key), v, vn)) {
        snprintf(key, sizeof(key), "cs%dLabel", n);
        cef_cpair(s, key, label);
    }
}

static int
cef_is_own_key(const char *key, size_t n)
{
    for (size_t i = 0; i < sizeof(cef_own_keys) / sizeof(cef_own_keys[0]); i++) {
        if (strlen(cef_own_keys[i]) == n && memcmp(cef_own_keys[i], key, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
cef_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* An event field name as a CEF key into out: other characters become '_'. 0 if unusable. */
static size_t
cef_key_from_name(const char *name, size_t n, char out[CEF_MAX_KEY])
{
    if (n == 0 || n >= CEF_MAX_KEY) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = cef_key_char(name[i]) ? name[i] : '_';
    }
    out[n] = '\0';
    return n;
}

/* 1 when v is a value the CEF key may carry: addresses for src/dst, ports for spt/dpt. */
static int
cef_typed_ok(const char *key, const char *v, size_t n)
{
    char canon[NETADDR_MAX];

    if (strcmp(key, "src") == 0 || strcmp(key, "dst") == 0) {
        return netaddr_parse(v, n, canon) != NETADDR_NONE;
    }
    if (strcmp(key, "spt") == 0 || strcmp(key, "dpt") == 0) {
        return netaddr_port(v, n) >= 0;
    }
    return 1;
}

static void
cef_fields(struct cef_state *s, const struct kz_alert *a)
{
    const struct cef_config *cfg = s->base.cfg;
    const struct kz_host *h = s->base.host;
    size_t n = h->alert_nfields(a, KZ_FIELDS_EVENT);
    unsigned char mapped[sizeof(cef_ecs) / sizeof(cef_ecs[0])];

    /*
     * ECS fields with a CEF key, in the table's order. A value the key cannot carry (a
     * source.ip that is no address) stays for the custom keys below, under its ECS name.
     */
    for (size_t m = 0; m < sizeof(cef_ecs) / sizeof(cef_ecs[0]); m++) {
        size_t vn;
        const char *v = h->alert_get(a, cef_ecs[m].ecs, &vn);

        mapped[m] = v != NULL && cef_typed_ok(cef_ecs[m].key, v, vn) &&
                    cef_pair(s, cef_ecs[m].key, strlen(cef_ecs[m].key), v, vn);
    }
    /* What a CEF source said, under its own keys. */
    for (size_t i = 0; i < n; i++) {
        struct kz_field f;
        char key[CEF_MAX_KEY];
        size_t kn;

        if (h->alert_field(a, KZ_FIELDS_EVENT, i, &f) != KZ_OK || f.name_len <= 8 ||
            memcmp(f.name, "cef.ext.", 8) != 0 || cef_is_own_key(f.name + 8, f.name_len - 8)) {
            continue;
        }
        kn = cef_key_from_name(f.name + 8, f.name_len - 8, key);
        if (kn > 0) {
            cef_pair(s, key, kn, f.value, f.value_len);
        }
    }
    if (!cfg->custom) {
        return;
    }
    /* Everything else, under its ECS name (CEF has one value a key: the first wins). */
    for (size_t i = 0; i < n; i++) {
        struct kz_field f;
        char key[CEF_MAX_KEY];
        size_t kn;
        int skip = 0;

        if (h->alert_field(a, KZ_FIELDS_EVENT, i, &f) != KZ_OK ||
            (f.name_len >= 4 && memcmp(f.name, "cef.", 4) == 0)) {
            continue;
        }
        for (size_t k = 0; k < sizeof(cef_skip) / sizeof(cef_skip[0]); k++) {
            skip |= alertutil_name_is(&f, cef_skip[k]);
        }
        for (size_t m = 0; m < sizeof(cef_ecs) / sizeof(cef_ecs[0]); m++) {
            skip |= mapped[m] && alertutil_name_is(&f, cef_ecs[m].ecs);
        }
        kn = cef_key_from_name(f.name, f.name_len, key);
        if (skip || kn == 0 || cef_is_own_key(key, kn)) {
            continue;
        }
        cef_pair(s, key, kn, f.value, f.value_len);
    }
}

static int
cef_severity(int level)
{
    static const int sev[] = {1, 3, 5, 8, 10};

    return level >= 0 && level <= 4 ? sev[level] : 0;
}

/* The CEF line of one alert, into base->out (plugin_base_write_cb). */
static int
cef_write(struct plugin_base *base, const struct kz_alert *a)
{
    struct cef_state *s = (struct cef_state *)base;
    const struct cef_config *cfg = base->cfg;
    const struct kz_host *h = base->host;
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    size_t ntags = h->alert_ntags(a);

    sbuf_puts(&base->out, "CEF:0|");
    cef_header_field(&base->out, cfg->device_vendor);
    sbuf_putc(&base->out, '|');
    cef_header_field(&base->out, cfg->device_product);
    sbuf_putc(&base->out, '|');
    cef_header_field(&base->out,
                     cfg->device_version != NULL ? cfg->device_version : CEF_DEVICE_VERSION);
    sbuf_putc(&base->out, '|');
    cef_header_field(&base->out, h->alert_str(a, KZ_ALERT_RULE_ID));
    sbuf_putc(&base->out, '|');
    cef_header_field(&base->out, h->alert_str(a, KZ_ALERT_RULE_TITLE));
    sbuf_printf(&base->out, "|%d|", cef_severity(h->alert_severity(a)));

    s->nkeys = 0;
    sbuf_reset(&s->keys);
    cef_ipair(s, "rt", timefmt_ms(h->alert_time(a, KZ_TIME_ALERT)));
    cef_ipair(s, "start", timefmt_ms(h->alert_time(a, KZ_TIME_FIRST)));
    cef_ipair(s, "end", timefmt_ms(h->alert_time(a, KZ_TIME_LAST)));
    cef_ipair(s, "cnt", (int64_t)h->alert_count(a));
    cef_cpair(s, "externalId", h->alert_str(a, KZ_ALERT_ID));
    cef_cpair(s, "dvchost", h->alert_str(a, KZ_ALERT_HOST));
    cef_custom_string(s, 1, "kizunaAlertId", alertutil_str(h, a, KZ_ALERT_ID),
                      strlen(alertutil_str(h, a, KZ_ALERT_ID)));
    cef_custom_string(s, 2, "groupKey", alertutil_str(h, a, KZ_ALERT_GROUP_KEY),
                      strlen(alertutil_str(h, a, KZ_ALERT_GROUP_KEY)));
    /* cs3: the rule's tags, comma-separated; cs6: the ATT&CK ids among them. */
    sbuf_reset(&s->tags);
    sbuf_reset(&s->attack);
    for (size_t i = 0; i < ntags; i++) {
        const char *tag = h->alert_tag(a, i);
        struct attack_ref r;

        if (tag == NULL || tag[0] == '\0') {
            continue;
        }
        if (s->tags.len > 0) {
            sbuf_putc(&s->tags, ',');
        }
        sbuf_puts(&s->tags, tag);
        if (attack_parse_tag(tag, &r)) {
            if (s->attack.len > 0) {
                sbuf_putc(&s->attack, ',');
            }
            sbuf_puts(&s->attack, attack_ref_id(&r));
        }
    }
    cef_custom_string(s, 3, "tags", s->tags.data, s->tags.len);
    if (corr != NULL) {
        char num[40];

        cef_custom_string(s, 4, "correlationType", corr, strlen(corr));
        if (alertutil_value_text(h, a, num, sizeof(num)) &&
            cef_pair(s, "cfp1", 4, num, strlen(num))) {
            cef_cpair(s, "cfp1Label", "correlationValue");
        }
    }
    cef_custom_string(s, 5, "tlp", alertutil_tlp(h, a), strlen(alertutil_tlp(h, a)));
    cef_custom_string(s, 6, "mitreAttack", s->attack.data, s->attack.len);
    cef_fields(s, a);
    sbuf_putc(&base->out, '\n');
    /* The line was built from these lists: when one is incomplete, so is the line. */
    if (sbuf_failed(&s->keys) || sbuf_failed(&s->tags) || sbuf_failed(&s->attack)) {
        sbuf_set_failed(&base->out);
    }
    return KZ_OK;
}

static int
cef_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    return plugin_base_init(host, inst, config, sizeof(struct cef_state), state);
}

static int
cef_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, cef_write);
}

static void
cef_close(void *state)
{
    struct cef_state *s = state;

    if (s != NULL) {
        sbuf_free(&s->keys);
        sbuf_free(&s->tags);
        sbuf_free(&s->attack);
    }
    plugin_base_close(state);
}

static const struct kz_plugin cef_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "cef",
    .version = CEF_VERSION,
    .description = "ArcSight CEF line per alert (header and extension escaping per CEF)",
    .options = cef_options,
    .config_size = sizeof(struct cef_config),
    .init = cef_init,
    .open = NULL,
    .emit = cef_emit,
    .flush = NULL,
    .close = cef_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &cef_plugin;
}
