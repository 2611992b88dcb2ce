/*
 * out_idmef: one RFC 4765 IDMEF-Message with one Alert per alert, as one line of XML (the
 * document holds no raw newline: line breaks inside values are written as &#10;), followed by
 * a newline, so line-oriented outputs carry one document per line.
 *
 * Alert messageid is the alert id; Analyzer analyzerid the daemon's host name; CreateTime
 * the alert time and DetectTime the first contributing event's time (both with ntpstamp);
 * Source per attacker address (source.ip, source.domain, source.port, source.user.name);
 * Target with the target node (destination.ip, host.name), users (user.name, type
 * target-user), process and service; Classification text is the rule title, with a
 * user-specific Reference naming the rule and one Reference per ATT&CK technique;
 * Assessment/Impact severity from the level; a CorrelationAlert naming each evidence event
 * for correlations; AdditionalData for what IDMEF has no place for (alert id, level, count,
 * group key, TLP, tags, message). Valid against the RFC 4765 DTD (tests/formats/idmef/).
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
#include "../common/uuid5.h"

#define IDMEF_VERSION "1.0.0"
#ifdef KZ_VERSION
#define IDMEF_ANALYZER_VERSION KZ_VERSION
#else
#define IDMEF_ANALYZER_VERSION IDMEF_VERSION
#endif

/* Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
#define IDMEF_NTP_OFFSET 2208988800LL

/* uuid5(NameSpace_URL, "urn:kizuna:evidence"): identities of evidence events. */
static const unsigned char idmef_ns_evidence[16] = {0x11, 0x95, 0xbf, 0x5f, 0x43, 0x90, 0x54, 0x44,
                                                    0x98, 0x50, 0xc0, 0xb7, 0xe9, 0x72, 0x6f, 0xd8};

struct idmef_config {
    const char *analyzer_name;
    const char *rule_url;
};

