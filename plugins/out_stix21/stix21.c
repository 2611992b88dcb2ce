/*
 * out_stix21: one STIX 2.1 bundle per alert, one bundle per line (JSON, no newlines inside).
 *
 * The bundle holds: the TLP 2.0 marking-definition of the delivery (the objects OASIS
 * publishes, extension-definition--60a3c5c5-...), the producer identity, the observables of
 * the alert as top-level SCOs (ipv4-addr, ipv6-addr, domain-name, user-account,
 * network-traffic), an observed-data that references them, one attack-pattern per ATT&CK
 * technique in the rule's tags, one indicator per attacker observable (source address or
 * source domain) with a STIX pattern, "indicates" relationships from indicators to
 * attack-patterns, and a sighting per indicator (per attack-pattern when there is no
 * indicator) carrying count, first_seen and last_seen, and a report named after the rule that
 * refers to all of them.
 *
 * Identifiers are deterministic so re-delivery repeats them: SCO ids follow STIX 2.1 3.2
 * (UUIDv5 in the STIX namespace over the canonical JSON of the ID contributing
 * properties); all other ids are UUIDv5 in kizuna's STIX namespace over
 * "<alert id>/<object kind>[/<discriminator>]", and created/modified are the alert time.
 * See README.md and docs/FORMATS.md.
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

#define STIX_VERSION "1.0.0"

/* Most SCOs, indicators or attack-patterns one bundle carries. */
#define STIX_MAX_SCO 48
#define STIX_MAX_ATTACK ATTACK_SET_MAX
/* Relationships and sightings: one per (indicator, technique) pair and per indicator. */
#define STIX_MAX_OBJ (STIX_MAX_SCO * (STIX_MAX_ATTACK + 1))
/* "network-traffic--" + uuid + NUL */
#define STIX_ID_MAX 64

/* STIX 2.1 section 2.9: the namespace of deterministic SCO identifiers. */
static const unsigned char stix_ns_sco[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
                                              0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};
/* kizuna's namespace for every other object: uuid5(NameSpace_URL, "urn:kizuna:stix21"). */
static const unsigned char stix_ns_kizuna[16] = {0x69, 0x7e, 0x07, 0x89, 0xca, 0xd0, 0x55, 0xe8,
                                                 0xb4, 0x5e, 0x1b, 0x2b, 0x98, 0x78, 0x40, 0x05};

/* The TLP 2.0 marking definitions published by OASIS (cti-stix-common-objects). */
#define STIX_TLP2_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define STIX_TLP2_CREATED "2022-10-01T00:00:00.000Z"

