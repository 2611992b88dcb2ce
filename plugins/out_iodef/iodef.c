/*
 * out_iodef: one RFC 7970 IODEF v2 document (IODEF-Document with one Incident) per alert,
 * as one line of XML (line breaks inside values are written as &#10;) followed by a newline.
 *
 * The Incident is purpose="reporting", status="new", its restriction the TLP of the delivery
 * (clear -> white, green, amber, red; amber+strict has no IODEF value and is written as
 * restriction="ext-value" ext-restriction="amber+strict"). IncidentID is the alert id, named
 * by the daemon's host; GenerationTime the alert time, DetectTime the first contributing
 * event; Discovery source="siem" names the rule; Assessment carries a SystemImpact with the
 * severity of the level and the event count; Method references the ATT&CK techniques;
 * Contact is the creator organisation (options contact_name, contact_email); EventData
 * holds a Flow of source and target Systems (addresses, host name, ports) and a Record of
 * the raw contributing events. Valid against the RFC 7970 schema (tests/formats/iodef/).
 *
 * Includes only <kizuna/plugin.h> and libc (through header-only helpers in plugins/common).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kizuna/plugin.h>

#include "../common/alertutil.h"
#include "../common/attack.h"
#include "../common/netaddr.h"
#include "../common/plugin-base.h"
#include "../common/sbuf.h"
#include "../common/timefmt.h"

#define IODEF_VERSION "1.0.0"

struct iodef_config {
    const char *contact_name;
    const char *contact_email;
    const char *lang;
};

static const struct kz_option iodef_options[] = {
    {"contact_name", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct iodef_config, contact_name),
     "ContactName of the creator organisation (default: the daemon's host name)"},
    {"contact_email", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct iodef_config, contact_email),
     "Email of the creator organisation (omitted when unset)"},
    {"lang", KZ_OPT_STRING, "en", 0, 0, offsetof(struct iodef_config, lang),
     "xml:lang of the document (a language tag)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static void
iodef_time(struct sbuf *b, const char *tag, int64_t us)
{
    char t[TIMEFMT_MAX];

    timefmt_rfc3339(us, 6, t);
    sbuf_printf(b, "<%s>%s</%s>", tag, t, tag);
}

static void
iodef_data(struct sbuf *b, const char *dtype, const char *meaning, const char *v, size_t n)
{
    sbuf_printf(b, "<AdditionalData dtype=\"%s\"", dtype);
    sbuf_xml_cattr(b, "meaning", meaning);
    sbuf_putc(b, '>');
    sbuf_xml(b, v, n);
    sbuf_puts(b, "</AdditionalData>");
}

static void
iodef_cdata(struct sbuf *b, const char *dtype, const char *meaning, const char *v)
{
    if (v != NULL && v[0] != '\0') {
        iodef_data(b, dtype, meaning, v, strlen(v));
    }
}

/* IANA protocol number of a network.transport value, or -1. */
static int
iodef_ip_protocol(const char *v, size_t n)
{
    static const struct {
        const char *name;
        int num;
    } protos[] = {{"icmp", 1},       {"tcp", 6},     {"udp", 17},
                  {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}};

    for (size_t i = 0; v != NULL && i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (strlen(protos[i].name) == n && strncasecmp(protos[i].name, v, n) == 0) {
            return protos[i].num;
        }
    }
    return -1;
}

/* <Service ip-protocol="6"><Port>22</Port></Service> when the field holds a port. */
static void
iodef_service(struct plugin_base *s, const struct kz_alert *a, const char *field)
{
    size_t n, tn = 0;
    const char *v = alertutil_get(s->host, a, field, &n);
    const char *t = alertutil_get(s->host, a, "network.transport", &tn);
    long port = v != NULL ? netaddr_port(v, n) : -1;
    int proto = iodef_ip_protocol(t, tn);

    if (port < 0) {
        return;
    }
    sbuf_puts(&s->out, "<Service");
    if (proto >= 0) {
        sbuf_printf(&s->out, " ip-protocol=\"%d\"", proto);
    }
    sbuf_printf(&s->out, "><Port>%ld</Port></Service>", port);
}

