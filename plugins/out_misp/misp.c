/*
 * out_misp: one MISP event per alert in the MISP core format ({"Event": {...}}), one event
 * per line.
 *
 * The event's info is the rule title, its threat_level_id comes from the alert level, its
 * distribution from the TLP of the delivery (or the `distribution` option), and it carries a
 * TLP tag ("tlp:amber"), ATT&CK machine tags from the rule's tags, and one attribute per
 * observable with the category/type pairs of the MISP core format: ip-src (to_ids, the
 * attacker), ip-dst, port, hostname, target-machine, target-user, plus the message, the
 * alert and rule ids and, for correlations, the count.
 *
 * uuids are UUIDv5 in kizuna's MISP namespace (uuid5(NameSpace_URL, "urn:kizuna:misp")) over
 * "<alert id>" for the event and "<alert id>/<type>/<comment>/<value>" for attributes, and
 * timestamps are the alert's, so a re-delivered alert is the same event. See README.md and
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
#include "../common/jsonw.h"
#include "../common/netaddr.h"
#include "../common/plugin-base.h"
#include "../common/sbuf.h"
#include "../common/timefmt.h"
#include "../common/uuid5.h"

#define MISP_VERSION "1.0.0"

/* info SHOULD NOT be longer than this (MISP core format 2.2.1.4). */
#define MISP_INFO_MAX 256

/* uuid5(NameSpace_URL, "urn:kizuna:misp") */
static const unsigned char misp_ns[16] = {0x84, 0xd2, 0x0a, 0x96, 0x1d, 0xc7, 0x5c, 0x8a,
                                          0xbb, 0x19, 0xed, 0x6d, 0x9b, 0x1b, 0x7a, 0xf3};

struct misp_config {
    int64_t distribution;
    const char *org;
    const char *org_uuid;
    int64_t analysis;
};