static const struct {
    const char *id;
    const char *name;
} stix_tlp[ALERTUTIL_TLP_COUNT] = {
    [ALERTUTIL_TLP_CLEAR] = {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
                             "TLP:CLEAR"},
    [ALERTUTIL_TLP_GREEN] = {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                             "TLP:GREEN"},
    [ALERTUTIL_TLP_AMBER] = {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                             "TLP:AMBER"},
    [ALERTUTIL_TLP_AMBER_STRICT] = {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                                    "TLP:AMBER+STRICT"},
    [ALERTUTIL_TLP_RED] = {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"},
};

/* The identity is the same object in every bundle, so its timestamps are fixed. */
#define STIX_IDENTITY_CREATED "1970-01-01T00:00:00.000Z"

struct stix_config {
    const char *identity_name;
    const char *identity_class;
};

static const struct kz_option stix_options[] = {
    {"identity_name", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct stix_config, identity_name),
     "name of the producer identity (default: the daemon's host name, else \"kizunad\")"},
    {"identity_class", KZ_OPT_STRING, "system", 0, 0, offsetof(struct stix_config, identity_class),
     "identity_class of the producer identity (identity-class-ov: system, organization ...)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

enum stix_sco_type {
    SCO_IPV4,
    SCO_IPV6,
    SCO_DOMAIN,
    SCO_USER,
    SCO_TRAFFIC,
};

static const char *const stix_sco_names[] = {
    "ipv4-addr", "ipv6-addr", "domain-name", "user-account", "network-traffic",
};

struct stix_sco {
    enum stix_sco_type type;
    char id[STIX_ID_MAX];
    const char *value; /* the value (canonical address, domain, login) */
    size_t value_len;
    char addr[NETADDR_MAX]; /* storage for a canonical address */
    int attacker;           /* 1: an indicator is made for it */
    /* network-traffic only */
    int src, dst; /* index of the src/dst address SCO, or -1 */
    long sport, dport;
    char transport[16];
};

struct stix_state {
    struct plugin_base base; /* first; its out: the bundle, its tmp: canonical JSON, id names */
    struct stix_sco sco[STIX_MAX_SCO];
    size_t nsco;
    struct attack_set attack; /* the rule's techniques and tactics */
    char ap_id[STIX_MAX_ATTACK][STIX_ID_MAX];
    char ind_id[STIX_MAX_SCO][STIX_ID_MAX];
    char obj_id[STIX_MAX_OBJ][STIX_ID_MAX]; /* relationships and sightings */
    size_t nobj;
};

/* Per-emit values every object needs. */
struct stix_ctx {
    const struct kz_alert *a;
    const char *alert_id;
    char created[TIMEFMT_MAX]; /* alert time, ms */
    char first[TIMEFMT_MAX];
    char last[TIMEFMT_MAX];
    const char *identity_name;
    char identity_id[STIX_ID_MAX];
    enum alertutil_tlp_label tlp;
    char od_id[STIX_ID_MAX];
};

/* "<type>--" + uuid5(ns, name[0..n)) into out. */
static void
stix_make_id(char out[STIX_ID_MAX], const char *type, const unsigned char ns[16], const char *name,
             size_t n)
{
    char u[UUID5_TEXT_LEN + 1];

    uuid5_make(ns, name, n, u);
    snprintf(out, STIX_ID_MAX, "%s--%s", type, u);
}

/* An SDO/SRO id: uuid5(kizuna ns, "<alert id>/<kind>[/<extra>]"). */
static void
stix_object_id(struct stix_state *s, const struct stix_ctx *c, char out[STIX_ID_MAX],
               const char *type, const char *extra)
{
    sbuf_reset(&s->base.tmp);
    sbuf_printf(&s->base.tmp, "%s/%s", c->alert_id, type);
    if (extra != NULL) {
        sbuf_printf(&s->base.tmp, "/%s", extra);
    }
    stix_make_id(out, type, stix_ns_kizuna, s->base.tmp.data != NULL ? s->base.tmp.data : "",
                 s->base.tmp.len);
}

/* The canonical JSON (RFC 8785) of an SCO's ID contributing properties, into s->base.tmp. */
static void
stix_sco_canonical(struct stix_state *s, const struct stix_sco *o)
{
    struct sbuf *t = &s->base.tmp;

    sbuf_reset(t);
    switch (o->type) {
    case SCO_IPV4:
    case SCO_IPV6:
    case SCO_DOMAIN:
        sbuf_puts(t, "{\"value\":");
        sbuf_json_str(t, o->value, o->value_len);
        sbuf_puts(t, "}");
        break;
    case SCO_USER:
        sbuf_puts(t, "{\"account_login\":");
        sbuf_json_str(t, o->value, o->value_len);
        sbuf_puts(t, "}");
        break;
    case SCO_TRAFFIC:
        /* Keys in RFC 8785 order: dst_port, dst_ref, protocols, src_port, src_ref. */
        sbuf_putc(t, '{');
        if (o->dport >= 0) {
            sbuf_printf(t, "\"dst_port\":%ld,", o->dport);
        }
        if (o->dst >= 0) {
            sbuf_printf(t, "\"dst_ref\":\"%s\",", s->sco[o->dst].id);
        }
        sbuf_printf(t, "\"protocols\":[\"%s\"", o->value);
        if (o->transport[0] != '\0') {
            sbuf_printf(t, ",\"%s\"", o->transport);
        }
        sbuf_putc(t, ']');
        if (o->sport >= 0) {
            sbuf_printf(t, ",\"src_port\":%ld", o->sport);
        }
        if (o->src >= 0) {
            sbuf_printf(t, ",\"src_ref\":\"%s\"", s->sco[o->src].id);
        }
        sbuf_putc(t, '}');
        break;
    }
}

/*
 * Add an SCO (or find the identical one already added); returns its index or -1 when the
 * bundle is full. For values, the same value of the same type is one SCO.
 */
static int
stix_sco_add(struct stix_state *s, struct stix_sco *o)
{
    stix_sco_canonical(s, o);
    if (sbuf_failed(&s->base.tmp)) {
        return -1;
    }
    stix_make_id(o->id, stix_sco_names[o->type], stix_ns_sco, s->base.tmp.data, s->base.tmp.len);
    for (size_t i = 0; i < s->nsco; i++) {
        if (strcmp(s->sco[i].id, o->id) == 0) {
            s->sco[i].attacker |= o->attacker;
            return (int)i;
        }
    }
    if (s->nsco >= STIX_MAX_SCO) {
        return -1;
    }
    s->sco[s->nsco] = *o;
    if (o->value == o->addr) {
        s->sco[s->nsco].value = s->sco[s->nsco].addr;
    }
    return (int)s->nsco++;
}

/* A value SCO (address, domain name, user account) of v[0..n) in *o, not added yet. */
static void
stix_sco_value(struct stix_sco *o, enum stix_sco_type type, const char *v, size_t n, int attacker)
{
    memset(o, 0, sizeof(*o));
    o->type = type;
    o->value = v;
    o->value_len = n;
    o->attacker = attacker;
    o->src = o->dst = -1;
}

/* Add an address SCO for value v if it is an IPv4/IPv6 address; returns the index or -1. */
static int
stix_add_address(struct stix_state *s, const char *v, size_t n, int attacker)
{
    struct stix_sco o;
    char canon[NETADDR_MAX];
    enum netaddr_family fam = netaddr_parse(v, n, canon);

    if (fam == NETADDR_NONE) {
        return -1;
    }
    stix_sco_value(&o, fam == NETADDR_V4 ? SCO_IPV4 : SCO_IPV6, NULL, strlen(canon), attacker);
    memcpy(o.addr, canon, o.value_len + 1);
    o.value = o.addr; /* the SCO keeps its own copy of the canonical text */
    return stix_sco_add(s, &o);
}

static void
stix_add_domain(struct stix_state *s, const char *v, size_t n, int attacker)
{
    struct stix_sco o;

    if (!netaddr_is_hostname(v, n)) {
        return;
    }
    stix_sco_value(&o, SCO_DOMAIN, v, n, attacker);
    stix_sco_add(s, &o);
}

/* Lowercase protocol name of network.transport ("tcp"), or "" when it is not one. */
static void
stix_transport(const char *v, size_t n, char out[16])
{
    out[0] = '\0';
    if (v == NULL || n == 0 || n >= 16) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            out[0] = '\0';
            return;
        }
        out[i] = c;
    }
    out[n] = '\0';
}