static void
iodef_address(struct sbuf *b, enum netaddr_family fam, const char *canon)
{
    sbuf_printf(b, "<Address category=\"%s\">%s</Address>",
                fam == NETADDR_V4 ? "ipv4-addr" : "ipv6-addr", canon);
}

static void
iodef_sources(struct plugin_base *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->host;
    struct netaddr_set ips;
    const char *dom;
    size_t dom_n = 0;
    int own;

    dom = alertutil_get(h, a, "source.domain", &dom_n);
    if (dom != NULL && dom_n == 0) {
        dom = NULL;
    }
    own = alertutil_addresses_own(h, a, "source.ip", &ips);
    for (size_t i = 0; i < ips.n; i++) {
        int detail = (int)i == own;

        sbuf_puts(&s->out, "<System category=\"source\"><Node>");
        if (detail && dom != NULL) {
            sbuf_puts(&s->out, "<DomainData>");
            sbuf_xml_elem(&s->out, "Name", dom, dom_n);
            sbuf_puts(&s->out, "</DomainData>");
        }
        iodef_address(&s->out, ips.fam[i], ips.addr[i]);
        sbuf_puts(&s->out, "</Node>");
        if (detail) {
            iodef_service(s, a, "source.port");
        }
        sbuf_puts(&s->out, "</System>");
    }
    if (own < 0 && dom != NULL) {
        sbuf_puts(&s->out, "<System category=\"source\"><Node><DomainData>");
        sbuf_xml_elem(&s->out, "Name", dom, dom_n);
        sbuf_puts(&s->out, "</DomainData></Node></System>");
    }
}

static void
iodef_target(struct plugin_base *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->host;
    struct alertutil_values users;
    const char *host;
    size_t host_n = 0;
    char canon[NETADDR_MAX];
    enum netaddr_family fam = alertutil_get_address(h, a, "destination.ip", canon);

    host = alertutil_get(h, a, "host.name", &host_n);
    if (host != NULL && host_n == 0) {
        host = NULL;
    }
    if (fam == NETADDR_NONE && host == NULL) {
        return;
    }
    sbuf_puts(&s->out, "<System category=\"target\"><Node>");
    if (host != NULL) {
        sbuf_puts(&s->out, "<DomainData>");
        sbuf_xml_elem(&s->out, "Name", host, host_n);
        sbuf_puts(&s->out, "</DomainData>");
    }
    if (fam != NETADDR_NONE) {
        iodef_address(&s->out, fam, canon);
    }
    sbuf_puts(&s->out, "</Node>");
    iodef_service(s, a, "destination.port");
    alertutil_values(h, a, "user.name", &users);
    for (size_t i = 0; i < users.n; i++) {
        iodef_data(&s->out, "string", "user.name", users.v[i].p, users.v[i].n);
    }
    sbuf_puts(&s->out, "</System>");
}

/* Record of the raw contributing events (evidence, else the matched event). */
static void
iodef_record(struct plugin_base *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->host;
    size_t nev = h->alert_nevidence(a);
    int any = 0;
    const char *v;
    size_t n;

    for (size_t e = 0; e < nev; e++) {
        v = alertutil_evidence_get(h, a, e, "event.original", &n);
        if (v == NULL || n == 0) {
            continue;
        }
        if (!any) {
            sbuf_puts(&s->out, "<Record><RecordData>");
            any = 1;
        }
        sbuf_puts(&s->out, "<RecordItem dtype=\"string\" meaning=\"event.original\">");
        sbuf_xml(&s->out, v, n);
        sbuf_puts(&s->out, "</RecordItem>");
    }
    if (nev == 0 && (v = h->alert_get(a, "event.original", &n)) != NULL && n > 0) {
        sbuf_puts(&s->out, "<Record><RecordData>");
        sbuf_puts(&s->out, "<RecordItem dtype=\"string\" meaning=\"event.original\">");
        sbuf_xml(&s->out, v, n);
        sbuf_puts(&s->out, "</RecordItem>");
        any = 1;
    }
    if (any) {
        sbuf_puts(&s->out, "</RecordData></Record>");
    }
}