static const struct kz_option idmef_options[] = {
    {"analyzer_name", KZ_OPT_STRING, "kizunad", 0, 0, offsetof(struct idmef_config, analyzer_name),
     "Analyzer name attribute"},
    {"rule_url", KZ_OPT_STRING, "urn:kizuna:rule:", 0, 0, offsetof(struct idmef_config, rule_url),
     "prefix of the url of the rule Reference; the rule id is appended"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* <Tag ntpstamp="0x...">2026-...Z</Tag> */
static void
idmef_time(struct sbuf *b, const char *tag, int64_t us)
{
    char text[TIMEFMT_MAX];
    int64_t sec, frac;
    uint64_t ntp_frac;

    timefmt_split(us, &sec, &frac);
    ntp_frac = ((uint64_t)frac << 32) / 1000000u;
    timefmt_rfc3339(us, 6, text);
    sbuf_printf(b, "<%s ntpstamp=\"0x%08" PRIx32 ".0x%08" PRIx32 "\">%s</%s>", tag,
                (uint32_t)(sec + IDMEF_NTP_OFFSET), (uint32_t)ntp_frac, text, tag);
}

static void
idmef_address(struct sbuf *b, enum netaddr_family fam, const char *canon)
{
    sbuf_printf(b, "<Address category=\"%s\"><address>%s</address></Address>",
                fam == NETADDR_V4 ? "ipv4-addr" : "ipv6-addr", canon);
}

/* <Service><port>N</port><protocol>tcp</protocol></Service> when there is a port. */
static void
idmef_service(struct plugin_base *s, const struct kz_alert *a, const char *port_field)
{
    size_t n, tn = 0;
    const char *v = alertutil_get(s->host, a, port_field, &n);
    const char *t = alertutil_get(s->host, a, "network.transport", &tn);
    long port = v != NULL ? netaddr_port(v, n) : -1;

    if (port < 0) {
        return;
    }
    sbuf_printf(&s->out, "<Service><port>%ld</port>", port);
    if (t != NULL && tn > 0) {
        sbuf_xml_elem(&s->out, "protocol", t, tn);
    }
    sbuf_puts(&s->out, "</Service>");
}

/* One Source per attacker address; the matched event's own address gets its details. */
static void
idmef_sources(struct plugin_base *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->host;
    struct netaddr_set ips;
    const char *dom, *su;
    size_t dom_n = 0, su_n = 0;
    int own;

    dom = alertutil_get(h, a, "source.domain", &dom_n);
    if (dom != NULL && !netaddr_is_hostname(dom, dom_n)) {
        dom = NULL;
    }
    su = alertutil_get(h, a, "source.user.name", &su_n);
    own = alertutil_addresses_own(h, a, "source.ip", &ips);
    for (size_t i = 0; i < ips.n; i++) {
        int detail = (int)i == own;

        sbuf_puts(&s->out, "<Source><Node>");
        if (detail && dom != NULL) {
            sbuf_xml_elem(&s->out, "name", dom, dom_n);
        }
        idmef_address(&s->out, ips.fam[i], ips.addr[i]);
        sbuf_puts(&s->out, "</Node>");
        if (detail) {
            if (su != NULL && su_n > 0) {
                sbuf_puts(&s->out, "<User><UserId type=\"original-user\">");
                sbuf_xml_elem(&s->out, "name", su, su_n);
                sbuf_puts(&s->out, "</UserId></User>");
            }
            idmef_service(s, a, "source.port");
        }
        sbuf_puts(&s->out, "</Source>");
    }
    if (own < 0 && dom != NULL) {
        sbuf_puts(&s->out, "<Source><Node>");
        sbuf_xml_elem(&s->out, "name", dom, dom_n);
        sbuf_puts(&s->out, "</Node></Source>");
    }
}

static void
idmef_target(struct plugin_base *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->host;
    struct alertutil_values users;
    const char *host, *proc, *pid;
    size_t host_n = 0, proc_n = 0, pid_n = 0;
    char canon[NETADDR_MAX];
    enum netaddr_family fam;
    size_t before = s->out.len, mark;
    int any = 0;

    sbuf_puts(&s->out, "<Target>");
    fam = alertutil_get_address(h, a, "destination.ip", canon);
    host = alertutil_get(h, a, "host.name", &host_n);
    if (host != NULL && host_n == 0) {
        host = NULL;
    }
    if (fam != NETADDR_NONE || host != NULL) {
        sbuf_puts(&s->out, "<Node>");
        if (host != NULL) {
            sbuf_xml_elem(&s->out, "name", host, host_n);
        }
        if (fam != NETADDR_NONE) {
            idmef_address(&s->out, fam, canon);
        }
        sbuf_puts(&s->out, "</Node>");
        any = 1;
    }
    alertutil_values(h, a, "user.name", &users);
    if (users.n > 0) {
        sbuf_puts(&s->out, "<User>");
        for (size_t i = 0; i < users.n; i++) {
            sbuf_puts(&s->out, "<UserId type=\"target-user\">");
            sbuf_xml_elem(&s->out, "name", users.v[i].p, users.v[i].n);
            sbuf_puts(&s->out, "</UserId>");
        }
        sbuf_puts(&s->out, "</User>");
        any = 1;
    }
    proc = alertutil_get(h, a, "process.name", &proc_n);
    if (proc != NULL && proc_n > 0) {
        sbuf_puts(&s->out, "<Process>");
        sbuf_xml_elem(&s->out, "name", proc, proc_n);
        pid = alertutil_get(h, a, "process.pid", &pid_n);
        if (pid != NULL && pid_n > 0) {
            sbuf_xml_elem(&s->out, "pid", pid, pid_n);
        }
        sbuf_puts(&s->out, "</Process>");
        any = 1;
    }
    mark = s->out.len;
    idmef_service(s, a, "destination.port");
    any |= s->out.len > mark;
    if (!any) {
        sbuf_truncate(&s->out, before); /* no empty Target */
        return;
    }
    sbuf_puts(&s->out, "</Target>");
}

static void
idmef_reference(struct sbuf *b, const char *origin, const char *meaning, const char *name,
                const char *url_prefix, const char *url)
{
    sbuf_printf(b, "<Reference origin=\"%s\"", origin);
    sbuf_xml_cattr(b, "meaning", meaning);
    sbuf_puts(b, "><name>");
    sbuf_xml_cstr(b, name);
    sbuf_puts(b, "</name><url>");
    sbuf_xml_cstr(b, url_prefix);
    sbuf_xml_cstr(b, url);
    sbuf_puts(b, "</url></Reference>");
}

static void
idmef_classification(struct plugin_base *s, const struct kz_alert *a)
{
    const struct idmef_config *cfg = s->cfg;
    const struct kz_host *h = s->host;
    const char *rule = alertutil_str(h, a, KZ_ALERT_RULE_ID);
    size_t n = h->alert_ntags(a);

    sbuf_puts(&s->out, "<Classification");
    sbuf_xml_cattr(&s->out, "text", alertutil_str(h, a, KZ_ALERT_RULE_TITLE));
    sbuf_puts(&s->out, ">");
    idmef_reference(&s->out, "user-specific", "kizuna rule", rule,
                    cfg->rule_url != NULL ? cfg->rule_url : "", rule);
    for (size_t i = 0; i < n; i++) {
        struct attack_ref r;
        char url[96];

        if (!attack_parse_tag(h->alert_tag(a, i), &r) || r.kind != ATTACK_TECHNIQUE) {
            continue;
        }
        attack_ref_url(&r, url, sizeof(url));
        idmef_reference(&s->out, "unknown", "MITRE ATT&CK technique", attack_ref_id(&r), "", url);
    }
    sbuf_puts(&s->out, "</Classification>");
}

static const char *
idmef_severity(int sev)
{
    static const char *const names[] = {"info", "low", "medium", "high", "high"};

    return sev >= 0 && sev <= 4 ? names[sev] : "info";
}

/* The identity of one evidence event: its event.id, else uuid5 over its fields. */
static void
idmef_evidence_ident(struct plugin_base *s, const struct kz_alert *a, size_t ev,
                     char out[UUID5_TEXT_LEN + 1], const char **id, size_t *id_n)
{
    const struct kz_host *h = s->host;
    size_t n = h->evidence_nfields(a, ev);

    *id = alertutil_evidence_get(h, a, ev, "event.id", id_n);
    if (*id != NULL && *id_n > 0) {
        return;
    }
    sbuf_reset(&s->tmp);
    for (size_t i = 0; i < n; i++) {
        struct kz_field f;

        if (h->evidence_field(a, ev, i, &f) == KZ_OK) {
            sbuf_append(&s->tmp, f.name, f.name_len);
            sbuf_putc(&s->tmp, '\0');
            sbuf_append(&s->tmp, f.value, f.value_len);
            sbuf_putc(&s->tmp, '\0');
        }
    }
    uuid5_make(idmef_ns_evidence, s->tmp.data != NULL ? s->tmp.data : "", s->tmp.len, out);
    *id = out;
    *id_n = UUID5_TEXT_LEN;
}

static void
idmef_correlation(struct plugin_base *s, const struct kz_alert *a, const char *analyzer)
{
    const struct kz_host *h = s->host;
    size_t nev = h->alert_nevidence(a);

    sbuf_puts(&s->out, "<CorrelationAlert>");
    sbuf_xml_celem(&s->out, "name", alertutil_str(h, a, KZ_ALERT_RULE_TITLE));
    for (size_t e = 0; e < nev; e++) {
        char u[UUID5_TEXT_LEN + 1];
        const char *id;
        size_t id_n;

        idmef_evidence_ident(s, a, e, u, &id, &id_n);
        sbuf_puts(&s->out, "<alertident");
        sbuf_xml_cattr(&s->out, "analyzerid", analyzer);
        sbuf_putc(&s->out, '>');
        sbuf_xml(&s->out, id, id_n);
        sbuf_puts(&s->out, "</alertident>");
    }
    if (nev == 0) {
        /* alertident+ : without evidence, the alert stands for itself. */
        sbuf_puts(&s->out, "<alertident");
        sbuf_xml_cattr(&s->out, "analyzerid", analyzer);
        sbuf_putc(&s->out, '>');
        sbuf_xml_cstr(&s->out, alertutil_str(h, a, KZ_ALERT_ID));
        sbuf_puts(&s->out, "</alertident>");
    }
    sbuf_puts(&s->out, "</CorrelationAlert>");
}

static void
idmef_data(struct sbuf *b, const char *type, const char *meaning, const char *v, size_t n)
{
    sbuf_printf(b, "<AdditionalData type=\"%s\"", type);
    sbuf_xml_cattr(b, "meaning", meaning);
    sbuf_printf(b, "><%s>", type);
    sbuf_xml(b, v, n);
    sbuf_printf(b, "</%s></AdditionalData>", type);
}

static void
idmef_cdata(struct sbuf *b, const char *type, const char *meaning, const char *v)
{
    if (v != NULL && v[0] != '\0') {
        idmef_data(b, type, meaning, v, strlen(v));
    }
}

static void
idmef_additional(struct plugin_base *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->host;
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    size_t n = h->alert_ntags(a);
    char num[64];
    char t[TIMEFMT_MAX];
    const char *v;
    size_t vn;

    idmef_cdata(&s->out, "string", "kizuna.alert_id", h->alert_str(a, KZ_ALERT_ID));
    idmef_cdata(&s->out, "string", "kizuna.level", h->alert_str(a, KZ_ALERT_LEVEL));
    idmef_cdata(&s->out, "string", "kizuna.kind", h->alert_str(a, KZ_ALERT_KIND));
    idmef_cdata(&s->out, "string", "tlp", alertutil_tlp(h, a));
    if (corr != NULL) {
        idmef_cdata(&s->out, "string", "kizuna.correlation.type", corr);
        snprintf(num, sizeof(num), "%" PRIu64, h->alert_count(a));
        idmef_cdata(&s->out, "integer", "kizuna.count", num);
        if (alertutil_value_text(h, a, num, sizeof(num))) {
            idmef_cdata(&s->out, "real", "kizuna.value", num);
        }
        timefmt_rfc3339(h->alert_time(a, KZ_TIME_LAST), 6, t);
        idmef_cdata(&s->out, "date-time", "kizuna.last_seen", t);
    }
    idmef_cdata(&s->out, "string", "kizuna.group.key", h->alert_str(a, KZ_ALERT_GROUP_KEY));
    for (size_t i = 0; i < n; i++) {
        idmef_cdata(&s->out, "string", "rule.tag", h->alert_tag(a, i));
    }
    v = h->alert_get(a, "message", &vn);
    if (v != NULL && vn > 0) {
        idmef_data(&s->out, "string", "message", v, vn);
    }
    v = h->alert_get(a, "event.original", &vn);
    if (v != NULL && vn > 0) {
        idmef_data(&s->out, "string", "event.original", v, vn);
    }
}

/* The IDMEF-Message of one alert, into s->out (plugin_base_write_cb). */
static int
idmef_write(struct plugin_base *s, const struct kz_alert *a)
{
    const struct idmef_config *cfg = s->cfg;
    const struct kz_host *h = s->host;
    const char *analyzer = alertutil_host(h, a);
    const char *kind = h->alert_str(a, KZ_ALERT_KIND);

    sbuf_puts(&s->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                       "<IDMEF-Message xmlns=\"http://iana.org/idmef\" version=\"1.0\">"
                       "<Alert");
    sbuf_xml_cattr(&s->out, "messageid", alertutil_str(h, a, KZ_ALERT_ID));
    sbuf_puts(&s->out, "><Analyzer");
    sbuf_xml_cattr(&s->out, "analyzerid", analyzer);
    sbuf_xml_cattr(&s->out, "name", cfg->analyzer_name != NULL ? cfg->analyzer_name : "kizunad");
    sbuf_puts(&s->out,
              " manufacturer=\"kizuna\" model=\"kizunad\" version=\"" IDMEF_ANALYZER_VERSION
              "\" class=\"Correlation\"/>");
    idmef_time(&s->out, "CreateTime", h->alert_time(a, KZ_TIME_ALERT));
    idmef_time(&s->out, "DetectTime", h->alert_time(a, KZ_TIME_FIRST));
    idmef_sources(s, a);
    idmef_target(s, a);
    idmef_classification(s, a);
    sbuf_printf(&s->out, "<Assessment><Impact severity=\"%s\"/></Assessment>",
                idmef_severity(h->alert_severity(a)));
    if (kind != NULL && strcmp(kind, "correlation") == 0) {
        idmef_correlation(s, a, analyzer);
    }
    idmef_additional(s, a);
    sbuf_puts(&s->out, "</Alert></IDMEF-Message>\n");
    return KZ_OK;
}

static int
idmef_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    return plugin_base_init(host, inst, config, sizeof(struct plugin_base), state);
}

static int
idmef_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, idmef_write);
}

static const struct kz_plugin idmef_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "idmef",
    .version = IDMEF_VERSION,
    .description = "RFC 4765 IDMEF-Message per alert, one XML document per line",
    .options = idmef_options,
    .config_size = sizeof(struct idmef_config),
    .init = idmef_init,
    .open = NULL,
    .emit = idmef_emit,
    .flush = NULL,
    .close = plugin_base_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &idmef_plugin;
}