/* Collect the alert's observables into s->sco. */
static void
stix_collect_scos(struct stix_state *s, const struct kz_alert *a)
{
    const struct kz_host *h = s->base.host;
    struct alertutil_values vals;
    const char *v;
    size_t n;
    int src = -1, dst = -1;

    s->nsco = 0;
    /* The matched event's own addresses first, so the flow can point at them. */
    v = alertutil_get(h, a, "source.ip", &n);
    if (v != NULL) {
        src = stix_add_address(s, v, n, 1);
    }
    v = alertutil_get(h, a, "destination.ip", &n);
    if (v != NULL) {
        dst = stix_add_address(s, v, n, 0);
    }
    alertutil_values(h, a, "source.ip", &vals);
    for (size_t i = 0; i < vals.n; i++) {
        stix_add_address(s, vals.v[i].p, vals.v[i].n, 1);
    }
    alertutil_values(h, a, "destination.ip", &vals);
    for (size_t i = 0; i < vals.n; i++) {
        stix_add_address(s, vals.v[i].p, vals.v[i].n, 0);
    }
    alertutil_values(h, a, "source.domain", &vals);
    for (size_t i = 0; i < vals.n; i++) {
        stix_add_domain(s, vals.v[i].p, vals.v[i].n, 1);
    }
    alertutil_values(h, a, "destination.domain", &vals);
    for (size_t i = 0; i < vals.n; i++) {
        stix_add_domain(s, vals.v[i].p, vals.v[i].n, 0);
    }
    alertutil_values(h, a, "host.name", &vals);
    for (size_t i = 0; i < vals.n; i++) {
        stix_add_domain(s, vals.v[i].p, vals.v[i].n, 0);
    }
    alertutil_values(h, a, "user.name", &vals);
    for (size_t i = 0; i < vals.n; i++) {
        struct stix_sco o;

        stix_sco_value(&o, SCO_USER, vals.v[i].p, vals.v[i].n, 0);
        stix_sco_add(s, &o);
    }
    if (src >= 0 || dst >= 0) {
        struct stix_sco o;
        const struct stix_sco *ref = &s->sco[src >= 0 ? src : dst];

        memset(&o, 0, sizeof(o));
        o.type = SCO_TRAFFIC;
        o.src = src;
        o.dst = dst;
        /* protocols: the IP version, then network.transport when it names one. */
        o.value = ref->type == SCO_IPV4 ? "ipv4" : "ipv6";
        o.value_len = 4;
        v = alertutil_get(h, a, "network.transport", &n);
        stix_transport(v, v != NULL ? n : 0, o.transport);
        v = alertutil_get(h, a, "source.port", &n);
        o.sport = src >= 0 && v != NULL ? netaddr_port(v, n) : -1;
        v = alertutil_get(h, a, "destination.port", &n);
        o.dport = dst >= 0 && v != NULL ? netaddr_port(v, n) : -1;
        stix_sco_add(s, &o);
    }
}