static void
iodef_restriction(struct sbuf *b, const char *tlp)
{
    if (strcmp(tlp, "clear") == 0) {
        sbuf_puts(b, " restriction=\"white\"");
    } else if (strcmp(tlp, "amber+strict") == 0) {
        sbuf_puts(b, " restriction=\"ext-value\" ext-restriction=\"amber+strict\"");
    } else {
        sbuf_printf(b, " restriction=\"%s\"", tlp);
    }
}

static const char *
iodef_severity(int sev)
{
    /* IODEF has low, medium, high: informational counts as low. */
    static const char *const names[] = {"low", "low", "medium", "high", "high"};

    return sev >= 0 && sev <= 4 ? names[sev] : "low";
}

/* The IODEF-Document of one alert, into s->out (plugin_base_write_cb). */
static int
iodef_write(struct plugin_base *s, const struct kz_alert *a)
{
    const struct iodef_config *cfg = s->cfg;
    const struct kz_host *h = s->host;
    const char *host = alertutil_host(h, a);
    const char *title = alertutil_str(h, a, KZ_ALERT_RULE_TITLE);
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    const char *contact = cfg->contact_name;
    size_t ntags = h->alert_ntags(a);
    int method = 0;
    char num[64];
    size_t mark;

    if (contact == NULL || contact[0] == '\0') {
        contact = host;
    }
    sbuf_puts(&s->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IODEF-Document "
                       "version=\"2.00\"");
    sbuf_xml_cattr(&s->out, "xml:lang", cfg->lang != NULL ? cfg->lang : "en");
    sbuf_puts(&s->out, " xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\">"
                       "<Incident purpose=\"reporting\" status=\"new\"");
    iodef_restriction(&s->out, alertutil_tlp(h, a));
    sbuf_puts(&s->out, "><IncidentID");
    sbuf_xml_cattr(&s->out, "name", host);
    sbuf_putc(&s->out, '>');
    sbuf_xml_cstr(&s->out, alertutil_str(h, a, KZ_ALERT_ID));
    sbuf_puts(&s->out, "</IncidentID>");
    iodef_time(&s->out, "DetectTime", h->alert_time(a, KZ_TIME_FIRST));
    iodef_time(&s->out, "GenerationTime", h->alert_time(a, KZ_TIME_ALERT));
    sbuf_xml_celem(&s->out, "Description", title);

    sbuf_puts(&s->out, "<Discovery source=\"siem\"><DetectionPattern><Application>"
                       "<Description>kizunad</Description></Application>");
    sbuf_xml_celem(&s->out, "Description", title);
    sbuf_xml_celem(&s->out, "DetectionConfiguration", alertutil_str(h, a, KZ_ALERT_RULE_ID));
    sbuf_puts(&s->out, "</DetectionPattern></Discovery>");

    sbuf_printf(&s->out, "<Assessment occurrence=\"actual\"><SystemImpact severity=\"%s\">",
                iodef_severity(h->alert_severity(a)));
    sbuf_printf(&s->out, "<Description>level %s</Description></SystemImpact>",
                alertutil_str(h, a, KZ_ALERT_LEVEL));
    sbuf_printf(&s->out, "<Counter type=\"counter\" unit=\"event\">%" PRIu64 "</Counter>",
                h->alert_count(a));
    sbuf_puts(&s->out, "</Assessment>");

    for (size_t i = 0; i < ntags; i++) {
        struct attack_ref r;
        char url[96];

        if (!attack_parse_tag(h->alert_tag(a, i), &r) || r.kind != ATTACK_TECHNIQUE) {
            continue;
        }
        if (!method) {
            sbuf_puts(&s->out, "<Method>");
            method = 1;
        }
        attack_ref_url(&r, url, sizeof(url));
        sbuf_printf(&s->out,
                    "<Reference><URL>%s</URL><Description>MITRE ATT&amp;CK %s</Description>"
                    "</Reference>",
                    url, attack_ref_id(&r));
    }
    if (method) {
        sbuf_puts(&s->out, "</Method>");
    }

    sbuf_puts(&s->out, "<Contact role=\"creator\" type=\"organization\">");
    sbuf_xml_celem(&s->out, "ContactName", contact);
    if (cfg->contact_email != NULL && cfg->contact_email[0] != '\0') {
        sbuf_puts(&s->out, "<Email>");
        sbuf_xml_celem(&s->out, "EmailTo", cfg->contact_email);
        sbuf_puts(&s->out, "</Email>");
    }
    sbuf_puts(&s->out, "</Contact>");

    sbuf_puts(&s->out, "<EventData>");
    iodef_time(&s->out, "StartTime", h->alert_time(a, KZ_TIME_FIRST));
    iodef_time(&s->out, "EndTime", h->alert_time(a, KZ_TIME_LAST));
    sbuf_puts(&s->out, "<Flow>");
    mark = s->out.len;
    iodef_sources(s, a);
    iodef_target(s, a);
    if (s->out.len == mark) {
        sbuf_truncate(&s->out, mark - strlen("<Flow>"));
    } else {
        sbuf_puts(&s->out, "</Flow>");
    }
    iodef_record(s, a);
    sbuf_puts(&s->out, "</EventData>");

    iodef_cdata(&s->out, "string", "kizuna.alert_id", h->alert_str(a, KZ_ALERT_ID));
    iodef_cdata(&s->out, "string", "rule.id", h->alert_str(a, KZ_ALERT_RULE_ID));
    iodef_cdata(&s->out, "string", "kizuna.level", h->alert_str(a, KZ_ALERT_LEVEL));
    iodef_cdata(&s->out, "string", "kizuna.kind", h->alert_str(a, KZ_ALERT_KIND));
    iodef_cdata(&s->out, "string", "tlp", alertutil_tlp(h, a));
    if (corr != NULL) {
        iodef_cdata(&s->out, "string", "kizuna.correlation.type", corr);
        if (alertutil_value_text(h, a, num, sizeof(num))) {
            iodef_cdata(&s->out, "real", "kizuna.value", num);
        }
    }
    iodef_cdata(&s->out, "string", "kizuna.group.key", h->alert_str(a, KZ_ALERT_GROUP_KEY));
    for (size_t i = 0; i < ntags; i++) {
        iodef_cdata(&s->out, "string", "rule.tag", h->alert_tag(a, i));
    }
    sbuf_puts(&s->out, "</Incident></IODEF-Document>\n");
    return KZ_OK;
}