static const struct kz_option misp_options[] = {
    {"distribution", KZ_OPT_INT, "-1", -1, 3, offsetof(struct misp_config, distribution),
     "event distribution 0-3 (org only, community, connected, all); -1: from the TLP label"},
    {"org", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct misp_config, org),
     "name of the creator organisation (Orgc); default: the daemon's host name"},
    {"org_uuid", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct misp_config, org_uuid),
     "uuid of the creator organisation in MISP; default: uuid5 of the org name"},
    {"analysis", KZ_OPT_INT, "0", 0, 2, offsetof(struct misp_config, analysis),
     "analysis state of new events: 0 initial, 1 ongoing, 2 complete"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* MISP tlp taxonomy: tag and colour per TLP 2.0 label, and the distribution it implies. */
static const struct {
    const char *tag;
    const char *colour;
    int distribution;
} misp_tlp[ALERTUTIL_TLP_COUNT] = {
    [ALERTUTIL_TLP_CLEAR] = {"tlp:clear", "#ffffff", 3},
    [ALERTUTIL_TLP_GREEN] = {"tlp:green", "#339900", 1},
    [ALERTUTIL_TLP_AMBER] = {"tlp:amber", "#FFC000", 0},
    [ALERTUTIL_TLP_AMBER_STRICT] = {"tlp:amber+strict", "#FFC000", 0},
    [ALERTUTIL_TLP_RED] = {"tlp:red", "#CC0033", 0},
};

#define MISP_ATTACK_COLOUR "#C8452B"

struct misp_state {
    struct plugin_base base;     /* first: the state is also a struct plugin_base */
    int64_t ts;                  /* alert time, seconds */
    char first[TIMEFMT_MAX + 8]; /* ISO 8601 with +00:00 */
    char last[TIMEFMT_MAX + 8];
    const char *alert_id;
    struct netaddr_set src, dst; /* canonical addresses, alive for the whole emit */
    /* attributes written so far in this event, for de-duplication (type + value) */
    struct {
        const char *type;
        const char *vp;
        size_t vn;
    } seen[64];
    size_t nseen;
};

/* ISO 8601 with microseconds and "+00:00", as MISP writes first_seen/last_seen. */
static void
misp_iso(int64_t us, char out[TIMEFMT_MAX + 8])
{
    int n = timefmt_rfc3339(us, 6, out);

    snprintf(out + n - 1, TIMEFMT_MAX + 8 - (size_t)(n - 1), "+00:00");
}

static int
misp_seen(struct misp_state *s, const char *type, const char *v, size_t n)
{
    for (size_t i = 0; i < s->nseen; i++) {
        if (strcmp(s->seen[i].type, type) == 0 && s->seen[i].vn == n &&
            memcmp(s->seen[i].vp, v, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * One attribute. value[0..n) is any text (escaped here). Duplicates of (type, value) in
 * the same event are dropped, as MISP would refuse them; so is anything past 64.
 */
static void
misp_attribute(struct misp_state *s, struct jsonw *w, const char *category, const char *type,
               int to_ids, const char *comment, const char *v, size_t n, int seen_times)
{
    char uuid[UUID5_TEXT_LEN + 1];
    char ts[24];

    if (v == NULL || n == 0 || misp_seen(s, type, v, n) ||
        s->nseen >= sizeof(s->seen) / sizeof(s->seen[0])) {
        return;
    }
    s->seen[s->nseen].type = type;
    s->seen[s->nseen].vp = v;
    s->seen[s->nseen].vn = n;
    s->nseen++;
    sbuf_reset(&s->base.tmp);
    sbuf_printf(&s->base.tmp, "%s/%s/%s/", s->alert_id, type, comment);
    sbuf_append(&s->base.tmp, v, n);
    uuid5_make(misp_ns, s->base.tmp.data != NULL ? s->base.tmp.data : "", s->base.tmp.len, uuid);
    snprintf(ts, sizeof(ts), "%" PRId64, s->ts);

    jsonw_obj(w);
    jsonw_kstr(w, "uuid", uuid);
    jsonw_kstr(w, "type", type);
    jsonw_kstr(w, "category", category);
    jsonw_kbool(w, "to_ids", to_ids);
    jsonw_kstrn(w, "value", v, n);
    jsonw_kstr(w, "comment", comment);
    jsonw_kstr(w, "distribution", "5");
    jsonw_kstr(w, "timestamp", ts);
    jsonw_kbool(w, "deleted", 0);
    jsonw_kbool(w, "disable_correlation",
                !to_ids && strcmp(type, "ip-dst") != 0 && strcmp(type, "hostname") != 0);
    if (seen_times) {
        jsonw_kstr(w, "first_seen", s->first);
        jsonw_kstr(w, "last_seen", s->last);
    }
    jsonw_obj_end(w);
}

/* Attributes for every distinct address of an ECS field (canonical form; others skipped). */
static void
misp_addresses(struct misp_state *s, struct jsonw *w, const struct kz_alert *a, const char *field,
               const char *type, int to_ids)
{
    struct netaddr_set *set = to_ids ? &s->src : &s->dst;

    alertutil_addresses(s->base.host, a, field, set);
    for (size_t i = 0; i < set->n; i++) {
        misp_attribute(s, w, "Network activity", type, to_ids, field, set->addr[i],
                       strlen(set->addr[i]), 1);
    }
}

static void
misp_values(struct misp_state *s, struct jsonw *w, const struct kz_alert *a, const char *field,
            const char *category, const char *type, int to_ids, int hostname)
{
    struct alertutil_values vals;

    alertutil_values(s->base.host, a, field, &vals);
    for (size_t i = 0; i < vals.n; i++) {
        if (hostname && !netaddr_is_hostname(vals.v[i].p, vals.v[i].n)) {
            continue;
        }
        misp_attribute(s, w, category, type, to_ids, field, vals.v[i].p, vals.v[i].n, 1);
    }
}

static void
misp_port(struct misp_state *s, struct jsonw *w, const struct kz_alert *a, const char *field)
{
    size_t n;
    const char *v = alertutil_get(s->base.host, a, field, &n);

    if (v != NULL && netaddr_port(v, n) >= 0) {
        misp_attribute(s, w, "Network activity", "port", 0, field, v, n, 0);
    }
}

/* info: the rule title on one line, at most MISP_INFO_MAX bytes, cut on a UTF-8 boundary. */
static void
misp_info(struct sbuf *t, const char *title)
{
    size_t n;

    sbuf_reset(t);
    sbuf_utf8(t, title, strlen(title));
    for (size_t i = 0; i < t->len; i++) {
        if ((unsigned char)t->data[i] < 0x20 || t->data[i] == 0x7f) {
            t->data[i] = ' ';
        }
    }
    n = t->len;
    if (n > MISP_INFO_MAX) {
        n = MISP_INFO_MAX;
        while (n > 0 && ((unsigned char)t->data[n] & 0xc0) == 0x80) {
            n--;
        }
        t->len = n;
    }
}

static void
misp_tag(struct jsonw *w, const char *name, const char *colour)
{
    jsonw_obj(w);
    jsonw_kstr(w, "name", name);
    jsonw_kstr(w, "colour", colour);
    jsonw_kbool(w, "exportable", 1);
    jsonw_obj_end(w);
}

static void
misp_tags(struct misp_state *s, struct jsonw *w, const struct kz_alert *a,
          enum alertutil_tlp_label tlp)
{
    size_t n = s->base.host->alert_ntags(a);
    char name[96];

    jsonw_key(w, "Tag");
    jsonw_arr(w);
    misp_tag(w, misp_tlp[tlp].tag, misp_tlp[tlp].colour);
    for (size_t i = 0; i < n; i++) {
        struct attack_ref r;
        int dup = 0;

        if (!attack_parse_tag(s->base.host->alert_tag(a, i), &r)) {
            continue;
        }
        if (r.kind == ATTACK_TACTIC) {
            snprintf(name, sizeof(name), "mitre-attack:tactic=\"%s\"", r.tactic->shortname);
        } else {
            snprintf(name, sizeof(name), "mitre-attack:technique=\"%s\"", attack_ref_id(&r));
        }
        /* Tags are unique in an event. */
        for (size_t k = 0; k < i; k++) {
            struct attack_ref q;

            if (attack_parse_tag(s->base.host->alert_tag(a, k), &q) && q.kind == r.kind &&
                strcmp(attack_ref_id(&q), attack_ref_id(&r)) == 0) {
                dup = 1;
            }
        }
        if (!dup) {
            misp_tag(w, name, MISP_ATTACK_COLOUR);
        }
    }
    jsonw_arr_end(w);
}

static const char *
misp_threat_level(int severity)
{
    /* 1 high, 2 medium, 3 low, 4 undefined */
    switch (severity) {
    case 4:
    case 3:
        return "1";
    case 2:
        return "2";
    case 1:
        return "3";
    }
    return "4";
}

static void
misp_write_event(struct misp_state *s, const struct kz_alert *a)
{
    const struct misp_config *cfg = s->base.cfg;
    const struct kz_host *h = s->base.host;
    enum alertutil_tlp_label t = alertutil_tlp_label(h, a);
    const char *org = cfg->org;
    char uuid[UUID5_TEXT_LEN + 1];
    char org_uuid[UUID5_TEXT_LEN + 1];
    char date[TIMEFMT_MAX];
    char num[32];
    struct jsonw w;
    const char *v;
    size_t n;
    int64_t dist;

    dist = cfg->distribution >= 0 ? cfg->distribution : misp_tlp[t].distribution;
    if (org == NULL || org[0] == '\0') {
        org = alertutil_host(h, a);
    }
    uuid5_make(misp_ns, s->alert_id, strlen(s->alert_id), uuid);
    if (cfg->org_uuid != NULL && cfg->org_uuid[0] != '\0') {
        snprintf(org_uuid, sizeof(org_uuid), "%s", cfg->org_uuid);
    } else {
        sbuf_reset(&s->base.tmp);
        sbuf_printf(&s->base.tmp, "org/%s", org);
        uuid5_make(misp_ns, s->base.tmp.data, s->base.tmp.len, org_uuid);
    }
    timefmt_rfc3339(h->alert_time(a, KZ_TIME_FIRST), 0, date);
    date[10] = '\0';

    jsonw_init(&w, &s->base.out);
    jsonw_obj(&w);
    jsonw_key(&w, "Event");
    jsonw_obj(&w);
    jsonw_kstr(&w, "uuid", uuid);
    misp_info(&s->base.tmp, alertutil_str(h, a, KZ_ALERT_RULE_TITLE));
    jsonw_kstrn(&w, "info", s->base.tmp.data, s->base.tmp.len);
    jsonw_kstr(&w, "date", date);
    snprintf(num, sizeof(num), "%" PRId64, s->ts);
    jsonw_kstr(&w, "timestamp", num);
    jsonw_kstr(&w, "publish_timestamp", "0");
    jsonw_kbool(&w, "published", 0);
    jsonw_kstr(&w, "threat_level_id", misp_threat_level(h->alert_severity(a)));
    snprintf(num, sizeof(num), "%" PRId64, cfg->analysis);
    jsonw_kstr(&w, "analysis", num);
    snprintf(num, sizeof(num), "%" PRId64, dist);
    jsonw_kstr(&w, "distribution", num);
    jsonw_kstr(&w, "sharing_group_id", "0");
    jsonw_key(&w, "Orgc");
    jsonw_obj(&w);
    jsonw_kstr(&w, "uuid", org_uuid);
    jsonw_kstr(&w, "name", org);
    jsonw_obj_end(&w);

    s->nseen = 0;
    jsonw_key(&w, "Attribute");
    jsonw_arr(&w);
    misp_addresses(s, &w, a, "source.ip", "ip-src", 1);
    misp_addresses(s, &w, a, "destination.ip", "ip-dst", 0);
    misp_values(s, &w, a, "source.domain", "Network activity", "hostname", 1, 1);
    misp_values(s, &w, a, "destination.domain", "Network activity", "hostname", 0, 1);
    misp_port(s, &w, a, "source.port");
    misp_port(s, &w, a, "destination.port");
    misp_values(s, &w, a, "host.name", "Targeting data", "target-machine", 0, 0);
    misp_values(s, &w, a, "user.name", "Targeting data", "target-user", 0, 0);
    v = h->alert_get(a, "message", &n);
    if (v != NULL) {
        misp_attribute(s, &w, "Other", "text", 0, "message", v, n, 0);
    }
    if (h->alert_str(a, KZ_ALERT_CORR_TYPE) != NULL) {
        snprintf(num, sizeof(num), "%" PRIu64, h->alert_count(a));
        misp_attribute(s, &w, "Other", "counter", 0, "kizuna.count", num, strlen(num), 1);
    }
    v = alertutil_str(h, a, KZ_ALERT_RULE_ID);
    misp_attribute(s, &w, "Internal reference", "text", 0, "rule.id", v, strlen(v), 0);
    misp_attribute(s, &w, "Internal reference", "text", 0, "kizuna.alert_id", s->alert_id,
                   strlen(s->alert_id), 0);
    jsonw_arr_end(&w);

    misp_tags(s, &w, a, t);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    sbuf_putc(&s->base.out, '\n');
}

static int
misp_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    const struct misp_config *cfg = config;

    if (!plugin_base_host_ok(host)) {
        return KZ_ERR;
    }
    if (cfg->org_uuid != NULL && strlen(cfg->org_uuid) != UUID5_TEXT_LEN) {
        host->log(inst, KZ_LOG_ERR, "org_uuid '%s' is not a UUID (36 characters)", cfg->org_uuid);
        return KZ_ERR;
    }
    return plugin_base_init(host, inst, config, sizeof(struct misp_state), state);
}

/* The MISP event of one alert, into base->out (plugin_base_write_cb); needs an alert id. */
static int
misp_write(struct plugin_base *base, const struct kz_alert *alert)
{
    struct misp_state *s = (struct misp_state *)base;
    const struct kz_host *h = base->host;
    int64_t sec, frac;

    s->alert_id = plugin_base_alert_id(base, alert);
    if (s->alert_id == NULL) {
        return KZ_ERR;
    }
    timefmt_split(h->alert_time(alert, KZ_TIME_ALERT), &sec, &frac);
    s->ts = sec;
    misp_iso(h->alert_time(alert, KZ_TIME_FIRST), s->first);
    misp_iso(h->alert_time(alert, KZ_TIME_LAST), s->last);
    misp_write_event(s, alert);
    return KZ_OK;
}

static int
misp_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, misp_write);
}

static const struct kz_plugin misp_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "misp",
    .version = MISP_VERSION,
    .description = "MISP core-format event per alert (attributes, TLP and ATT&CK tags)",
    .options = misp_options,
    .config_size = sizeof(struct misp_config),
    .init = misp_init,
    .open = NULL,
    .emit = misp_emit,
    .flush = NULL,
    .close = plugin_base_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &misp_plugin;
}