/* Remember a relationship or sighting id for the report. */
static void
stix_record(struct stix_state *s, const char *id)
{
    if (s->nobj < STIX_MAX_OBJ) {
        memcpy(s->obj_id[s->nobj++], id, STIX_ID_MAX);
    }
}

/* Members every SDO/SRO of the bundle has, after type/spec_version/id. */
static void
stix_common(struct jsonw *w, const struct stix_ctx *c)
{
    jsonw_kstr(w, "created_by_ref", c->identity_id);
    jsonw_kstr(w, "created", c->created);
    jsonw_kstr(w, "modified", c->created);
    jsonw_key(w, "object_marking_refs");
    jsonw_arr(w);
    jsonw_str(w, stix_tlp[c->tlp].id);
    jsonw_arr_end(w);
}

static void
stix_head(struct jsonw *w, const char *type, const char *id)
{
    jsonw_obj(w);
    jsonw_kstr(w, "type", type);
    jsonw_kstr(w, "spec_version", "2.1");
    jsonw_kstr(w, "id", id);
}

/* kill_chain_phases for the rule's tactics (nothing when it has none). */
static void
stix_kill_chain(struct stix_state *s, struct jsonw *w)
{
    if (s->attack.ntactics == 0) {
        return;
    }
    jsonw_key(w, "kill_chain_phases");
    jsonw_arr(w);
    for (size_t i = 0; i < s->attack.ntactics; i++) {
        jsonw_obj(w);
        jsonw_kstr(w, "kill_chain_name", "mitre-attack");
        jsonw_kstr(w, "phase_name", s->attack.tactic[i]->shortname);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static void
stix_attack_ref(struct jsonw *w, const struct attack_ref *r)
{
    char url[96];

    attack_ref_url(r, url, sizeof(url));
    jsonw_obj(w);
    jsonw_kstr(w, "source_name", "mitre-attack");
    jsonw_kstr(w, "url", url);
    jsonw_kstr(w, "external_id", attack_ref_id(r));
    jsonw_obj_end(w);
}

/* external_references naming the alert and the rule (and the techniques, when asked). */
static void
stix_kizuna_refs(struct stix_state *s, struct jsonw *w, const struct stix_ctx *c, int with_attack)
{
    const char *rule = alertutil_str(s->base.host, c->a, KZ_ALERT_RULE_ID);

    jsonw_key(w, "external_references");
    jsonw_arr(w);
    jsonw_obj(w);
    jsonw_kstr(w, "source_name", "kizuna-alert");
    jsonw_kstr(w, "external_id", c->alert_id);
    jsonw_obj_end(w);
    if (rule[0] != '\0') {
        jsonw_obj(w);
        jsonw_kstr(w, "source_name", "kizuna-rule");
        jsonw_kstr(w, "external_id", rule);
        jsonw_obj_end(w);
    }
    for (size_t i = 0; with_attack && i < s->attack.ntechniques; i++) {
        stix_attack_ref(w, &s->attack.technique[i]);
    }
    jsonw_arr_end(w);
}

/* A STIX pattern string literal: ' and \ escaped with a backslash. */
static void
stix_pattern_literal(struct sbuf *t, const char *v, size_t n)
{
    sbuf_putc(t, '\'');
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\'' || v[i] == '\\') {
            sbuf_putc(t, '\\');
        }
        sbuf_putc(t, v[i]);
    }
    sbuf_putc(t, '\'');
}