/* 1 when s is a language tag xs:language accepts: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*. */
static int
iodef_lang_ok(const char *s)
{
    size_t run = 0, part = 0;

    for (; *s != '\0'; s++) {
        char c = *s;

        if (c == '-') {
            if (run == 0) {
                return 0;
            }
            run = 0;
            part++;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (part > 0 && c >= '0' && c <= '9')) ||
            ++run > 8) {
            return 0;
        }
    }
    return run > 0;
}

static int
iodef_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    const struct iodef_config *cfg = config;

    if (!plugin_base_host_ok(host)) {
        return KZ_ERR;
    }
    if (cfg->lang != NULL && !iodef_lang_ok(cfg->lang)) {
        host->log(inst, KZ_LOG_ERR, "lang '%s' is not a language tag (like en or de-CH)",
                  cfg->lang);
        return KZ_ERR;
    }
    return plugin_base_init(host, inst, config, sizeof(struct plugin_base), state);
}

static int
iodef_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, iodef_write);
}

static const struct kz_plugin iodef_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "iodef",
    .version = IODEF_VERSION,
    .description = "RFC 7970 IODEF v2 Incident per alert, one XML document per line",
    .options = iodef_options,
    .config_size = sizeof(struct iodef_config),
    .init = iodef_init,
    .open = NULL,
    .emit = iodef_emit,
    .flush = NULL,
    .close = plugin_base_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &iodef_plugin;
}