static void
stix_write_marking(struct jsonw *w, enum alertutil_tlp_label tlp)
{
    stix_head(w, "marking-definition", stix_tlp[tlp].id);
    jsonw_kstr(w, "created", STIX_TLP2_CREATED);
    jsonw_kstr(w, "name", stix_tlp[tlp].name);
    jsonw_key(w, "extensions");
    jsonw_obj(w);
    jsonw_key(w, STIX_TLP2_EXT);
    jsonw_obj(w);
    jsonw_kstr(w, "extension_type", "property-extension");
    jsonw_kstr(w, "tlp_2_0", alertutil_tlp_name(tlp));
    jsonw_obj_end(w);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

static void
stix_write_sco(struct stix_state *s, struct jsonw *w, const struct stix_sco *o)
{
    stix_head(w, stix_sco_names[o->type], o->id);
    switch (o->type) {
    case SCO_IPV4:
    case SCO_IPV6:
    case SCO_DOMAIN:
        jsonw_kstrn(w, "value", o->value, o->value_len);
        break;
    case SCO_USER:
        jsonw_kstrn(w, "account_login", o->value, o->value_len);
        break;
    case SCO_TRAFFIC:
        if (o->src >= 0) {
            jsonw_kstr(w, "src_ref", s->sco[o->src].id);
        }
        if (o->dst >= 0) {
            jsonw_kstr(w, "dst_ref", s->sco[o->dst].id);
        }
        if (o->sport >= 0) {
            jsonw_ki64(w, "src_port", o->sport);
        }
        if (o->dport >= 0) {
            jsonw_ki64(w, "dst_port", o->dport);
        }
        jsonw_key(w, "protocols");
        jsonw_arr(w);
        jsonw_strn(w, o->value, o->value_len);
        if (o->transport[0] != '\0') {
            jsonw_str(w, o->transport);
        }
        jsonw_arr_end(w);
        break;
    }
    jsonw_obj_end(w);
}

/* The sighting's description: title, level, and for correlations what was counted. */
static void
stix_describe(struct stix_state *s, const struct kz_alert *a, struct sbuf *t)
{
    const struct kz_host *h = s->base.host;
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    const char *group = alertutil_str(h, a, KZ_ALERT_GROUP_KEY);
    double value;

    sbuf_reset(t);
    sbuf_printf(t, "%s (level %s)", alertutil_str(h, a, KZ_ALERT_RULE_TITLE),
                alertutil_str(h, a, KZ_ALERT_LEVEL));
    if (corr != NULL) {
        sbuf_printf(t, "; correlation %s over %" PRIu64 " events", corr, h->alert_count(a));
        if (h->alert_value(a, &value) == 1) {
            sbuf_printf(t, ", value %.17g", value);
        }
    }
    if (group[0] != '\0') {
        sbuf_printf(t, "; group %s", group);
    }
}

static int64_t
stix_clamp_count(uint64_t n, int64_t min)
{
    if (n > 999999999u) {
        return 999999999;
    }
    return (int64_t)n < min ? min : (int64_t)n;
}

static void
stix_write_sighting(struct stix_state *s, struct jsonw *w, const struct stix_ctx *c,
                    const char *of_ref, const char *discriminator, int have_od)
{
    char id[STIX_ID_MAX];

    stix_object_id(s, c, id, "sighting", discriminator);
    stix_record(s, id);
    stix_head(w, "sighting", id);
    stix_common(w, c);
    stix_describe(s, c->a, &s->base.tmp);
    jsonw_kstrn(w, "description", s->base.tmp.data, s->base.tmp.len);
    jsonw_kstr(w, "first_seen", c->first);
    jsonw_kstr(w, "last_seen", c->last);
    jsonw_ki64(w, "count", stix_clamp_count(s->base.host->alert_count(c->a), 0));
    jsonw_kstr(w, "sighting_of_ref", of_ref);
    if (have_od) {
        jsonw_key(w, "observed_data_refs");
        jsonw_arr(w);
        jsonw_str(w, c->od_id);
        jsonw_arr_end(w);
    }
    jsonw_key(w, "where_sighted_refs");
    jsonw_arr(w);
    jsonw_str(w, c->identity_id);
    jsonw_arr_end(w);
    stix_kizuna_refs(s, w, c, 0);
    jsonw_obj_end(w);
}

static void
stix_write_labels(struct stix_state *s, struct jsonw *w, const struct kz_alert *a)
{
    size_t n = s->base.host->alert_ntags(a);
    int any = 0;

    for (size_t i = 0; i < n; i++) {
        const char *tag = s->base.host->alert_tag(a, i);

        if (tag == NULL || tag[0] == '\0') {
            continue;
        }
        if (!any) {
            jsonw_key(w, "labels");
            jsonw_arr(w);
            any = 1;
        }
        jsonw_str(w, tag);
    }
    if (any) {
        jsonw_arr_end(w);
    }
}

/*
 * The report that stands for the alert itself: named after the rule, published at the alert
 * time, it refers to every other object of the bundle (so even an alert without observables
 * or ATT&CK tags is there). A grouping would say the same, but the OASIS bundle schema does
 * not admit grouping objects (docs/FORMATS.md).
 */
static void
stix_write_report(struct stix_state *s, struct jsonw *w, const struct stix_ctx *c)
{
    char id[STIX_ID_MAX];

    stix_object_id(s, c, id, "report", NULL);
    stix_head(w, "report", id);
    stix_common(w, c);
    jsonw_kstr(w, "name", alertutil_str(s->base.host, c->a, KZ_ALERT_RULE_TITLE));
    stix_describe(s, c->a, &s->base.tmp);
    jsonw_kstrn(w, "description", s->base.tmp.data, s->base.tmp.len);
    jsonw_kstr(w, "published", c->created);
    jsonw_key(w, "object_refs");
    jsonw_arr(w);
    jsonw_str(w, c->identity_id);
    for (size_t i = 0; i < s->nsco; i++) {
        jsonw_str(w, s->sco[i].id);
    }
    if (s->nsco > 0) {
        jsonw_str(w, c->od_id);
    }
    for (size_t i = 0; i < s->attack.ntechniques; i++) {
        jsonw_str(w, s->ap_id[i]);
    }
    for (size_t i = 0; i < s->nsco; i++) {
        if (s->sco[i].attacker) {
            jsonw_str(w, s->ind_id[i]);
        }
    }
    for (size_t i = 0; i < s->nobj; i++) {
        jsonw_str(w, s->obj_id[i]);
    }
    jsonw_arr_end(w);
    stix_kizuna_refs(s, w, c, 1);
    jsonw_obj_end(w);
}

static void
stix_write_bundle(struct stix_state *s, const struct stix_ctx *c)
{
    const struct stix_config *cfg = s->base.cfg;
    const struct kz_host *h = s->base.host;
    const struct kz_alert *a = c->a;
    struct jsonw w;
    char id[STIX_ID_MAX];
    size_t nind = 0;

    jsonw_init(&w, &s->base.out);
    jsonw_obj(&w);
    jsonw_kstr(&w, "type", "bundle");
    stix_object_id(s, c, id, "bundle", NULL);
    jsonw_kstr(&w, "id", id);
    jsonw_key(&w, "objects");
    jsonw_arr(&w);

    stix_write_marking(&w, c->tlp);

    stix_head(&w, "identity", c->identity_id);
    jsonw_kstr(&w, "created", STIX_IDENTITY_CREATED);
    jsonw_kstr(&w, "modified", STIX_IDENTITY_CREATED);
    jsonw_kstr(&w, "name", c->identity_name);
    jsonw_kstr(&w, "identity_class", cfg->identity_class != NULL ? cfg->identity_class : "system");
    jsonw_obj_end(&w);

    for (size_t i = 0; i < s->nsco; i++) {
        stix_write_sco(s, &w, &s->sco[i]);
    }
    if (s->nsco > 0) {
        stix_head(&w, "observed-data", c->od_id);
        stix_common(&w, c);
        jsonw_kstr(&w, "first_observed", c->first);
        jsonw_kstr(&w, "last_observed", c->last);
        jsonw_ki64(&w, "number_observed", stix_clamp_count(h->alert_count(a), 1));
        jsonw_key(&w, "object_refs");
        jsonw_arr(&w);
        for (size_t i = 0; i < s->nsco; i++) {
            jsonw_str(&w, s->sco[i].id);
        }
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
    }

    for (size_t i = 0; i < s->attack.ntechniques; i++) {
        const struct attack_ref *r = &s->attack.technique[i];

        stix_object_id(s, c, s->ap_id[i], "attack-pattern", attack_ref_id(r));
        stix_head(&w, "attack-pattern", s->ap_id[i]);
        stix_common(&w, c);
        jsonw_kstr(&w, "name", attack_ref_id(r));
        jsonw_key(&w, "external_references");
        jsonw_arr(&w);
        stix_attack_ref(&w, r);
        jsonw_arr_end(&w);
        stix_kill_chain(s, &w);
        jsonw_obj_end(&w);
    }

    for (size_t i = 0; i < s->nsco; i++) {
        const struct stix_sco *o = &s->sco[i];

        if (!o->attacker) {
            continue;
        }
        stix_object_id(s, c, s->ind_id[i], "indicator", o->id);
        stix_head(&w, "indicator", s->ind_id[i]);
        stix_common(&w, c);
        jsonw_kstr(&w, "name", alertutil_str(h, a, KZ_ALERT_RULE_TITLE));
        jsonw_key(&w, "indicator_types");
        jsonw_arr(&w);
        jsonw_str(&w, "malicious-activity");
        jsonw_arr_end(&w);
        sbuf_reset(&s->base.tmp);
        sbuf_printf(&s->base.tmp, "[%s:value = ", stix_sco_names[o->type]);
        stix_pattern_literal(&s->base.tmp, o->value, o->value_len);
        sbuf_putc(&s->base.tmp, ']');
        jsonw_kstrn(&w, "pattern", s->base.tmp.data, s->base.tmp.len);
        jsonw_kstr(&w, "pattern_type", "stix");
        jsonw_kstr(&w, "pattern_version", "2.1");
        jsonw_kstr(&w, "valid_from", c->first);
        stix_kill_chain(s, &w);
        stix_write_labels(s, &w, a);
        stix_kizuna_refs(s, &w, c, 1);
        jsonw_obj_end(&w);
        nind++;
        for (size_t k = 0; k < s->attack.ntechniques; k++) {
            sbuf_reset(&s->base.tmp);
            sbuf_printf(&s->base.tmp, "%s/relationship/%s/%s", c->alert_id, o->id,
                        attack_ref_id(&s->attack.technique[k]));
            stix_make_id(id, "relationship", stix_ns_kizuna, s->base.tmp.data, s->base.tmp.len);
            stix_record(s, id);
            stix_head(&w, "relationship", id);
            stix_common(&w, c);
            jsonw_kstr(&w, "relationship_type", "indicates");
            jsonw_kstr(&w, "source_ref", s->ind_id[i]);
            jsonw_kstr(&w, "target_ref", s->ap_id[k]);
            jsonw_obj_end(&w);
        }
    }

    if (nind > 0) {
        for (size_t i = 0; i < s->nsco; i++) {
            if (s->sco[i].attacker) {
                stix_write_sighting(s, &w, c, s->ind_id[i], s->sco[i].id, s->nsco > 0);
            }
        }
    } else {
        for (size_t i = 0; i < s->attack.ntechniques; i++) {
            stix_write_sighting(s, &w, c, s->ap_id[i], attack_ref_id(&s->attack.technique[i]),
                                s->nsco > 0);
        }
    }

    stix_write_report(s, &w, c);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    sbuf_putc(&s->base.out, '\n');
}

static int
stix_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    return plugin_base_init(host, inst, config, sizeof(struct stix_state), state);
}

/* The bundle of one alert, into base->out (plugin_base_write_cb); needs an alert id. */
static int
stix_write(struct plugin_base *base, const struct kz_alert *alert)
{
    struct stix_state *s = (struct stix_state *)base;
    const struct stix_config *cfg = base->cfg;
    const struct kz_host *h = base->host;
    struct stix_ctx c;

    memset(&c, 0, sizeof(c));
    c.a = alert;
    c.alert_id = plugin_base_alert_id(base, alert);
    if (c.alert_id == NULL) {
        return KZ_ERR;
    }
    timefmt_rfc3339(h->alert_time(alert, KZ_TIME_ALERT), 3, c.created);
    timefmt_rfc3339(h->alert_time(alert, KZ_TIME_FIRST), 3, c.first);
    timefmt_rfc3339(h->alert_time(alert, KZ_TIME_LAST), 3, c.last);
    if (strcmp(c.last, c.first) < 0) {
        memcpy(c.last, c.first, sizeof(c.last));
    }
    c.identity_name = cfg->identity_name;
    if (c.identity_name == NULL || c.identity_name[0] == '\0') {
        c.identity_name = alertutil_host(h, alert);
    }
    sbuf_puts(&base->tmp, "identity/");
    sbuf_puts(&base->tmp, c.identity_name);
    stix_make_id(c.identity_id, "identity", stix_ns_kizuna,
                 base->tmp.data != NULL ? base->tmp.data : "", base->tmp.len);
    c.tlp = alertutil_tlp_label(h, alert);
    stix_object_id(s, &c, c.od_id, "observed-data", NULL);
    s->nobj = 0;
    stix_collect_scos(s, alert);
    alertutil_attack(h, alert, &s->attack);
    stix_write_bundle(s, &c);
    return KZ_OK;
}

static int
stix_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, stix_write);
}

static const struct kz_plugin stix_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "stix21",
    .version = STIX_VERSION,
    .description = "STIX 2.1 bundle per alert (indicator, observed-data, sighting, TLP 2.0)",
    .options = stix_options,
    .config_size = sizeof(struct stix_config),
    .init = stix_init,
    .open = NULL,
    .emit = stix_emit,
    .flush = NULL,
    .close = plugin_base_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &stix_plugin;
}
